"""Chapter 02 exercise checks: attention weights by hand, a padding mask, a causal mask."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from bertlab.exercises import CheckResult, failed, passed, run_answer


def _inputs(seed: int, *shapes: tuple[int, ...]) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=generator) * 2 for shape in shapes]


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=1e-5, rtol=1e-4)


def _as_tensor(
    exercise: str, value: object, shape: tuple[int, ...], what: str
) -> CheckResult | None:
    if not isinstance(value, torch.Tensor):
        return failed(exercise, f"return {what} as a torch tensor, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        return failed(exercise, f"{what} should have shape {shape}, got {tuple(value.shape)}")
    return None


def check_attention_weights(
    answer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> CheckResult:
    """Grade attention_weights(q, k) -> (Tq, Tk): softmax(q kᵀ / √d_k) over the keys."""
    exercise = "attention weights"
    hint = "scores = q @ k.T / math.sqrt(d_k), then torch.softmax(scores, dim=-1)"
    q, k = _inputs(0, (4, 8), (6, 8))
    result = run_answer(exercise, hint, answer, q.clone(), k.clone())
    if isinstance(result, CheckResult):
        return result
    problem = _as_tensor(exercise, result, (4, 6), "the weights (4 queries x 6 keys)")
    if problem is not None:
        return problem
    scores = q @ k.T
    if _same(result, torch.softmax(scores / math.sqrt(8), dim=-1)):
        return passed(exercise, "your weights equal softmax(q kᵀ / √d_k), row by row.")
    if _same(result, torch.softmax(scores, dim=-1)):
        return failed(exercise, "the scores are not scaled: divide q kᵀ by √d_k before softmax.")
    if _same(result, torch.softmax(scores / 8, dim=-1)):
        return failed(exercise, "you divided by d_k; divide by its square root, √d_k.")
    if _same(result, torch.softmax(scores / math.sqrt(8), dim=0)):
        return failed(
            exercise,
            "softmax ran over the queries (dim=0); each query's weights over the keys must sum "
            "to one, so use dim=-1.",
        )
    if not torch.allclose(result.sum(-1), torch.ones(4), atol=1e-4):
        return failed(exercise, "each row (one query) must sum to one: did you apply softmax?")
    return failed(exercise, "the weights differ from softmax(q kᵀ / √d_k); compare step by step.")


def check_masked_attention(
    answer: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> CheckResult:
    """Grade masked_attention(q, k, v, key_mask) -> (Tq, dv) with padding keys ignored."""
    exercise = "padding mask"
    hint = "set the scores of padding keys to float('-inf') with masked_fill BEFORE the softmax"
    q, k, v = _inputs(1, (5, 4), (5, 4), (5, 3))
    key_mask = torch.tensor([True, True, True, False, False])  # two padding tokens at the end
    result = run_answer(exercise, hint, answer, q.clone(), k.clone(), v.clone(), key_mask.clone())
    if isinstance(result, CheckResult):
        return result
    problem = _as_tensor(exercise, result, (5, 3), "the output (5 queries x 3 value dims)")
    if problem is not None:
        return problem
    scores = q @ k.T / math.sqrt(4)

    def attend(weights: torch.Tensor) -> torch.Tensor:
        return weights @ v

    expected = attend(torch.softmax(scores.masked_fill(~key_mask, float("-inf")), dim=-1))
    if _same(result, expected):
        return passed(exercise, "padding keys get zero weight and the real keys share all of it.")
    if _same(result, attend(torch.softmax(scores, dim=-1))):
        return failed(exercise, "the mask had no effect: the padding keys still get weight.")
    if _same(result, attend(torch.softmax(scores.masked_fill(key_mask, float("-inf")), dim=-1))):
        return failed(
            exercise, "the mask is inverted: True marks a real token, so hide the False keys."
        )
    if _same(result, attend(torch.softmax(scores, dim=-1) * key_mask)):
        return failed(
            exercise,
            "you zeroed the weights after the softmax, so rows no longer sum to one; mask the "
            "scores with -inf before the softmax instead.",
        )
    return failed(exercise, "the output differs from attention with the padding keys masked out.")


def check_causal_mask(answer: Callable[[int], torch.Tensor]) -> CheckResult:
    """Grade causal_mask(T) -> bool (T, T), True where query i may see key j (j <= i)."""
    exercise = "causal mask"
    hint = "torch.tril(torch.ones(T, T, dtype=torch.bool)) keeps the diagonal and everything below"
    for seq_len in (1, 4, 7):
        result = run_answer(exercise, hint, answer, seq_len)
        if isinstance(result, CheckResult):
            return result
        problem = _as_tensor(exercise, result, (seq_len, seq_len), f"the mask for T={seq_len}")
        if problem is not None:
            return problem
        expected = torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))
        if result.dtype != torch.bool:
            return failed(
                exercise, f"return a bool tensor (True = may attend), got dtype {result.dtype}"
            )
        if torch.equal(result, expected):
            continue
        if torch.equal(result, expected.T):
            return failed(exercise, "that is transposed: row i (a query) may see keys j <= i, "
                                    "not the future ones.")
        if torch.equal(result, torch.tril(expected, diagonal=-1)):
            return failed(exercise, "a token may attend to itself: keep the diagonal True.")
        return failed(exercise, f"for T={seq_len} the mask should be lower-triangular with "
                                "its diagonal, True on and below it.")
    return passed(exercise, "each token sees itself and the tokens before it, never after.")
