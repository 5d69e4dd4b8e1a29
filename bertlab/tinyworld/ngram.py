"""A fill-in-the-blank baseline from counts alone: the bar a BERT must clear.

Chapter 00 builds it and chapter 05 compares the pretrained BERT against it on the same
held-out blanks. It sees two words of context on each side of the blank (more than a left-to-right
language model would) and backs off from the widest context it has seen to narrower ones, so it
is a strong baseline for a corpus made of short sentences. What it cannot do is read the rest of
the sentence or the document: a name mentioned two sentences earlier, the subject of a verb
across a relative clause, or the gender of the person a pronoun refers to.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bertlab.tinyworld.corpus import TinyWorld, words_of

BOUNDARY = "<s>"
HELD_OUT = 0.1  # share of documents held out for the fill-in benchmark (chapters 00 and 05)
BENCHMARK_BLANKS = 3000

# Context windows tried in order, widest first: (words to the left, words to the right).
BACKOFF: tuple[tuple[int, int], ...] = ((2, 2), (1, 2), (2, 1), (1, 1), (2, 0), (0, 2), (1, 0),
                                        (0, 1), (0, 0))


@dataclass(frozen=True)
class Blank:
    """One fill-in-the-blank item: a sentence's words, the hidden position and the answer."""

    words: tuple[str, ...]
    position: int
    answer: str
    document: int  # index of the document the sentence came from
    sentence: int  # index of the sentence within its document

    def masked(self, mask: str = "____") -> str:
        """The sentence with the blank shown, for printing."""
        shown = list(self.words)
        shown[self.position] = mask
        return " ".join(shown)


def make_blanks(documents: Sequence[Sequence[str]], n: int, seed: int = 0) -> list[Blank]:
    """Pick `n` word positions uniformly among all words (punctuation excluded) of `documents`."""
    if n < 1:
        raise ValueError(f"need at least one blank, got n={n}")
    candidates: list[tuple[int, int, int]] = []
    tokenized = [[words_of(sentence) for sentence in doc] for doc in documents]
    for d, doc in enumerate(tokenized):
        for s, words in enumerate(doc):
            candidates.extend((d, s, i) for i, word in enumerate(words) if word[0].isalnum())
    if not candidates:
        raise ValueError("the documents contain no words to blank out")
    rng = random.Random(seed)
    picks = rng.sample(candidates, min(n, len(candidates)))
    return [Blank(tuple(tokenized[d][s]), i, tokenized[d][s][i], d, s) for d, s, i in picks]


def fill_in_benchmark(world: TinyWorld, n_blanks: int = BENCHMARK_BLANKS,
                      seed: int = 0) -> tuple[TinyWorld, list[Blank]]:
    """The fill-in task every chapter scores on: training documents and held-out blanks.

    Chapter 00's n-gram baseline and chapter 05's BERT both train on the first part and are
    scored on the same blanks from documents neither has seen.
    """
    train, test = world.split(HELD_OUT)
    return train, make_blanks(test.as_documents(), n_blanks, seed)


class NgramFillIn:
    """Predict a hidden word from the counts of the words around it (two on each side).

    With `left_only=True` it reads only the two words before the blank, as a left-to-right
    language model does when it reaches that word; chapter 00 compares the two.
    """

    def __init__(self, left_only: bool = False) -> None:
        self.left_only = left_only
        self.windows = tuple(w for w in BACKOFF if not (left_only and w[1]))  # widest first
        self.tables: dict[tuple[int, int], dict[tuple[str, ...], Counter[str]]] = {
            window: defaultdict(Counter) for window in self.windows
        }
        self.sentences_seen = 0

    @staticmethod
    def _context(words: Sequence[str], position: int, window: tuple[int, int]) -> tuple[str, ...]:
        left, right = window
        padded = [BOUNDARY, BOUNDARY, *words, BOUNDARY, BOUNDARY]
        centre = position + 2
        return tuple(padded[centre - left:centre]) + tuple(padded[centre + 1:centre + 1 + right])

    def fit(self, documents: Sequence[Sequence[str]]) -> NgramFillIn:
        """Count every word in every context window of the training documents."""
        for doc in documents:
            for sentence in doc:
                words = words_of(sentence)
                self.sentences_seen += 1
                for position, word in enumerate(words):
                    if not word[0].isalnum():
                        continue
                    for window, table in self.tables.items():
                        table[self._context(words, position, window)][word] += 1
        return self

    def predict_top(self, words: Sequence[str], position: int, k: int = 5) -> list[str]:
        """The `k` best guesses, from the widest context window that was seen in training."""
        if not self.sentences_seen:
            raise RuntimeError("call fit() on training documents before predicting")
        if not 0 <= position < len(words):
            raise IndexError(f"position {position} is outside a sentence of {len(words)} words")
        for window in self.windows:
            counts = self.tables[window].get(self._context(words, position, window))
            if counts:
                return [word for word, _ in counts.most_common(k)]
        return []

    def predict(self, words: Sequence[str], position: int) -> str:
        """The single best guess for the hidden word."""
        return self.predict_top(words, position, 1)[0]

    def accuracy(self, blanks: Sequence[Blank]) -> float:
        """Share of blanks whose best guess is exactly the hidden word."""
        if not blanks:
            raise ValueError("accuracy needs at least one blank")
        hits = sum(self.predict(blank.words, blank.position) == blank.answer for blank in blanks)
        return hits / len(blanks)
