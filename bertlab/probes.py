"""Probes: what a trained BERT knows and where, scored against TinyWorld's ground truth.

Chapter 05 asks which heads track a verb's subject or copy a name mentioned earlier, and why
next-sentence prediction is easy; chapter 06 asks whether the embeddings already sort
adjectives by sentiment. Each probe scores the model beside simple baselines on the same
cases, so a number means something only when it clears them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from bertlab.fill_in import fill_in_input, word_class, word_class_table, word_piece_ids
from bertlab.model import BertForPreTraining, BertPreTrainedModel
from bertlab.pretraining import NSP_NEXT, NSP_RANDOM, PretrainingDataset, collate
from bertlab.tinyworld.corpus import SentimentSplit
from bertlab.tokenizer import BertTokenizer


@torch.no_grad()
def predict_masked(
    model: BertForPreTraining, tokenizer: BertTokenizer, text: str, k: int = 5
) -> list[list[tuple[str, float]]]:
    """The k most likely tokens (with probabilities) at each [MASK] of a text, in order."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    encoding = tokenizer.encode(text, max_length=model.config.max_position_embeddings)
    positions = [i for i, t in enumerate(encoding.input_ids) if t == tokenizer.mask_token_id]
    if not positions:
        return []
    was_training = model.training
    model.eval()
    ids = torch.tensor([encoding.input_ids], device=next(model.parameters()).device)
    logits = model(ids).prediction_logits[0, positions].float()  # (M, V)
    model.train(was_training)
    logits[:, sorted(tokenizer.special_ids)] = float("-inf")
    probs, top = logits.softmax(-1).topk(k, dim=-1)  # (M, k) each
    return [list(zip(tokenizer.convert_ids_to_tokens(row.tolist()), p.tolist(), strict=True))
            for row, p in zip(top, probs, strict=True)]



@dataclass(frozen=True)
class HeadScores:
    """How often each head's strongest attention lands on the right word (a verb's subject,
    an earlier mention of a masked name), beside simple rules scored on the same cases."""

    accuracy: Any  # numpy (layers, heads)
    baselines: dict[str, float]  # positional rules scored on the same cases
    cases: int

    def best_head(self) -> tuple[int, int, float]:
        """(layer, head, accuracy) of the head that finds subjects most often."""
        layer, head = np.unravel_index(int(np.argmax(self.accuracy)), self.accuracy.shape)
        return int(layer), int(head), float(self.accuracy[layer, head])

    def best_baseline(self) -> tuple[str, float]:
        """The strongest positional rule and its accuracy: the bar a head must clear."""
        name = max(self.baselines, key=self.baselines.__getitem__)
        return name, self.baselines[name]


@cache
def _noun_like_words() -> frozenset[str]:
    """Words that can head a TinyWorld subject (nouns, names, pronouns), for a baseline."""
    classes = {"name", "town or venue", "food", "animal", "person noun", "thing or place"}
    table = word_class_table()
    pronouns = {"i", "we", "he", "she", "they", "it", "you"}
    return frozenset({w for w, c in table.items() if c in classes} | pronouns)


def _positional_guesses(words: Sequence[str], verb: int) -> dict[str, int | None]:
    """Where simple position rules say the subject of the verb at `verb` is."""
    guesses: dict[str, int | None] = {"first word": 0}
    for offset in (-4, -3, -2, -1, 1, 2):
        index = verb + offset
        guesses[f"{abs(offset)} to the {'left' if offset < 0 else 'right'}"] = (
            index if 0 <= index < len(words) else None
        )
    nouns = _noun_like_words()
    previous = [i for i in range(verb) if words[i].lower() in nouns]
    guesses["nearest noun to the left"] = previous[-1] if previous else None
    guesses["first noun"] = previous[0] if previous else None
    return guesses


