"""Linear probes with control tasks: which layer of a BERT holds which property (chapter 07).

A probe is a small classifier trained on a layer's frozen vectors to read a property off them
(Tenney et al. 2019 probe every layer of BERT for part of speech, entities, coreference ...).
A probe that scores well may have learned the task itself rather than found it in the
vectors, so each probe is paired with a control task (Hewitt & Liang 2019): the same probe on
labels that are shuffled consistently per word type, which only memorising word identities
can solve. Selectivity, accuracy minus control accuracy, is what a layer knows beyond that.
TinyWorld's generator supplies the gold labels: word classes, entities, each verb's subject,
each pronoun's referent, each document's kind and each review's sentiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from bertlab.fill_in import word_class
from bertlab.model import BertForPreTraining
from bertlab.pretraining import collate
from bertlab.probes import document_window, pronoun_links
from bertlab.tinyworld.corpus import DOCUMENT_KINDS, PUNCTUATION
from bertlab.tokenizer import BertTokenizer

SUBJECT_OFFSETS = ("1 left", "2 left", "3 left", "4-5 left", "6+ left", "right")


@dataclass(frozen=True)
class ProbeTask:
    """One property to probe for: per-layer vectors of the examples, their gold labels, the
    word type the control task keys on, and the document each comes from (to split by)."""

    name: str
    features: Tensor  # (layers + 1, N, H): the embedding output, then each layer
    labels: np.ndarray  # (N,) class ids
    word_types: list[str]  # (N,) the control label is a function of this
    documents: np.ndarray  # (N,) document index of each example
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.features.shape[1] != n or len(self.word_types) != n or len(self.documents) != n:
            raise ValueError(f"{self.name}: features, labels, word types and documents must "
                             f"have one entry per example ({n})")
        if n == 0:
            raise ValueError(f"{self.name}: no examples to probe")

    def control_labels(self, seed: int = 0) -> np.ndarray:
        """Hewitt & Liang's control task: each word type gets one label, drawn at random from
        the task's label distribution; every occurrence of the type carries it."""
        rng = np.random.default_rng(seed)
        shares = np.bincount(self.labels, minlength=len(self.classes)) / len(self.labels)
        by_type = {word: int(rng.choice(len(self.classes), p=shares))
                   for word in sorted(set(self.word_types))}
        return np.array([by_type[word] for word in self.word_types])


@dataclass(frozen=True)
class EncodedDocuments:
    """Every layer's vector for each word (its pieces averaged) and for each document's
    [CLS], computed once so every probe reuses them."""

    words: Tensor  # (layers + 1, W, H)
    cls: Tensor  # (layers + 1, D, H)
    word_document: np.ndarray  # (W,) which document each word is in
    word_text: list[str]  # (W,)
    windows: list[Any]  # bertlab.probes.DocumentWindow per document
    first_word: np.ndarray  # (D,) index in `words` of each document's first word
    documents: list[Any]  # the bertlab.tinyworld.corpus.Document objects


@torch.no_grad()
def encode_documents(model: BertForPreTraining, tokenizer: BertTokenizer,
                     documents: Sequence[Any], batch_size: int = 64) -> EncodedDocuments:
    """Run each document's window (`bertlab.probes.document_window`) through the model once
    and keep every layer's word and [CLS] vectors: the probes never run the model again."""
    if not documents:
        raise ValueError("encode_documents needs at least one document")
    length = model.config.max_position_embeddings
    windows = [document_window(d, tokenizer, length) for d in documents]
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    words, cls, owner, text, first = [], [], [], [], []
    for start in range(0, len(windows), batch_size):
        group = windows[start:start + batch_size]
        batch = collate([{"input_ids": w.ids, "token_type_ids": [0] * len(w.ids),
                          "labels": w.ids, "next_sentence_label": 0} for w in group],
                        tokenizer.pad_token_id)
        output = model.bert(batch["input_ids"].to(device), batch["attention_mask"].to(device),
                            output_hidden_states=True)
        states = torch.stack(output.hidden_states, 1).float().cpu()  # (B, L+1, T, H)
        cls.append(states[:, :, 0])
        for b, window in enumerate(group):
            first.append(len(text))
            words.extend(states[b, :, s:e].mean(1) for s, e in window.spans)  # (L+1, H) each
            owner.extend([start + b] * len(window.spans))
            text.extend(window.words)
    model.train(was_training)
    return EncodedDocuments(torch.stack(words, 1), torch.cat(cls).transpose(0, 1),
                            np.array(owner), text, windows, np.array(first), list(documents))


