"""Chapter 03 exercise checks: splitting into heads, counting parameters, building a head."""

from __future__ import annotations

from collections.abc import Callable

import torch

from bertlab.attention import MultiHeadSelfAttention, scaled_dot_product_attention
from bertlab.exercises import CheckResult, failed, passed, run_answer


def check_split_heads(answer: Callable[[torch.Tensor, int], torch.Tensor]) -> CheckResult:
    """Grade split_heads(x, num_heads): (B, T, H) -> (B, nh, T, hs), each head its own slice."""
    exercise = "split heads"
    hint = "x.view(B, T, num_heads, H // num_heads) and then .transpose(1, 2)"
    batch, seq_len, hidden, heads = 2, 5, 12, 3
    x = torch.arange(batch * seq_len * hidden, dtype=torch.float32).view(batch, seq_len, hidden)
    result = run_answer(exercise, hint, answer, x.clone(), heads)
    if isinstance(result, CheckResult):
        return result
    if not isinstance(result, torch.Tensor):
        return failed(exercise, f"return a torch tensor, got {type(result).__name__}")
    expected = x.view(batch, seq_len, heads, hidden // heads).transpose(1, 2)  # (B, nh, T, hs)
    if tuple(result.shape) == (batch, seq_len, heads, hidden // heads):
        return failed(exercise, "shape (B, T, nh, hs): now transpose(1, 2) to put heads before "
                                "tokens, so each head attends over its own (T, hs) matrix.")
    if tuple(result.shape) != tuple(expected.shape):
        return failed(exercise, f"expected shape (B, nh, T, hs) = {tuple(expected.shape)}, "
                                f"got {tuple(result.shape)}")
    if torch.equal(result, expected):
        return passed(exercise, "head h holds features h*hs:(h+1)*hs of every token.")
    if torch.equal(result, x.view(batch, heads, seq_len, hidden // heads)):
        return failed(exercise, "the shape is right but the numbers are mixed up: viewing straight "
                                "as (B, nh, T, hs) cuts across tokens. View as (B, T, nh, hs), "
                                "then transpose(1, 2).")
    return failed(exercise, "head h should hold features h*hs:(h+1)*hs of every token; "
                            "compare result[0, 1, 0] with x[0, 0, 4:8].")


def check_attention_parameter_count(answer: Callable[[int, int], int]) -> CheckResult:
    """Grade count_attention_parameters(hidden_size, num_heads) against the real module."""
    exercise = "parameter count"
    hint = "four H x H weight matrices (query, key, value, output), each with a bias of H"
    cases = [(768, 12), (768, 1), (256, 4), (384, 12)]
    answers = {}
    for hidden, heads in cases:
        result = run_answer(exercise, hint, answer, hidden, heads)
        if isinstance(result, CheckResult):
            return result
        if isinstance(result, torch.Tensor) and result.numel() == 1:
            result = int(result.item())
        if not isinstance(result, int):
            return failed(exercise, f"return an int, got {type(result).__name__}")
        answers[(hidden, heads)] = result
    if answers[(768, 12)] != answers[(768, 1)]:
        return failed(exercise, "your count changes with num_heads; splitting H into heads only "
                                "reshapes the projections and adds no parameters.")
    for (hidden, heads), result in answers.items():
        expected = sum(p.numel() for p in MultiHeadSelfAttention(hidden, heads).parameters())
        if result == expected:
            continue
        if result == 4 * hidden * hidden:
            return failed(exercise, "you counted the weights but not the biases (H each).")
        if result == 3 * (hidden * hidden + hidden):
            return failed(exercise, "you left out the output projection (a fourth H x H + H).")
        return failed(exercise, f"for hidden_size={hidden}: expected {expected:,}, got {result:,}")
    return passed(exercise, "4 (H² + H): 2,362,368 parameters per BERT-base attention layer.")


def check_next_token_head(
    answer: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
) -> CheckResult:
    """Grade next_token_projections(T) -> (W_q, W_k) making one-hot positions attend to i+1."""
    exercise = "next-token head"
    hint = "keys = positions as they are (identity); queries = each position moved one step " \
           "forward, times a large scale"
    for seq_len in (6, 9):
        result = run_answer(exercise, hint, answer, seq_len)
        if isinstance(result, CheckResult):
            return result
        if not (isinstance(result, tuple) and len(result) == 2
                and all(isinstance(w, torch.Tensor) for w in result)):
            return failed(exercise, "return a pair of tensors (W_q, W_k)")
        w_q, w_k = (w.float() for w in result)
        if w_q.dim() != 2 or w_k.dim() != 2 or w_q.shape[0] != seq_len or w_q.shape != w_k.shape:
            return failed(exercise, f"W_q and W_k should both be (T, d) = ({seq_len}, d), got "
                                    f"{tuple(w_q.shape)} and {tuple(w_k.shape)}")
        positions = torch.eye(seq_len)  # one-hot position of each token, (T, T)
        _, weights = scaled_dot_product_attention(positions @ w_q, positions @ w_k, positions)
        rows = torch.arange(seq_len - 1)
        on_next = weights[rows, rows + 1]
        if bool((on_next >= 0.9).all()):
            continue
        peaks = weights[rows].argmax(-1)
        if bool((peaks[1:] == rows[1:] - 1).all()):
            return failed(exercise, "that is a previous-token head; shift the queries the other "
                                    "way.")
        if bool((peaks == rows).all()):
            return failed(exercise, "each token attends to itself; shift the queries by one.")
        if bool((peaks == rows + 1).all()):
            return failed(exercise, f"the next token wins but softly (as low as "
                                    f"{float(on_next.min()):.2f}); scale the queries up: the "
                                    "scores are divided by √d.")
        return failed(exercise, f"for T={seq_len}, token i should put at least 0.9 of its "
                                "attention on token i+1.")
    return passed(exercise, "every token looks at the next one: a hand-built head.")
