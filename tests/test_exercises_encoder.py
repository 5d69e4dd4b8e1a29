"""Chapter 04: each check accepts the reference solution and rejects wrong answers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch
import torch.nn.functional as F
from conftest import load_solution

from bertlab.exercises import encoder as ch04

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    return load_solution("ch04_encoder")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def _not_attempted(result: object) -> bool:
    return not result.passed and not result.attempted  # type: ignore[attr-defined]


def test_layer_norm_check(solution: ModuleType) -> None:
    check = ch04.check_layer_norm
    assert check(solution.layer_norm).passed
    assert _not_attempted(check(_placeholder))

    def unbiased(x, w, b, eps):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) * w + b

    assert "unbiased" in check(unbiased).message

    def no_eps(x, w, b, eps):
        v = x.var(-1, keepdim=True, unbiased=False)
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(v) * w + b

    assert "eps" in check(no_eps).message
    assert "weight" in check(lambda x, w, b, eps: F.layer_norm(x, (8,), eps=eps)).message

    def over_tokens(x, w, b, eps):
        v = x.var(1, keepdim=True, unbiased=False)
        return (x - x.mean(1, keepdim=True)) / torch.sqrt(v + eps) * w + b

    assert "dim=-1" in check(over_tokens).message
    assert not check(lambda x, w, b, eps: x).passed
    assert "shape" in check(lambda x, w, b, eps: x[0]).message
    assert "raised" in check(lambda x, w, b, eps: x @ x).message


def test_encoder_layer_check(solution: ModuleType) -> None:
    check = ch04.check_encoder_layer
    assert check(solution.encoder_layer).passed
    assert _not_attempted(check(_placeholder))

    def pre_ln(layer, x, mask):
        h = x + layer.attention(layer.attention_norm(x), mask)[0]
        return h + layer.feed_forward(layer.output_norm(h))

    assert "pre-LN" in check(pre_ln).message

    def no_residual(layer, x, mask):
        h = layer.attention_norm(layer.attention(x, mask)[0])
        return layer.output_norm(layer.feed_forward(h))

    assert "residual" in check(no_residual).message
    assert "mask" in check(lambda layer, x, mask: solution.encoder_layer(layer, x, None)).message
    assert not check(lambda layer, x, mask: x).passed


def test_pretraining_parameter_count_check(solution: ModuleType) -> None:
    check = ch04.check_pretraining_parameter_count
    result = check(solution.count_pretraining_parameters)
    assert result.passed and "110,106,428" in result.message
    assert _not_attempted(check(_placeholder))
    untied = check(
        lambda c: solution.count_pretraining_parameters(c) + c.vocab_size * c.hidden_size
    )
    assert "tied" in untied.message
    no_nsp = check(lambda c: solution.count_pretraining_parameters(c) - 2 * c.hidden_size - 2)
    assert "NSP" in no_nsp.message
    no_bias = check(lambda c: solution.count_pretraining_parameters(c) - c.vocab_size)
    assert "bias" in no_bias.message
    assert "expected" in check(lambda c: 1).message
    assert "int" in check(lambda c: "many").message


def test_previous_token_score_check(solution: ModuleType) -> None:
    check = ch04.check_previous_token_score
    assert check(solution.previous_token_score).passed
    assert _not_attempted(check(_placeholder))

    def next_token(attentions, mask):
        weights = torch.stack(attentions)
        nxt = torch.diagonal(weights, offset=1, dim1=-2, dim2=-1)
        m = mask.bool()
        valid = (m[:, 1:] & m[:, :-1]).float()[None, :, None, :]
        return (nxt * valid).sum((1, 3)) / valid.expand_as(nxt).sum((1, 3))

    assert "next-token" in check(next_token).message

    def with_padding(attentions, mask):
        return solution.previous_token_score(attentions, torch.ones_like(mask))

    assert "padding" in check(with_padding).message
    assert "shape" in check(lambda a, m: torch.zeros(3)).message
    assert not check(lambda a, m: torch.zeros(len(a), a[0].shape[1])).passed


def test_solutions_agree_with_the_model_on_real_numbers(solution: ModuleType) -> None:
    # the reference solution's score is a real measurement: a pure previous-token pattern scores 1
    seq_len = 6
    weights = torch.zeros(1, 1, seq_len, seq_len)
    weights[0, 0, 0, 0] = 1.0
    for i in range(1, seq_len):
        weights[0, 0, i, i - 1] = 1.0
    score = solution.previous_token_score((weights,), torch.ones(1, seq_len))
    assert torch.allclose(score, torch.ones(1, 1))
