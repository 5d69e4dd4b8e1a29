"""Reference solutions for chapter 05's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from bertlab import fill_in
from bertlab.pretraining import NspPair, PretrainingDataset


def changed_share(dataset: PretrainingDataset, n_pairs: int = 2000) -> float:
    """Share of the input tokens of the first n_pairs pairs that masking changed."""
    changed = total = 0
    for i in range(n_pairs):
        original, _ = dataset.pairs[i].encode(dataset.cls_id, dataset.sep_id)
        shown = dataset.example(i)["input_ids"]
        changed += sum(a != b for a, b in zip(original, shown, strict=True))
        total += len(original)
    return changed / total


def accuracy_gap(bert: fill_in.FillInResult, ngram: fill_in.FillInResult) -> dict[str, float]:
    """For each kind of hidden word: BERT's accuracy minus the n-gram's, on the same blanks."""
    ours, theirs = bert.by_class(), ngram.by_class()
    return {kind: ours[kind][1] - theirs[kind][1] for kind in ours}


def name_accuracy(model: Any, tokenizer: Any, blanks: Sequence[Any],
                  documents: Sequence[Sequence[str]]) -> float:
    """The model's fill-in accuracy on the blanks that hide a person's name."""
    names = [b for b in blanks if fill_in.word_class(b.answer) == "name"]
    return fill_in.fill_in_accuracy(model, tokenizer, names, documents).accuracy


def kind_reader_accuracy(pairs: Sequence[NspPair], kinds: Sequence[str]) -> float:
    """NSP accuracy of a reader that says IsNext exactly when A and B are the same kind."""
    right = 0
    for pair in pairs:
        says_next = kinds[pair.document] == kinds[pair.b_document]
        right += says_next == (not pair.is_random_next)
    return right / len(pairs)


def truncate(a: list[int], b: list[int], max_tokens: int, rng: random.Random) -> None:
    """Cut the longer list (b on ties) from a random end until the pair fits, in place."""
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


# chapter 05's predictions, as a learner who has read the chapter might write them
PREDICTED_CHANGED_SHARE = 0.135  # 15% chosen, 9 in 10 of them changed
PREDICTED_BEATS = {"function word": True, "verb": True, "name": False, "town or venue": False,
                   "animal": False, "food": False}
PREDICTED_NAME_ACCURACY = 0.2
PREDICTED_KIND_READER = 0.8

CONCEPT_ANSWERS = {
    "05a": {1: "b", 2: "a", 3: "c", 4: "b"},
    "05b": {1: "b", 2: "c", 3: "a", 4: "d"},
}
