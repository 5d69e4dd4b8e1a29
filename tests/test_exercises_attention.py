"""Chapters 02 and 03: each check accepts the reference solution and rejects wrong answers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch
from conftest import load_solution

from bertlab.exercises import attention as ch02
from bertlab.exercises import multi_head as ch03

ROOT = Path(__file__).resolve().parent.parent


def _load(stem: str) -> ModuleType:
    return load_solution(stem)


@pytest.fixture(scope="module")
def s02() -> ModuleType:
    return _load("ch02_self_attention")


@pytest.fixture(scope="module")
def s03() -> ModuleType:
    return _load("ch03_multi_head_attention")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def _not_attempted(result: object) -> bool:
    return not result.passed and not result.attempted  # type: ignore[attr-defined]


# --- chapter 02 -----------------------------------------------------------------------------


def test_unscaled_peak_check(s02: ModuleType) -> None:
    check = ch02.check_unscaled_peak
    right = check(s02.UNSCALED_PEAK_PREDICTION, s02.largest_weight)
    assert right.passed and "you predicted 0.8" in right.message
    assert check(0.1, 0.77).passed  # a measured number works too; a wrong prediction still passes

    def scaled(d_k: int, n_keys: int, use_scaling: bool) -> float:
        return s02.largest_weight(d_k, n_keys, True)

    with_scaling = check(0.8, scaled)
    assert not with_scaling.passed and "WITH the 1/√d_k" in with_scaling.message
    assert "Hint:" in str(with_scaling)
    mean_of_all = check(0.8, 1 / 128)
    assert not mean_of_all.passed and "mean of all the weights" in mean_of_all.message
    sixteen = check(0.8, lambda d_k, n_keys, s: s02.largest_weight(d_k, 16, s))
    assert not sixteen.passed and "16 keys" in sixteen.message
    overall = check(0.8, 1.0)
    assert not overall.passed and "single largest" in overall.message
    other = check(0.8, 0.5)
    assert not other.passed and other.attempted and "0.5" in other.message
    crash = check(0.8, lambda d_k, n_keys, s: torch.ones(2) @ torch.ones(3))
    assert not crash.passed and crash.attempted and "raised" in crash.message
    waiting = check(None, s02.largest_weight)
    assert _not_attempted(waiting) and "prediction" in waiting.message
    untried = check(0.8, _placeholder)
    assert _not_attempted(untried) and "Hint" not in str(untried)


def test_forgotten_mask_check(s02: ModuleType) -> None:
    check = ch02.check_forgotten_mask
    right = check(s02.FORGOTTEN_MASK_PREDICTION, s02.weight_on_padding)
    assert right.passed and "123/128" in right.message
    masked = check(0.1, lambda n, t, use_mask: s02.weight_on_padding(n, t, True))
    assert not masked.passed and "with the mask" in masked.message and "Hint:" in str(masked)
    one_key = check(0.1, lambda n, t, m: s02.weight_on_padding(n, t, m) / (t - n))
    assert not one_key.passed and "ONE [PAD] key" in one_key.message
    real = check(0.1, lambda n, t, m: 1 - s02.weight_on_padding(n, t, m))
    assert not real.passed and "real tokens" in real.message
    assert not check(0.1, "most of it").passed
    assert _not_attempted(check(None, s02.weight_on_padding))
    assert _not_attempted(check(0.5, _placeholder))


def test_chapter_02_tolerances_cover_other_seeds() -> None:
    peak, padding = ch02.largest_weight(64, 128, False), ch02.weight_on_padding(5, 128, False)
    for seed in range(1, 6):  # an honest learner may draw other numbers than the check's seed 0
        assert abs(ch02.largest_weight(64, 128, False, seed) - peak) <= ch02.PEAK_TOLERANCE / 2
        assert abs(ch02.weight_on_padding(5, 128, False, seed) - padding) \
            <= ch02.PADDING_TOLERANCE / 2


def test_causal_mask_check(s02: ModuleType) -> None:
    check = ch02.check_causal_mask
    assert check(s02.causal_mask).passed
    future = check(lambda t: s02.causal_mask(t).T)
    assert not future.passed and "transposed" in future.message
    no_self = check(lambda t: torch.tril(torch.ones(t, t, dtype=torch.bool), diagonal=-1))
    assert not no_self.passed and "itself" in no_self.message
    floats = check(lambda t: torch.tril(torch.ones(t, t)))
    assert not floats.passed and "bool" in floats.message
    everything = check(lambda t: torch.ones(t, t, dtype=torch.bool))
    assert not everything.passed and "lower-triangular" in everything.message
    assert "Hint:" in str(everything)
    shape = check(lambda t: torch.ones(t, dtype=torch.bool))
    assert not shape.passed and "shape" in shape.message
    untried = check(_placeholder)
    assert _not_attempted(untried) and "tril" not in str(untried)


# --- chapter 03 -----------------------------------------------------------------------------


def test_heads_flops_check(s03: ModuleType) -> None:
    check = ch03.check_heads_flops
    right = check(s03.HEADS_FLOPS_PREDICTION, s03.attention_flops)
    assert right.passed and "12 heads cost exactly what 1 head costs" in right.message
    assert check(12, s03.attention_flops).passed  # a wrong prediction, measured honestly

    def fused(hidden: int, heads: int, seq_len: int) -> int:
        return ch03.attention_flops(hidden, heads, seq_len, weights=False)

    missed = check(12, fused)
    assert not missed.passed and "output_attentions=True" in missed.message
    assert "Hint:" in str(missed)
    per_head = check(12, lambda h, nh, t: nh * s03.attention_flops(h, nh, t))
    assert not per_head.passed and "12 head(s)" in per_head.message
    batch_of_two = check(12, lambda h, nh, t: 2 * s03.attention_flops(h, nh, t))
    assert not batch_of_two.passed and "1 head(s)" in batch_of_two.message
    text = check(12, lambda h, nh, t: "many")
    assert not text.passed and "positive number" in text.message
    assert _not_attempted(check(None, s03.attention_flops))
    untried = check(12, _placeholder)
    assert _not_attempted(untried) and "FlopCounterMode" not in str(untried)


def test_head_rank_check(s03: ModuleType) -> None:
    check = ch03.check_head_rank
    right = check(s03.HEAD_RANK_PREDICTION, s03.head_score_rank)
    assert right.passed and "rank 64" in right.message and "close" in right.message
    surprised = check(768, s03.head_score_rank)
    assert surprised.passed and "off" in surprised.message

    def whole_layer(hidden: int, heads: int) -> int:
        return s03.head_score_rank(hidden, 1)

    whole = check(64, whole_layer)
    assert not whole.passed and "all heads" in whole.message and "Hint:" in str(whole)
    heads = check(64, 12)
    assert not heads.passed and "number of heads" in heads.message
    other = check(64, 100)
    assert not other.passed and "64" in other.message
    assert _not_attempted(check(None, s03.head_score_rank))
    assert _not_attempted(check(64, _placeholder))


def test_next_token_head_check(s03: ModuleType) -> None:
    check = ch03.check_next_token_head
    assert check(s03.next_token_projections).passed
    previous = check(lambda t: (s03.next_token_projections(t)[0].T, torch.eye(t)))
    assert not previous.passed and "previous-token" in previous.message
    itself = check(lambda t: (torch.eye(t) * 20, torch.eye(t)))
    assert not itself.passed and "itself" in itself.message
    soft = check(lambda t: s03.next_token_projections(t, scale=2.0))
    assert not soft.passed and "softly" in soft.message
    fixed_size = check(lambda t: s03.next_token_projections(6))
    assert not fixed_size.passed and "(T, d)" in fixed_size.message
    untried = check(_placeholder)
    assert _not_attempted(untried) and "Hint" not in str(untried)


def test_hints_only_after_a_wrong_answer() -> None:
    from bertlab.exercises import check_measurement, failed, not_attempted

    assert "Hint" not in str(not_attempted("x", "the secret"))
    assert "the secret" not in str(not_attempted("x", "the secret"))
    assert str(failed("x", "wrong.", "the secret")).endswith("Hint: the secret")
    kwargs = dict(hint="count them", lesson="a lesson.")
    assert not check_measurement("m", None, 0.15, 0.15, 0.01, **kwargs).attempted
    assert check_measurement("m", 0.5, 0.151, 0.15, 0.01, **kwargs).passed
    assert "off" in check_measurement("m", 0.5, 0.151, 0.15, 0.01, **kwargs).message
    assert "close" in check_measurement("m", 0.14, torch.tensor(0.151), 0.15, 0.01,
                                        **kwargs).message
    wrong = check_measurement("m", 0.15, 0.3, 0.15, 0.01, **kwargs)
    assert not wrong.passed and wrong.attempted and "Hint: count them" in str(wrong)
    assert not check_measurement("m", "a lot", 0.15, 0.15, 0.01, **kwargs).passed
    assert not check_measurement("m", 0.15, "0.15x", 0.15, 0.01, **kwargs).passed