@torch.no_grad()
def score_heads_on_subjects(
    model: BertForPreTraining, tokenizer: BertTokenizer, pairs: Sequence[tuple[Any, Any]],
    batch_size: int = 64,
) -> HeadScores:
    """Score every head on TinyWorld's verb -> subject links, against positional baselines.

    `pairs` are (Sentence, VerbSubject) from TinyWorld.verb_subject_pairs(). Each sentence is
    encoded alone; a head's attention from the verb's pieces (averaged) to each word (summed
    over its pieces) picks the word it attends to most; it scores when that is the subject.
    """
    if not pairs:
        raise ValueError("score_heads_on_subjects needs at least one (sentence, link) pair")
    by_sentence: dict[int, tuple[Any, list[Any]]] = {}
    for sentence, link in pairs:
        by_sentence.setdefault(id(sentence), (sentence, []))[1].append(link)
    config = model.config
    hits = np.zeros((config.num_hidden_layers, config.num_attention_heads))
    baseline_hits: Counter[str] = Counter()
    total = 0
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    items = list(by_sentence.values())
    for start in range(0, len(items), batch_size):
        group = items[start:start + batch_size]
        rows, spans = [], []
        for sentence, _ in group:
            ids, word_spans = [tokenizer.cls_token_id], []
            for word in sentence.words:
                pieces = word_piece_ids(tokenizer, word)
                word_spans.append((len(ids), len(ids) + len(pieces)))
                ids.extend(pieces)
            rows.append(ids[:config.max_position_embeddings - 1] + [tokenizer.sep_token_id])
            spans.append(word_spans)
        batch = collate([{"input_ids": r, "token_type_ids": [0] * len(r), "labels": r,
                          "next_sentence_label": 0} for r in rows], tokenizer.pad_token_id)
        output = model.bert(batch["input_ids"].to(device), batch["attention_mask"].to(device),
                            output_attentions=True)
        attention = torch.stack(output.attentions, 1).float().cpu().numpy()  # (B, L, nh, T, T)
        for b, ((sentence, links), word_spans) in enumerate(zip(group, spans, strict=True)):
            if word_spans[-1][1] >= len(rows[b]):
                continue  # cut by max length: skip rather than score a partial sentence
            for link in links:
                v0, v1 = word_spans[link.verb]
                from_verb = attention[b, :, :, v0:v1].mean(axis=2)  # (L, nh, T)
                per_word = np.stack([from_verb[..., s:e].sum(-1) for s, e in word_spans], -1)
                hits += per_word.argmax(-1) == link.subject  # (L, nh)
                for name, guess in _positional_guesses(sentence.words, link.verb).items():
                    baseline_hits[name] += guess == link.subject
                total += 1
    model.train(was_training)
    if total == 0:
        raise ValueError("no sentence fit in the model's max_position_embeddings")
    baselines = {name: count / total for name, count in baseline_hits.items()}
    return HeadScores(hits / total, baselines, total)


COPY_CLASSES = ("name", "town or venue")  # words a document mentions again and again


@torch.no_grad()
def score_heads_on_copies(
    model: BertForPreTraining, tokenizer: BertTokenizer, blanks: Sequence[Any],
    documents: Sequence[Sequence[str]], batch_size: int = 64,
) -> HeadScores:
    """Find the copy heads: from a masked name or town, does a head look at its earlier mention?

    Each fill-in blank whose answer is a name or a town mentioned earlier in the model's input,
    but not as its first word, is encoded as `fill_in_input` does (a story names its hero
    first, so a head that always looks at the first word would score without copying). A head
    scores when, of the words before the blank, its strongest attention from the blank's first
    piece is on an earlier mention of the hidden word. The bars to clear: "k words to the
    left", and a random earlier word.
    """
    config = model.config
    cases = []
    for blank in blanks:
        if word_class(blank.answer) not in COPY_CLASSES:
            continue
        ids, types, positions, answer = fill_in_input(
            blank, documents[blank.document], tokenizer, config.max_position_embeddings)
        where = positions[0]
        mentions = [j for j in range(1, where) if ids[j:j + len(answer)] == answer]
        if mentions and mentions[0] != 1:  # position 0 is [CLS]
            cases.append((ids, types, where, mentions))
    if not cases:
        raise ValueError("no blank hides a name or town that its context mentions earlier "
                         "(other than as its first word)")
    hits = np.zeros((config.num_hidden_layers, config.num_attention_heads))
    baseline_hits: Counter[str] = Counter()
    chance = 0.0
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    special = tokenizer.special_ids
    for start in range(0, len(cases), batch_size):
        group = cases[start:start + batch_size]
        batch = collate([{"input_ids": ids, "token_type_ids": types, "labels": ids,
                          "next_sentence_label": 0} for ids, types, _, _ in group],
                        tokenizer.pad_token_id)
        output = model.bert(batch["input_ids"].to(device), batch["attention_mask"].to(device),
                            batch["token_type_ids"].to(device), output_attentions=True)
        attention = torch.stack(output.attentions, 1).float().cpu().numpy()  # (B, L, nh, T, T)
        for b, (ids, _, where, mentions) in enumerate(group):
            earlier = [j for j in range(where) if ids[j] not in special]  # words before it
            looked_at = attention[b][:, :, where, earlier].argmax(-1)  # (L, nh) into `earlier`
            hits += np.isin(np.asarray(earlier)[looked_at], mentions)
            chance += len(mentions) / len(earlier)
            for offset in (1, 2, 3, 4):
                baseline_hits[f"{offset} to the left"] += where - offset in mentions
    model.train(was_training)
    baselines = {name: count / len(cases) for name, count in baseline_hits.items()}
    baselines["a random earlier word"] = chance / len(cases)
    return HeadScores(hits / len(cases), baselines, len(cases))


@dataclass(frozen=True)
class NspBreakdown:
    """NSP accuracy on true pairs and on negatives whose B comes from the same kind of
    document (a story after a story) or from another kind (a review after a story)."""

    is_next: float
    same_kind: float
    other_kind: float
    counts: dict[str, int]

    @property
    def kind_reader_ceiling(self) -> float:
        """The accuracy of a reader that only checks whether A and B are the same kind of
        document: every true pair and every other-kind negative right, no same-kind one."""
        total = sum(self.counts.values())
        return (self.counts["is_next"] + self.counts["other_kind"]) / total


