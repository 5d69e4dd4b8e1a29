"""Chapter 00 exercises: Zipf's law, a left-only baseline, and negation in reviews."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from bertlab.exercises import CheckResult, failed, passed, run_answer
from bertlab.tinyworld import lexicon
from bertlab.tinyworld.corpus import corpus_stats, generate_corpus, sentiment_split, words_of
from bertlab.tinyworld.ngram import Blank, make_blanks


def reference_zipf_slope(frequencies: Sequence[int], top: int = 100) -> float:
    """Least-squares slope of log(frequency) against log(rank) over the `top` ranks."""
    xs = [math.log(rank) for rank in range(1, min(top, len(frequencies)) + 1)]
    ys = [math.log(f) for f in frequencies[: len(xs)]]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return covariance / sum((x - mean_x) ** 2 for x in xs)


def check_zipf_slope(zipf_slope: Callable[[Sequence[int]], float]) -> CheckResult:
    """Exercise 1: fit the slope of the Zipf plot over the top 100 ranks."""
    name = "Exercise 1 (Zipf slope)"
    hint = "take log(rank) and log(frequency) for ranks 1..100 and fit a straight line."
    perfect = [round(10_000 / rank) for rank in range(1, 301)]
    tinyworld = [f for _, f in corpus_stats(generate_corpus(400, seed=5)).frequencies]
    for label, data in (("a perfect Zipf list (10000 / rank)", perfect),
                        ("TinyWorld's frequencies", tinyworld)):
        answer = run_answer(name, hint, zipf_slope, data)
        if isinstance(answer, CheckResult):
            return answer
        expected = reference_zipf_slope(data)
        if not isinstance(answer, int | float) or math.isnan(answer):
            return failed(name, f"return a number, got {answer!r}")
        if answer > 0:
            return failed(name, f"on {label} you got a positive slope {answer:.3f}; frequency "
                                "falls with rank, so the slope must be negative (use log-log).")
        if abs(answer - expected) > 1e-6:
            return failed(name, f"on {label} you got {answer:.4f}, expected {expected:.4f}. "
                                "Did you use natural logs of rank and frequency, ranks from 1, and "
                                "only the first 100 ranks?")
    return passed(name, f"slope {expected:.3f} on TinyWorld (a perfect Zipf law gives -1).")


def reference_left_bigram(train: Sequence[Sequence[str]], blanks: Sequence[Blank]) -> float:
    """Accuracy of guessing each blank from the single word on its left (most frequent follower)."""
    followers: dict[str, Counter[str]] = defaultdict(Counter)
    for document in train:
        for sentence in document:
            words = ["<s>", *words_of(sentence)]
            for left, word in zip(words, words[1:], strict=False):
                if word[0].isalnum():
                    followers[left][word] += 1
    hits = 0
    for blank in blanks:
        left = blank.words[blank.position - 1] if blank.position > 0 else "<s>"
        guesses = followers.get(left)
        hits += bool(guesses) and guesses.most_common(1)[0][0] == blank.answer
    return hits / len(blanks)


def check_left_bigram(
    left_bigram_accuracy: Callable[[Sequence[Sequence[str]], Sequence[Blank]], float],
) -> CheckResult:
    """Exercise 2: a baseline that only sees the word on the left, scored on the same blanks."""
    name = "Exercise 2 (left-only bigram)"
    hint = ("count, for every word, which words follow it (use '<s>' before the first word), then "
            "guess the most frequent follower of the word left of each blank.")
    world = generate_corpus(600, seed=11)
    train, test = world.split(0.2)
    blanks = make_blanks(test.as_documents(), 400, seed=2)
    answer = run_answer(name, hint, left_bigram_accuracy, train.as_documents(), blanks)
    if isinstance(answer, CheckResult):
        return answer
    expected = reference_left_bigram(train.as_documents(), blanks)
    if not isinstance(answer, int | float) or not 0 <= answer <= 1:
        return failed(name, f"return an accuracy between 0 and 1, got {answer!r}")
    if abs(answer - expected) > 0.02:
        return failed(name, f"your accuracy is {answer:.3f} but a left-only bigram gets "
                            f"{expected:.3f} on these blanks. Check that you count only words "
                            "(not punctuation) as answers and lower-case with words_of().")
    return passed(name, f"{answer:.3f}: lower than the two-sided baseline, because the right "
                        "context carries information the left does not.")


def check_review_label(review_label: Callable[[str], int]) -> CheckResult:
    """Exercise 3: label held-out reviews with the adjective lists and negation."""
    name = "Exercise 3 (rule-based sentiment)"
    hint = ("for each sentence, find the adjective in lexicon.POSITIVE or lexicon.NEGATIVE, flip "
            "it when the sentence says 'not', and return 1 for positive, 0 for negative.")
    split = sentiment_split(150, 150, seed=4)
    reviews = split.train + split.test
    wrong = []
    for review in reviews:
        answer = run_answer(name, hint, review_label, review.text)
        if isinstance(answer, CheckResult):
            return answer
        if answer != review.label:
            wrong.append(review)
    accuracy = 1 - len(wrong) / len(reviews)
    if accuracy < 0.99:
        example = wrong[0]
        negated = " not " in example.text
        return failed(name, f"accuracy {accuracy:.2%}. For example '{example.text}' is "
                            f"{'positive' if example.label else 'negative'}"
                            + (" — it contains 'not', which flips the adjective." if negated
                               else "."))
    known = len(lexicon.POSITIVE) + len(lexicon.NEGATIVE)
    return passed(name, f"accuracy {accuracy:.2%} — but only because you were handed all {known} "
                        "adjectives. A model must learn them; chapter 06 asks whether pretraining "
                        "can teach it the ones it never saw labeled.")
