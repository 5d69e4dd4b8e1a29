"""Probes: what a trained BERT knows and where, scored against TinyWorld's ground truth.

Chapter 05 asks which heads track a verb's subject or copy a name mentioned earlier, and why
next-sentence prediction is easy; chapter 06 asks whether the embeddings already sort
adjectives by sentiment. Each probe scores the model beside simple baselines on the same
cases, so a number means something only when it clears them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from bertlab.fill_in import (
    fill_in_accuracy,
    fill_in_input,
    word_class,
    word_class_table,
    word_piece_ids,
)
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


# ---------------------------------------------------------------- documents as the model reads them

GENDERED_PRONOUNS = {"she": True, "her": True, "he": False, "him": False, "his": False}


@dataclass(frozen=True)
class DocumentWindow:
    """The start of a TinyWorld document as a model with few positions reads it: the whole
    sentences that fit after [CLS], and which pieces belong to which word, so ground truth
    given per word (a verb's subject, an entity, a pronoun's referent) can be scored per piece."""

    ids: list[int]  # [CLS] pieces... [SEP]
    words: list[str]
    spans: list[tuple[int, int]]  # the pieces of each word: ids[start:end]
    sentences: list[Any]  # the kept bertlab.tinyworld.corpus.Sentence objects
    sentence_starts: list[int]  # the index in `words` of each kept sentence's first word


def document_window(document: Any, tokenizer: BertTokenizer, max_length: int) -> DocumentWindow:
    """Encode a Document's first sentences ([CLS] ... [SEP], at most `max_length` ids).

    A first sentence too long to fit is cut at a word boundary; later sentences are kept only
    whole, so every kept verb, entity and pronoun comes with the sentence it belongs to.
    """
    ids, words, spans = [tokenizer.cls_token_id], [], []
    sentences, starts = [], []
    for sentence in document.sentences:
        pieces = [word_piece_ids(tokenizer, word) for word in sentence.words]
        if len(ids) + sum(map(len, pieces)) + 1 > max_length and sentences:
            break
        sentences.append(sentence)
        starts.append(len(words))
        for word, word_pieces in zip(sentence.words, pieces, strict=True):
            if len(ids) + len(word_pieces) + 1 > max_length:
                break
            spans.append((len(ids), len(ids) + len(word_pieces)))
            words.append(word)
            ids.extend(word_pieces)
    ids.append(tokenizer.sep_token_id)
    return DocumentWindow(ids, words, spans, sentences, starts)


@dataclass(frozen=True)
class PronounLink:
    """A he/she/him/his/her in a story and the person it refers to, as word indices."""

    pronoun: int
    mentions: tuple[int, ...]  # earlier words naming the referent (first name or surname)
    refers_to_first_named: bool  # the referent is the first person the window names


def pronoun_links(window: DocumentWindow) -> list[PronounLink]:
    """Every gendered pronoun of a story window with its referent's earlier mentions.

    TinyWorld's stories have two people of opposite gender, so a gendered pronoun refers to
    the one person of its gender; the generator writes a pronoun only after naming its referent.
    """
    from bertlab.tinyworld.lexicon import FEMALE_NAMES

    female_names = {name.lower() for name in FEMALE_NAMES}
    people: dict[bool, list[int]] = {}  # is female -> word indices of mentions
    first_named: bool | None = None
    entity_at: dict[int, tuple[int, int]] = {}
    for sentence, start in zip(window.sentences, window.sentence_starts, strict=True):
        for entity in sentence.entities:
            if entity.label == "PER" and start + entity.end <= len(window.words):
                entity_at[start + entity.start] = (start + entity.start, start + entity.end)
    links = []
    for index, word in enumerate(window.words):
        if index in entity_at:
            first, end = entity_at[index]
            female = window.words[first].lower() in female_names
            first_named = female if first_named is None else first_named
            people.setdefault(female, []).extend(range(first, end))
        elif word.lower() in GENDERED_PRONOUNS and index not in _inside(entity_at):
            female = GENDERED_PRONOUNS[word.lower()]
            if people.get(female):
                links.append(PronounLink(index, tuple(people[female]), female == first_named))
    return links


def _inside(spans: dict[int, tuple[int, int]]) -> set[int]:
    return {i for first, end in spans.values() for i in range(first, end)}


@torch.no_grad()
def score_heads_on_referents(
    model: BertForPreTraining, tokenizer: BertTokenizer, documents: Sequence[Any],
    batch_size: int = 64,
) -> HeadScores:
    """Score every head on pronoun -> referent links in stories, against positional rules.

    Each story's window (`document_window`) is encoded; from a pronoun's pieces (averaged),
    a head's attention to each earlier word (summed over its pieces) picks a word; the head
    scores when that word names the pronoun's referent. The bars to clear: "k words to the
    left", "the nearest name to the left", "the first name" and a random earlier word.
    """
    length = model.config.max_position_embeddings
    cases = []
    for document in documents:
        if document.kind != "story":
            continue
        window = document_window(document, tokenizer, length)
        links = pronoun_links(window)
        if links:
            cases.append((window, links))
    if not cases:
        raise ValueError("no story window has a pronoun after a mention of its referent")
    config = model.config
    hits = np.zeros((config.num_hidden_layers, config.num_attention_heads))
    baseline_hits: Counter[str] = Counter()
    chance, total = 0.0, 0
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    for start in range(0, len(cases), batch_size):
        group = cases[start:start + batch_size]
        batch = collate([{"input_ids": w.ids, "token_type_ids": [0] * len(w.ids),
                          "labels": w.ids, "next_sentence_label": 0} for w, _ in group],
                        tokenizer.pad_token_id)
        output = model.bert(batch["input_ids"].to(device), batch["attention_mask"].to(device),
                            output_attentions=True)
        attention = torch.stack(output.attentions, 1).float().cpu().numpy()  # (B, L, nh, T, T)
        for b, (window, links) in enumerate(group):
            for link in links:
                p0, p1 = window.spans[link.pronoun]
                from_pronoun = attention[b, :, :, p0:p1].mean(axis=2)  # (L, nh, T)
                earlier = window.spans[:link.pronoun]
                per_word = np.stack([from_pronoun[..., s:e].sum(-1) for s, e in earlier], -1)
                hits += np.isin(per_word.argmax(-1), link.mentions)  # (L, nh)
                for offset in (1, 2, 3, 4):
                    baseline_hits[f"{offset} to the left"] += link.pronoun - offset in link.mentions
                named_before = [i for i in _all_names(window) if i < link.pronoun]
                baseline_hits["nearest name to the left"] += bool(
                    named_before) and named_before[-1] in link.mentions
                baseline_hits["first name"] += bool(named_before) and named_before[0] in \
                    link.mentions
                chance += len(link.mentions) / link.pronoun
                total += 1
    model.train(was_training)
    baselines = {name: count / total for name, count in baseline_hits.items()}
    baselines["a random earlier word"] = chance / total
    return HeadScores(hits / total, baselines, total)


def _all_names(window: DocumentWindow) -> list[int]:
    """Word indices of every person's name (first names and surnames) in a window."""
    found = []
    for sentence, start in zip(window.sentences, window.sentence_starts, strict=True):
        for entity in sentence.entities:
            if entity.label == "PER":
                found.extend(i for i in range(start + entity.start, start + entity.end)
                             if i < len(window.words))
    return sorted(found)