def _word_task(encoded: EncodedDocuments, name: str, rows: list[int], labels: list[str],
               classes: Sequence[str]) -> ProbeTask:
    index = {c: i for i, c in enumerate(classes)}
    return ProbeTask(name, encoded.words[:, rows], np.array([index[x] for x in labels]),
                     [encoded.word_text[r].lower() for r in rows],
                     encoded.word_document[rows], tuple(classes))


def word_class_task(encoded: EncodedDocuments, max_words: int | None = None) -> ProbeTask:
    """Each word's lexicon class (name, verb, food, function word ...): chapter 00's classes,
    for the words of the first documents (at most `max_words` words)."""
    limit = len(encoded.word_text) if max_words is None else max_words
    rows = [i for i, w in enumerate(encoded.word_text[:limit]) if w not in PUNCTUATION]
    labels = [word_class(encoded.word_text[i]) for i in rows]
    return _word_task(encoded, "word class", rows, labels, sorted(set(labels)))


def entity_task(encoded: EncodedDocuments, max_words: int | None = None) -> ProbeTask:
    """Each word's entity type from the generator's spans: PER, LOC, ORG or none (for the
    words of the first documents, at most `max_words` words)."""
    limit = len(encoded.word_text) if max_words is None else max_words
    rows, labels = [], []
    for d, window in enumerate(encoded.windows):
        tags = ["none"] * len(window.words)
        for sentence, start in zip(window.sentences, window.sentence_starts, strict=True):
            for entity in sentence.entities:
                for i in range(start + entity.start, min(start + entity.end, len(tags))):
                    tags[i] = entity.label
        for i, (word, tag) in enumerate(zip(window.words, tags, strict=True)):
            if word not in PUNCTUATION and encoded.first_word[d] + i < limit:
                rows.append(int(encoded.first_word[d]) + i)
                labels.append(tag)
    return _word_task(encoded, "entity type", rows, labels, ("none", "PER", "LOC", "ORG"))


def _offset_class(verb: int, subject: int) -> str:
    distance = verb - subject
    if distance <= 0:
        return "right"
    if distance <= 3:
        return f"{distance} left"
    return "4-5 left" if distance <= 5 else "6+ left"


def subject_task(encoded: EncodedDocuments) -> ProbeTask:
    """From a verb's vector, where its subject is: 1, 2, 3, 4-5 or 6+ words to the left, or
    to the right (questions, passives). Reading it needs the sentence, not the verb alone."""
    rows, labels = [], []
    for d, window in enumerate(encoded.windows):
        for sentence, start in zip(window.sentences, window.sentence_starts, strict=True):
            for link in sentence.verb_subjects:
                if start + max(link.verb, link.subject) < len(window.words):
                    rows.append(int(encoded.first_word[d]) + start + link.verb)
                    labels.append(_offset_class(link.verb, link.subject))
    return _word_task(encoded, "subject of the verb", rows, labels, SUBJECT_OFFSETS)


def referent_task(encoded: EncodedDocuments) -> ProbeTask:
    """From a pronoun's vector in a story, whom it refers to, by first name ('he' -> 'Tom').

    The pronoun itself says only the gender; the name must come from the context, which is
    what resolving the pronoun means. Its control task can only learn one name per pronoun.
    """
    rows, labels = [], []
    for d, (window, document) in enumerate(zip(encoded.windows, encoded.documents,
                                               strict=True)):
        if document.kind == "story":
            for link in pronoun_links(window):
                rows.append(int(encoded.first_word[d]) + link.pronoun)
                labels.append(window.words[link.mentions[0]].lower())
    return _word_task(encoded, "pronoun's referent", rows, labels, sorted(set(labels)))


def _document_task(encoded: EncodedDocuments, name: str, keep: list[int], labels: list[str],
                   classes: Sequence[str]) -> ProbeTask:
    index = {c: i for i, c in enumerate(classes)}
    # the control task's "word type" is the document itself: its label is a coin toss
    return ProbeTask(name, encoded.cls[:, keep], np.array([index[x] for x in labels]),
                     [f"document {d}" for d in keep], np.array(keep), tuple(classes))


def kind_task(encoded: EncodedDocuments) -> ProbeTask:
    """From the [CLS] vector, the document's kind: story, review or report."""
    keep = list(range(len(encoded.documents)))
    labels = [d.kind for d in encoded.documents]
    return _document_task(encoded, "document kind", keep, labels, DOCUMENT_KINDS)


def sentiment_task(encoded: EncodedDocuments) -> ProbeTask:
    """From a review's [CLS] vector, whether the review is positive or negative."""
    keep = [i for i, d in enumerate(encoded.documents) if d.kind == "review"]
    labels = ["positive" if encoded.documents[i].label else "negative" for i in keep]
    return _document_task(encoded, "review sentiment", keep, labels, ("negative", "positive"))