@torch.no_grad()
def nsp_by_negative_kind(model: BertForPreTraining, data: PretrainingDataset,
                         kinds: Sequence[str], batch_size: int = 64) -> NspBreakdown:
    """Split held-out NSP accuracy by what the negative's segment B was: why NSP is easy.

    `kinds[d]` is the kind of document d of `data` ('story', 'review', ...).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for start in range(0, len(data), batch_size):
        indices = range(start, min(len(data), start + batch_size))
        batch = collate([data.example(i) for i in indices], 0)
        logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device),
                       batch["token_type_ids"].to(device)).seq_relationship_logits
        for i, guess in zip(indices, logits.argmax(-1).tolist(), strict=True):
            pair = data.pairs[i]
            group = ("is_next" if not pair.is_random_next else
                     "same_kind" if kinds[pair.b_document] == kinds[pair.document] else
                     "other_kind")
            seen[group] += 1
            right[group] += guess == (NSP_RANDOM if pair.is_random_next else NSP_NEXT)
    model.train(was_training)
    groups = ("is_next", "same_kind", "other_kind")
    return NspBreakdown(*(right[g] / max(1, seen[g]) for g in groups),
                        counts={g: seen[g] for g in groups})


def adjective_polarity_probe(
    model: BertPreTrainedModel, tokenizer: BertTokenizer, split: SentimentSplit
) -> float:
    """Share of held-out adjectives whose input embedding lies nearer (by cosine) the mean of
    the train adjectives of its own polarity than the mean of the other polarity.

    Fine-tuning can only carry the train adjectives' labels over to unseen ones if the
    pretrained vectors already place them by sentiment: this measures that before any
    fine-tuning (0.5 is chance). A word of several pieces is the mean of its pieces.
    """
    from bertlab.tinyworld.lexicon import POSITIVE

    table = model.get_submodule("bert.embeddings.word_embeddings").weight.detach()  # (V, H)

    def vector(word: str) -> Tensor:
        ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))
        return table[torch.tensor(ids)].mean(0)  # (H,)

    def centroid(words: Sequence[str]) -> Tensor:
        return torch.stack([vector(w) for w in words]).mean(0)  # (H,)

    positive = centroid([w for w in split.train_adjectives if w in POSITIVE])
    negative = centroid([w for w in split.train_adjectives if w not in POSITIVE])
    hits = []
    for word in split.test_adjectives:
        v = vector(word)
        nearer_positive = torch.cosine_similarity(v, positive, 0) > torch.cosine_similarity(
            v, negative, 0
        )
        hits.append(bool(nearer_positive) == (word in POSITIVE))
    return sum(hits) / len(hits)


def corpus_polarity_probe(documents: Sequence[Sequence[str]], split: SentimentSplit) -> float:
    """Share of held-out adjectives whose polarity plain counting recovers from a corpus.

    The yardstick for `adjective_polarity_probe`: is the sentiment signal in the text at all?
    Each sentiment adjective gets the counts of the words sharing its document (marked
    'not:' when the adjective is negated, as in 'was not gloomy'), weighted by positive
    pointwise mutual information; a held-out adjective is scored by whether it lies nearer
    (cosine) the positive or the negative train adjectives. `documents` are lists of sentences.
    """
    from bertlab.tinyworld.corpus import words_of
    from bertlab.tinyworld.lexicon import NEGATIVE, POSITIVE

    adjectives = sorted(set(POSITIVE) | set(NEGATIVE))
    row = {word: i for i, word in enumerate(adjectives)}
    columns: dict[str, int] = {}
    cells: Counter[tuple[int, int]] = Counter()
    seen: set[str] = set()
    for document in documents:
        words = [w for sentence in document for w in words_of(sentence)]
        context = [w for w in words if w not in row]
        for i, word in enumerate(words):
            if word in row and context:
                seen.add(word)
                prefix = "not:" if i > 0 and words[i - 1] == "not" else ""
                for other in context:
                    column = columns.setdefault(prefix + other, len(columns))
                    cells[row[word], column] += 1
    missing = sorted((set(split.train_adjectives) | set(split.test_adjectives)) - seen)
    if missing:
        raise ValueError(f"the corpus never uses adjectives {missing[:5]}: nothing to count")
    counts = np.zeros((len(adjectives), len(columns)))  # (adjectives, context words)
    for (r, c), n in cells.items():
        counts[r, c] = n
    joint = counts / counts.sum()
    expected = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)  # p(a) p(w)
    with np.errstate(divide="ignore"):
        ppmi = np.maximum(np.log(joint / expected), 0.0)  # log 0 = -inf -> 0

    def centroid(words: Sequence[str]) -> np.ndarray:
        return ppmi[[row[w] for w in words]].mean(0)

    def cosine(u: np.ndarray, v: np.ndarray) -> float:
        return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12))

    positive = centroid([w for w in split.train_adjectives if w in POSITIVE])
    negative = centroid([w for w in split.train_adjectives if w not in POSITIVE])
    hits = [(cosine(ppmi[row[w]], positive) > cosine(ppmi[row[w]], negative)) == (w in POSITIVE)
            for w in split.test_adjectives]
    return sum(hits) / len(hits)
