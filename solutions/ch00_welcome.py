"""Reference solutions for chapter 00's exercises (tests prove each check accepts them)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from bertlab.tinyworld import lexicon
from bertlab.tinyworld.corpus import words_of
from bertlab.tinyworld.ngram import Blank


def zipf_slope(frequencies: Sequence[int]) -> float:
    """Slope of log frequency against log rank, ranks 1..100."""
    top = np.asarray(frequencies[:100], dtype=float)
    ranks = np.arange(1, len(top) + 1)
    return float(np.polyfit(np.log(ranks), np.log(top), 1)[0])


def left_bigram_accuracy(train: Sequence[Sequence[str]], blanks: Sequence[Blank]) -> float:
    """Guess each blank as the commonest follower of the word on its left."""
    followers: dict[str, Counter[str]] = defaultdict(Counter)
    for document in train:
        for sentence in document:
            words = ["<s>", *words_of(sentence)]
            for left, word in zip(words, words[1:], strict=False):
                if word[0].isalnum():
                    followers[left][word] += 1
    hits = 0
    for blank in blanks:
        left = blank.words[blank.position - 1] if blank.position else "<s>"
        if followers[left] and followers[left].most_common(1)[0][0] == blank.answer:
            hits += 1
    return hits / len(blanks)


def review_label(text: str) -> int:
    """Positive unless the (possibly negated) adjectives say otherwise."""
    votes = 0
    for sentence in text.split("."):
        words = words_of(sentence)
        polarity = 0
        for word in words:
            if word in lexicon.POSITIVE:
                polarity = 1
            elif word in lexicon.NEGATIVE:
                polarity = -1
        if "not" in words:
            polarity = -polarity
        votes += polarity
    return int(votes > 0)