def probe_tasks(encoded: EncodedDocuments, max_words: int | None = None) -> list[ProbeTask]:
    """The chapter's six properties, from word-level to document-level; the two that every
    word has are limited to the first `max_words` words (they have plenty)."""
    return [word_class_task(encoded, max_words), entity_task(encoded, max_words),
            subject_task(encoded),
            referent_task(encoded), kind_task(encoded), sentiment_task(encoded)]


def train_probe(features: Tensor, labels: Tensor, n_classes: int, weight_decay: float = 1e-3,
                steps: int = 100) -> torch.nn.Linear:
    """A multinomial logistic regression fitted by L-BFGS from zeros: the same data always
    gives the same probe, with no seed to choose."""
    probe = torch.nn.Linear(features.size(1), n_classes)
    torch.nn.init.zeros_(probe.weight)
    torch.nn.init.zeros_(probe.bias)
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=steps,
                                  line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(probe(features), labels)
        loss = loss + weight_decay * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe


def probe_accuracy(features: Tensor, labels: np.ndarray, n_classes: int,
                   test: np.ndarray) -> float:
    """Train a probe on the examples not in `test` (standardised with the training
    statistics) and return its accuracy on those in `test`."""
    train = ~test
    mean, std = features[train].mean(0), features[train].std(0) + 1e-6
    x = (features - mean) / std
    y = torch.as_tensor(labels)
    with torch.enable_grad():
        probe = train_probe(x[train], y[train], n_classes)
    with torch.no_grad():
        predicted = probe(x[test]).argmax(-1)
    return float((predicted == y[test]).float().mean())


@dataclass(frozen=True)
class LayerProbes:
    """One property's probe and control accuracy at every layer, for several train/test
    splits (one per seed; each seed also draws its own control labels)."""

    name: str
    accuracies: np.ndarray  # (seeds, layers + 1)
    controls: np.ndarray  # (seeds, layers + 1)
    majority: float  # always guessing the most common training label (seed 0's split)
    test_examples: int  # in seed 0's split

    @property
    def accuracy(self) -> np.ndarray:
        """Mean test accuracy over seeds, per layer."""
        return self.accuracies.mean(0)

    @property
    def control(self) -> np.ndarray:
        """Mean control accuracy over seeds, per layer."""
        return self.controls.mean(0)

    @property
    def selectivity(self) -> np.ndarray:
        """Accuracy minus control accuracy: what the layer knows beyond word identity."""
        return self.accuracy - self.control

    @property
    def selectivity_spread(self) -> np.ndarray:
        """The standard deviation of selectivity across seeds, per layer: its noise."""
        return (self.accuracies - self.controls).std(0)

    def expected_layers(self) -> np.ndarray:
        """Where the property appears, per seed: the layers weighted by how much accuracy each
        adds (the embedding layer's gain is over the most common label), in the spirit of
        Tenney et al. 2019's expected layer. 0 means "already in the embeddings"."""
        steps = np.diff(self.accuracies, axis=1, prepend=self.majority)  # (seeds, layers + 1)
        gains = np.clip(steps, 0.0, None)
        layers = np.arange(gains.shape[1])
        return (gains * layers).sum(1) / np.maximum(gains.sum(1), 1e-12)


def held_out_by_document(documents: np.ndarray, share: float = 0.25, seed: int = 0) -> np.ndarray:
    """Which examples are held out: those of a random `share` of the documents, so no
    document's words are on both sides of the split."""
    unique = np.unique(documents)
    rng = np.random.default_rng(seed)
    held = rng.choice(unique, size=max(1, round(len(unique) * share)), replace=False)
    return np.isin(documents, held)


def probe_layers(task: ProbeTask, seeds: Sequence[int] = (0,)) -> LayerProbes:
    """Probe every layer for a property and for its control task, split by document, once per
    seed."""
    n = len(task.classes)
    accuracies, controls = [], []
    for seed in seeds:
        test = held_out_by_document(task.documents, seed=seed)
        if test.all() or not test.any():
            raise ValueError(f"{task.name}: too few documents to split into train and test")
        control = task.control_labels(seed)
        accuracies.append([probe_accuracy(layer, task.labels, n, test)
                           for layer in task.features])
        controls.append([probe_accuracy(layer, control, n, test) for layer in task.features])
    test = held_out_by_document(task.documents, seed=seeds[0])
    majority = np.bincount(task.labels[~test], minlength=n).argmax()
    return LayerProbes(task.name, np.array(accuracies), np.array(controls),
                       float((task.labels[test] == majority).mean()), int(test.sum()))