# ---------------------------------------------------------------- which heads the model relies on


@contextmanager
def heads_ablated(model: BertPreTrainedModel, heads: Iterable[tuple[int, int]]) -> Iterator[None]:
    """Remove heads for the duration of a `with` block: each (layer, head)'s output is zeroed
    before the attention's output projection, as if the head had attended to nothing."""
    encoder = model.bert.encoder if hasattr(model, "bert") else model.encoder
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        if not (0 <= layer < len(encoder.layers)
                and 0 <= head < encoder.layers[layer].attention.num_heads):
            raise ValueError(f"no head ({layer}, {head}) in a model of {len(encoder.layers)} "
                             f"layers x {encoder.layers[0].attention.num_heads} heads")
        by_layer.setdefault(layer, []).append(head)
    hooks = []
    for layer, layer_heads in by_layer.items():
        attention = encoder.layers[layer].attention
        size = attention.head_size

        def zero_heads(module: nn.Module, args: tuple[Tensor, ...],
                       layer_heads: list[int] = layer_heads, size: int = size) -> tuple[Tensor]:
            context = args[0].clone()  # (B, T, H): the heads' outputs side by side
            for head in layer_heads:
                context[..., head * size:(head + 1) * size] = 0.0
            return (context,)

        hooks.append(attention.output.register_forward_pre_hook(zero_heads))
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()


@dataclass(frozen=True)
class HeadImportance:
    """Fill-in accuracy per word class with every head, and with each head removed in turn."""

    full: dict[str, float]  # 'overall' and each word class
    ablated: dict[str, Any]  # the same keys -> numpy (layers, heads)
    counts: dict[str, int]  # blanks per class

    def drop(self, kind: str = "overall") -> Any:
        """How much accuracy on `kind` falls when each head is removed: numpy (layers, heads)."""
        return self.full[kind] - self.ablated[kind]


def head_importance(
    model: BertForPreTraining, tokenizer: BertTokenizer, blanks: Sequence[Any],
    documents: Sequence[Sequence[str]], max_seq_length: int = 128,
) -> HeadImportance:
    """Remove each head in turn and re-score the fill-in blanks (Michel et al. 2019's test).

    A head matters to the extent its removal costs accuracy; comparing the drop per word
    class with what the head attends to shows whether attention weight means importance.
    """
    def score() -> dict[str, float]:
        result = fill_in_accuracy(model, tokenizer, blanks, documents, max_seq_length)
        return {"overall": result.accuracy,
                **{kind: accuracy for kind, (_, accuracy) in result.by_class().items()}}

    full = score()
    config = model.config
    ablated = {kind: np.zeros((config.num_hidden_layers, config.num_attention_heads))
               for kind in full}
    for layer in range(config.num_hidden_layers):
        for head in range(config.num_attention_heads):
            with heads_ablated(model, [(layer, head)]):
                scores = score()
            for kind in full:
                ablated[kind][layer, head] = scores[kind]
    counts = Counter(word_class(blank.answer) for blank in blanks)
    return HeadImportance(full, ablated, {"overall": len(blanks), **counts})
