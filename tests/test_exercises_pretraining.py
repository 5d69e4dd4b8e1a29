"""Chapter 05: each check accepts the reference solution and rejects wrong answers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch
import torch.nn.functional as F
from conftest import load_solution

from bertlab.exercises import pretraining as ch05

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    return load_solution("ch05_pretraining")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def _not_attempted(result) -> bool:  # noqa: ANN001
    return not result.passed and not result.attempted


def test_replacement_check(solution: ModuleType) -> None:
    check = ch05.check_replacement
    assert check(solution.replace).passed
    assert _not_attempted(check(_placeholder))
    always_mask = check(lambda token, rng: ch05.MASK_ID)
    assert not always_mask.passed and "never return a random token" in always_mask.message
    half = check(lambda token, rng: ch05.MASK_ID if rng.random() < 0.5 else token)
    assert not half.passed
    special = check(lambda token, rng: ch05.MASK_ID if rng.random() < 0.8 else 0)
    assert not special.passed and "special token" in special.message
    assert not check(lambda token, rng: "[MASK]").passed


def test_truncate_pair_check(solution: ModuleType) -> None:
    check = ch05.check_truncate_pair
    assert check(solution.truncate).passed
    assert _not_attempted(check(_placeholder))

    def only_the_end(a, b, max_tokens, rng):  # noqa: ANN001
        while len(a) + len(b) > max_tokens:
            (a if len(a) > len(b) else b).pop()

    result = check(only_the_end)
    assert not result.passed and "wrong ends" in result.message

    def always_a(a, b, max_tokens, rng):  # noqa: ANN001
        while len(a) + len(b) > max_tokens and a:
            a.pop() if rng.random() >= 0.5 else a.pop(0)

    assert not check(always_a).passed

    def returns_copies(a, b, max_tokens, rng):  # noqa: ANN001
        return a[: max_tokens // 2], b[: max_tokens // 2]

    result = check(returns_copies)
    assert not result.passed and "in place" in result.message


def test_mlm_loss_check(solution: ModuleType) -> None:
    check = ch05.check_mlm_loss
    assert check(solution.mlm_loss).passed
    assert check(lambda logits, labels: F.cross_entropy(
        logits.flatten(0, 1), labels.flatten(), ignore_index=-100)).passed
    assert _not_attempted(check(_placeholder))

    def summed(logits, labels):  # noqa: ANN001
        keep = labels != -100
        return F.cross_entropy(logits[keep], labels[keep], reduction="sum")

    result = check(summed)
    assert not result.passed and "count" in result.message

    def over_everything(logits, labels):  # noqa: ANN001
        keep = labels != -100
        return F.cross_entropy(logits[keep], labels[keep], reduction="sum") / labels.numel()

    result = check(over_everything)
    assert not result.passed and "masked ones only" in result.message
    assert not check(lambda logits, labels: torch.tensor([1.0, 2.0])).passed


def test_checks_never_raise_on_a_crashing_answer() -> None:
    def crash(*_args: object) -> object:
        raise ValueError("boom")

    for check in (ch05.check_replacement, ch05.check_truncate_pair, ch05.check_mlm_loss):
        result = check(crash)
        assert not result.passed and "ValueError" in result.message
