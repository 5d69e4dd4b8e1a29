"""Reference solutions for chapter 00's exercises (tests prove each check accepts them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bertlab.tinyworld import lexicon
from bertlab.tinyworld.corpus import corpus_stats, generate_corpus, words_of
from bertlab.tinyworld.ngram import Blank, NgramFillIn

# Exercise 1: the slope of the Zipf plot over the top 100 ranks stays put as the corpus grows.
zipf_prediction = -0.93


def zipf_slope(n_documents: int) -> float:
    """Generate `n_documents` of TinyWorld and fit log frequency against log rank, ranks 1..100."""
    ranks, frequencies = corpus_stats(generate_corpus(n_documents, seed=0)).zipf()
    return float(np.polyfit(np.log(ranks[:100]), np.log(frequencies[:100]), 1)[0])


# Exercise 2: a tenth of the text loses a few points, not most of them.
less_text_prediction = 0.45


def accuracy_with_a_tenth(train_documents: Sequence[Sequence[str]],
                          blanks: Sequence[Blank]) -> float:
    """Train the n-gram on the first tenth of the training documents and score it."""
    tenth = train_documents[:len(train_documents) // 10]
    return NgramFillIn().fit(tenth).accuracy(blanks)


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


CONCEPT_ANSWERS = {"00": {1: "b", 2: "c", 3: "a", 4: "b", 5: "a"}}
