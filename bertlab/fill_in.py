"""Chapter 00's fill-in-the-blank benchmark, scored for a BERT: what pretraining is judged by.

Each blank hides one word of a held-out sentence; the model reads the sentence with the word's
pieces masked, in its document's context (`fill_in_input`), and its guess counts when it is
exactly the hidden word, as for chapter 00's n-gram. `FillInTask` is what `bertlab.pretrain`
hands the training loop to score at every evaluation; `word_class` breaks the accuracy down by
the kind of word hidden (names, verbs, function words ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
from torch import nn

from bertlab.model import IGNORE_INDEX, BertForPreTraining
from bertlab.pretraining import collate
from bertlab.tokenizer import CONTINUATION, BertTokenizer


@cache
def word_class_table() -> dict[str, str]:
    """Lexicon word -> class, for breaking fill-in accuracy down by what kind of word is hidden."""
    from bertlab.tinyworld import lexicon as lx

    verbs = [lx.EAT, lx.GO, lx.GROW, lx.LIVE, *lx.COOK_VERBS, *lx.BAKE_VERBS, *lx.LIKE_VERBS,
             *lx.OBJECT_VERBS, *lx.SOCIAL_VERBS, *lx.SEE_VERBS, *lx.MOTION_VERBS,
             *lx.INTRANSITIVE, *lx.ANIMAL_MOTION.values(), *lx.ANIMAL_SOUNDS.values()]
    groups: list[tuple[str, list[str]]] = [
        ("name", lx.FEMALE_NAMES + lx.MALE_NAMES + lx.SURNAMES),
        ("town or venue", lx.TOWNS + [w for pair in lx.VENUES for w in pair]),
        ("food", [f for food in lx.FOODS for f in (food.name, food.plural)]),
        ("animal", [a for animal in lx.ANIMALS for a in (animal.name, animal.plural)]),
        ("person noun", [r for role in lx.ROLES + lx.STAFF for r in (role, lx.pluralize(role))]),
        ("thing or place", [t for pair in lx.THINGS for t in pair] + lx.FURNITURE + lx.PLACES
         + lx.VENUE_KINDS),
        ("adjective", lx.EMOTIONS + lx.DESCRIPTIVE + lx.COLORS + lx.POSITIVE + lx.NEGATIVE
         + lx.WEATHER + [f for forms in lx.COMPARATIVES.values() for f in forms]),
        ("verb", [f for v in verbs for f in (v.base, v.third, v.past, v.participle, v.ing)]),
        ("number or time", lx.NUMBERS + lx.DAYS + lx.TIMES),
    ]
    table: dict[str, str] = {}
    for name, words in groups:
        for word in words:
            table.setdefault(word.lower(), name)
    return table


def word_class(word: str) -> str:
    """The lexicon class of a TinyWorld word ('name', 'food', 'verb', ...; else 'function word')."""
    return word_class_table().get(word.lower(), "function word")


@dataclass(frozen=True)
class FillInTask:
    """Chapter 00's fill-in blanks with what scoring them needs: a training loop's evaluation."""

    tokenizer: BertTokenizer
    blanks: list[Any]  # bertlab.tinyworld.ngram.Blank
    documents: list[list[str]]  # the held-out documents the blanks index into
    one_segment: bool = False  # the context as one segment: for a model pretrained without B

    def __call__(self, model: nn.Module) -> dict[str, float]:
        """Fill-in accuracy overall and per word class (what a pretraining log records)."""
        scored = fill_in_accuracy(model, self.tokenizer, self.blanks, self.documents,
                                  one_segment=self.one_segment)
        return {"overall": scored.accuracy,
                **{kind: accuracy for kind, (_, accuracy) in scored.by_class().items()}}


@dataclass(frozen=True)
class FillInResult:
    """A model's guesses on the fill-in blanks, and how many were exactly the hidden word."""

    blanks: list[Any]  # bertlab.tinyworld.ngram.Blank
    predictions: list[str]

    @property
    def accuracy(self) -> float:
        """Share of blanks guessed exactly (the metric chapter 00's n-gram reports)."""
        return self.hits / len(self.blanks)

    @property
    def hits(self) -> int:
        return sum(p == b.answer for p, b in zip(self.predictions, self.blanks, strict=True))

    def by_class(self) -> dict[str, tuple[int, float]]:
        """Accuracy per word class of the answer: {class: (blanks, accuracy)}, largest first."""
        totals: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        for prediction, blank in zip(self.predictions, self.blanks, strict=True):
            kind = word_class(blank.answer)
            totals[kind] += 1
            hits[kind] += prediction == blank.answer
        return {kind: (n, hits[kind] / n) for kind, n in totals.most_common()}


