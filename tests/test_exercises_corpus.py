"""Chapter 00's checks accept the reference solutions and reject wrong answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_solution

from bertlab.exercises import corpus as checks

ROOT = Path(__file__).resolve().parent.parent


def _solutions():  # type: ignore[no-untyped-def]
    return load_solution("ch00_welcome")


@pytest.fixture(scope="module")
def solutions():  # type: ignore[no-untyped-def]
    return _solutions()


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def test_zipf_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_zipf_slope(solutions.zipf_slope).passed
    wrong = checks.check_zipf_slope(lambda f: -solutions.zipf_slope(f))
    assert not wrong.passed and "negative" in wrong.message
    off = checks.check_zipf_slope(lambda f: solutions.zipf_slope(f[:50]))
    assert not off.passed and "expected" in off.message
    pending = checks.check_zipf_slope(_placeholder)
    assert not pending.passed and not pending.attempted


def test_left_bigram_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_left_bigram(solutions.left_bigram_accuracy).passed
    assert not checks.check_left_bigram(lambda train, blanks: 0.9).passed
    assert not checks.check_left_bigram(_placeholder).attempted


def test_review_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_review_label(solutions.review_label).passed
    from bertlab.tinyworld import lexicon

    def ignores_negation(text: str) -> int:
        return int(any(w.strip(".,") in lexicon.POSITIVE for w in text.lower().split()))

    result = checks.check_review_label(ignores_negation)
    assert not result.passed and "not" in result.message
    assert not checks.check_review_label(_placeholder).attempted


def test_learner_bug_is_reported_not_raised() -> None:
    result = checks.check_zipf_slope(lambda f: 1 / 0)
    assert not result.passed and "ZeroDivisionError" in result.message
