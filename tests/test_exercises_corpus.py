"""Chapter 00's checks accept the reference solutions, reject wrong answers with a message that
names the mistake, and say 'not attempted' (with no hint) for the notebook's placeholders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import load_solution

from bertlab.exercises import corpus as checks
from bertlab.tinyworld import lexicon
from bertlab.tinyworld.corpus import corpus_stats, generate_corpus
from bertlab.tinyworld.ngram import NgramFillIn

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solutions():  # type: ignore[no-untyped-def]
    return load_solution("ch00_welcome")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def _not_attempted(result: checks.CheckResult) -> bool:
    return not result.passed and not result.attempted and "Hint" not in str(result)


def test_zipf_bigger_check(solutions) -> None:  # type: ignore[no-untyped-def]
    check = checks.check_zipf_bigger
    right = check(solutions.zipf_prediction, solutions.zipf_slope)
    assert right.passed and "you predicted -0.93" in right.message
    assert "closed" in right.message  # the lesson: four times the text, no new words
    reference = checks.zipf_reference()
    assert abs(reference.slope - reference.slope_chapter) < checks.ZIPF_TOLERANCE / 2
    assert reference.types == reference.types_chapter
    # another seed is an honest measurement of the same experiment
    other_seed = corpus_stats(generate_corpus(checks.BIGGER_CORPUS, seed=1)).zipf()
    slope = np.polyfit(np.log(other_seed[0][:100]), np.log(other_seed[1][:100]), 1)[0]
    assert check(-1.0, lambda n: float(slope)).passed
    # a wrong prediction still passes: the prediction is recorded, not graded
    off = check(-2.0, solutions.zipf_slope)
    assert off.passed and "your prediction was off" in off.message

    positive = check(-0.9, lambda n: -solutions.zipf_slope(n))
    assert not positive.passed and "negative" in positive.message and "Hint" in str(positive)
    all_ranks = check(-0.9, lambda n: reference.slope_all_ranks)
    assert not all_ranks.passed and "top 100 ranks" in all_ranks.message
    wrong = check(-0.9, lambda n: reference.slope + 0.1)
    assert not wrong.passed and "this experiment gives" in wrong.message and "Hint" in str(wrong)
    assert not check(-0.9, lambda n: "steep").passed
    crashed = check(-0.9, lambda n: 1 / 0)
    assert not crashed.passed and "ZeroDivisionError" in crashed.message

    assert _not_attempted(check(None, solutions.zipf_slope))  # no prediction yet: no measuring
    assert _not_attempted(check(-0.9, _placeholder))


def test_less_text_check(solutions) -> None:  # type: ignore[no-untyped-def]
    check = checks.check_less_text
    right = check(solutions.less_text_prediction, solutions.accuracy_with_a_tenth)
    assert right.passed and "you predicted 0.45" in right.message
    reference = checks.less_text_reference()
    assert reference.accuracy < reference.accuracy_all
    # any other tenth of the training documents is an honest measurement too
    for part in (3, 9):
        def other_tenth(train, blanks, part=part):  # type: ignore[no-untyped-def]
            n = len(train) // 10
            return NgramFillIn().fit(train[part * n:(part + 1) * n]).accuracy(blanks)

        assert check(0.5, other_tenth).passed

    def all_documents(train, blanks):  # type: ignore[no-untyped-def]
        return NgramFillIn().fit(train).accuracy(blanks)

    everything = check(0.5, all_documents)
    assert not everything.passed and "all" in everything.message
    assert "first tenth" in everything.message and "Hint" in str(everything)
    percent = check(0.5, lambda train, blanks: 100 * solutions.accuracy_with_a_tenth(train, blanks))
    assert not percent.passed and "fraction" in percent.message

    def a_hundredth(train, blanks):  # type: ignore[no-untyped-def]
        return NgramFillIn().fit(train[:len(train) // 100]).accuracy(blanks)

    too_little = check(0.5, a_hundredth)
    assert not too_little.passed and "this experiment gives" in too_little.message

    assert _not_attempted(check(None, solutions.accuracy_with_a_tenth))
    assert _not_attempted(check(0.5, _placeholder))


def test_review_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_review_label(solutions.review_label).passed

    def ignores_negation(text: str) -> int:
        return int(any(w.strip(".,") in lexicon.POSITIVE for w in text.lower().split()))

    result = checks.check_review_label(ignores_negation)
    assert not result.passed and "not" in result.message and "flips" in result.message
    assert "Hint" in str(result)
    always_positive = checks.check_review_label(lambda text: 1)
    assert not always_positive.passed and "accuracy" in always_positive.message
    words = checks.check_review_label(lambda text: "positive")
    assert not words.passed and "return 1 (positive) or 0" in words.message
    assert _not_attempted(checks.check_review_label(_placeholder))


def test_learner_bug_is_reported_not_raised() -> None:
    result = checks.check_review_label(lambda text: text[1000])
    assert not result.passed and "IndexError" in result.message