def word_piece_ids(tokenizer: BertTokenizer, word: str) -> list[int]:
    """The ids of a word's WordPiece pieces: what a blank hides and what a guess must match."""
    return tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))


def fill_in_input(
    blank: Any, document: Sequence[str], tokenizer: BertTokenizer, max_seq_length: int,
    one_segment: bool = False,
) -> tuple[list[int], list[int], list[int], list[int]]:
    """The model input for one blank: its sentence with the word's pieces masked, in context.

    The sentences around it (nearest first, alternating before and after) are added while they
    fit; sentences before the blank's sentence form segment A and the rest segment B, the
    layout the model saw in pretraining. With one_segment the same sentences make one segment
    (token type 0, no [SEP] between), the layout of a model pretrained without NSP.
    Returns (ids, token types, masked positions, the answer's piece ids).
    """
    answer = word_piece_ids(tokenizer, blank.answer)
    target: list[int] = []
    masked: list[int] = []
    for i, word in enumerate(blank.words):
        if i == blank.position:
            masked = list(range(len(target), len(target) + len(answer)))
            target.extend([tokenizer.mask_token_id] * len(answer))
        else:
            target.extend(word_piece_ids(tokenizer, word))
    budget = max_seq_length - 3
    if len(target) > budget:  # a very long sentence: keep a window around the blank
        start = max(0, min(masked[0] - budget // 2, len(target) - budget))
        target = target[start:start + budget]
        masked = [m - start for m in masked]
    sentences = {blank.sentence: target}
    used = len(target)
    before, after = blank.sentence - 1, blank.sentence + 1
    while before >= 0 or after < len(document):
        for index in (before, after):
            if 0 <= index < len(document) and index not in sentences:
                ids = word_piece_ids(tokenizer, document[index])
                if used + len(ids) <= budget:
                    sentences[index] = ids
                    used += len(ids)
        if used >= budget:
            break
        before, after = before - 1, after + 1
    order = sorted(sentences)
    n_first = sum(i < blank.sentence for i in order) or 1  # sentences in segment A
    if one_segment:
        n_first = len(order)  # every sentence in segment A: no second [SEP], no type 1
    ids, types = [tokenizer.cls_token_id], [0]
    positions: list[int] = []
    for n, index in enumerate(order):
        if n == n_first:
            ids.append(tokenizer.sep_token_id)  # end of segment A
            types.append(0)
        if index == blank.sentence:
            positions = [len(ids) + m for m in masked]
        ids.extend(sentences[index])
        types.extend([int(n >= n_first)] * len(sentences[index]))
    ids.append(tokenizer.sep_token_id)
    types.append(int(len(order) > n_first))
    return ids, types, positions, answer


@torch.no_grad()
def fill_in_accuracy(
    model: BertForPreTraining,
    tokenizer: BertTokenizer,
    blanks: Sequence[Any],
    documents: Sequence[Sequence[str]],
    max_seq_length: int = 128,
    batch_size: int = 64,
    one_segment: bool = False,
) -> FillInResult:
    """Score a model on chapter 00's held-out blanks: mask the word, read the context, guess.

    `documents` are the held-out documents the blanks index into (TinyWorld.split's second
    part). A guess is the best non-special token at each masked piece, glued into a word; it
    counts when it is exactly the hidden word, as for the n-gram baseline.
    """

    if not blanks:
        raise ValueError("fill_in_accuracy needs at least one blank")
    max_seq_length = min(max_seq_length, model.config.max_position_embeddings)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    special = sorted(tokenizer.special_ids)
    predictions: list[str] = []
    for start in range(0, len(blanks), batch_size):
        group = blanks[start:start + batch_size]
        inputs = [fill_in_input(b, documents[b.document], tokenizer, max_seq_length, one_segment)
                  for b in group]
        examples = []
        for ids, types, positions, answer in inputs:
            labels = [IGNORE_INDEX] * len(ids)
            for p, a in zip(positions, answer, strict=True):
                labels[p] = a
            examples.append({"input_ids": ids, "token_type_ids": types, "labels": labels})
        batch = {k: t.to(device) for k, t in collate(examples, tokenizer.pad_token_id).items()}
        output = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        masked = batch["labels"] != IGNORE_INDEX  # (B, T)
        logits = output.prediction_logits[masked].float()  # (N, V): masked pieces, row-major
        logits[:, special] = float("-inf")
        guesses = logits.argmax(-1).tolist()
        row = 0
        for _, _, positions, _ in inputs:
            pieces = tokenizer.convert_ids_to_tokens(guesses[row:row + len(positions)])
            row += len(positions)
            predictions.append("".join(p.removeprefix(CONTINUATION) if i else p
                                       for i, p in enumerate(pieces)))
    model.train(was_training)
    return FillInResult(list(blanks), predictions)
