"""Chapters 02 and 03: each check accepts the reference solution and rejects wrong answers."""

from __future__ import annotations

import math
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


def test_attention_weights_check(s02: ModuleType) -> None:
    check = ch02.check_attention_weights
    assert check(s02.attention_weights).passed
    unscaled = check(lambda q, k: torch.softmax(q @ k.T, dim=-1))
    assert not unscaled.passed and "√d_k" in unscaled.message
    by_d = check(lambda q, k: torch.softmax(q @ k.T / k.size(-1), dim=-1))
    assert not by_d.passed and "square root" in by_d.message
    wrong_dim = check(lambda q, k: torch.softmax(q @ k.T / math.sqrt(k.size(-1)), dim=0))
    assert not wrong_dim.passed and "dim=-1" in wrong_dim.message
    no_softmax = check(lambda q, k: q @ k.T / math.sqrt(k.size(-1)))
    assert not no_softmax.passed and "sum to one" in no_softmax.message
    shape = check(lambda q, k: s02.attention_weights(q, k).T)
    assert not shape.passed and "shape" in shape.message
    crash = check(lambda q, k: q @ k)
    assert not crash.passed and crash.attempted and "raised" in crash.message
    assert _not_attempted(check(_placeholder))


def test_masked_attention_check(s02: ModuleType) -> None:
    check = ch02.check_masked_attention
    assert check(s02.masked_attention).passed

    def weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return q @ k.T / math.sqrt(k.size(-1))

    ignored = check(lambda q, k, v, m: torch.softmax(weights(q, k), -1) @ v)
    assert not ignored.passed and "no effect" in ignored.message
    inverted = check(lambda q, k, v, m: s02.masked_attention(q, k, v, ~m))
    assert not inverted.passed and "inverted" in inverted.message
    after = check(lambda q, k, v, m: (torch.softmax(weights(q, k), -1) * m) @ v)
    assert not after.passed and "before the softmax" in after.message
    unscaled = check(lambda q, k, v, m: torch.softmax((q @ k.T).masked_fill(~m, -1e9), -1) @ v)
    assert not unscaled.passed and unscaled.attempted
    assert _not_attempted(check(_placeholder))


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
    assert _not_attempted(check(_placeholder))


# --- chapter 03 -----------------------------------------------------------------------------


def test_split_heads_check(s03: ModuleType) -> None:
    check = ch03.check_split_heads
    assert check(s03.split_heads).passed
    naive = check(lambda x, nh: x.view(x.size(0), nh, x.size(1), x.size(2) // nh))
    assert not naive.passed and "mixed up" in naive.message
    no_transpose = check(lambda x, nh: x.view(x.size(0), x.size(1), nh, x.size(2) // nh))
    assert not no_transpose.passed and "transpose" in no_transpose.message
    wrong_shape = check(lambda x, nh: x)
    assert not wrong_shape.passed and "expected shape" in wrong_shape.message
    assert _not_attempted(check(_placeholder))


def test_parameter_count_check(s03: ModuleType) -> None:
    check = ch03.check_attention_parameter_count
    assert check(s03.count_attention_parameters).passed
    no_bias = check(lambda h, nh: 4 * h * h)
    assert not no_bias.passed and "biases" in no_bias.message
    no_output = check(lambda h, nh: 3 * (h * h + h))
    assert not no_output.passed and "output projection" in no_output.message
    per_head = check(lambda h, nh: nh * 4 * (h * h + h))
    assert not per_head.passed and "num_heads" in per_head.message
    text = check(lambda h, nh: "a lot")
    assert not text.passed and "int" in text.message
    assert _not_attempted(check(_placeholder))


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
    assert _not_attempted(check(_placeholder))


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
