"""Chapter 03 exercise checks: what 12 heads cost and what one head can compare (predict, then
measure), a hand-built next-token head, and the chapter's concept questions."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from bertlab.attention import MultiHeadSelfAttention, scaled_dot_product_attention
from bertlab.exercises import (
    CheckResult,
    check_measurement,
    failed,
    no_prediction,
    passed,
    run_answer,
)
from bertlab.exercises.attention import check_prediction
from bertlab.exercises.concepts import Question, Quiz

HIDDEN, HEADS, SEQ_LEN = 768, 12, 128  # one BERT-base attention layer on a 128-token input


def attention_flops(hidden_size: int, num_heads: int, seq_len: int, weights: bool = True) -> int:
    """The check's own count: FLOPs of one forward pass of MultiHeadSelfAttention on one input.

    With `weights` the explicit path runs (it returns the attention weights); without it,
    PyTorch's fused kernel, whose FLOPs the counter does not see on CPU.
    """
    torch.manual_seed(0)
    layer = MultiHeadSelfAttention(hidden_size, num_heads).eval()
    x = torch.randn(1, seq_len, hidden_size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        layer(x, output_attentions=weights)
    return counter.get_total_flops()


def check_heads_flops(
    prediction: float | None, answer: Callable[[int, int, int], int]
) -> CheckResult:
    """Grade the heads experiment: FLOPs of 12 heads over FLOPs of 1 head, H=768, T=128."""
    exercise = "number of heads"
    hint = ("build MultiHeadSelfAttention(hidden_size, num_heads), run it on "
            "torch.randn(1, seq_len, hidden_size) with output_attentions=True inside "
            "`with FlopCounterMode(display=False) as counter:`, and return "
            "counter.get_total_flops()")
    if prediction is None:
        return no_prediction(exercise)
    counts = {}
    for heads in (1, HEADS):
        result = run_answer(exercise, hint, answer, HIDDEN, heads, SEQ_LEN)
        if isinstance(result, CheckResult):
            return result
        if isinstance(result, torch.Tensor) and result.numel() == 1:
            result = result.item()
        if not isinstance(result, int | float) or result <= 0:
            return failed(exercise, f"return the FLOP count, a positive number; got {result!r}",
                          hint)
        counts[heads] = result
    expected = {heads: attention_flops(HIDDEN, heads, SEQ_LEN) for heads in counts}
    fused = attention_flops(HIDDEN, HEADS, SEQ_LEN, weights=False)
    if counts[HEADS] == fused and counts[1] == fused:
        return failed(exercise, "your counts miss the attention itself: on CPU the counter does "
                                "not see the fused kernel's FLOPs; pass output_attentions=True "
                                "so q @ kᵀ and weights @ v run as counted matrix products.", hint)
    for heads, count in counts.items():
        if count != expected[heads]:
            return failed(exercise, f"for {heads} head(s) this layer's forward pass counts "
                                    f"{expected[heads]:,} FLOPs, you returned {count:,}; count "
                                    "the whole layer on one (1, 128, 768) input.", hint)
    ratio = counts[HEADS] / counts[1]
    projections = 4 * 2 * SEQ_LEN * HIDDEN * HIDDEN
    lesson = (f"12 heads cost exactly what 1 head costs ({counts[HEADS]:,} FLOPs): the four "
              f"projections are {projections / counts[HEADS]:.0%} of it whatever the heads, and "
              "q @ kᵀ and weights @ v do 12 products of 64-wide slices instead of one of 768. "
              "Heads are free in parameters and FLOPs; what grows 12-fold is the number of "
              "attention maps kept in memory, 12 x 128 x 128 per input.")
    return check_measurement(exercise, prediction, ratio, expected[HEADS] / expected[1], 1e-9,
                             hint=hint, lesson=lesson)


def head_score_rank(hidden_size: int, num_heads: int) -> int:
    """The check's own measurement: the rank of head 0's (H, H) score matrix W_qᵀ W_k."""
    torch.manual_seed(0)
    layer = MultiHeadSelfAttention(hidden_size, num_heads)
    rows = slice(0, hidden_size // num_heads)  # head 0's rows of each projection
    w_q, w_k = (linear.weight[rows].detach() for linear in (layer.query, layer.key))
    return int(torch.linalg.matrix_rank(w_q.T @ w_k))  # q·k = x_i M x_jᵀ with M = W_qᵀ W_k


def check_head_rank(
    prediction: float | None, answer: Callable[[int, int], int] | int
) -> CheckResult:
    """Grade the rank experiment: the rank of one head's score matrix in BERT-base (64)."""
    exercise = "what one head can compare"
    hint = ("take head 0's rows of the projections, wq = layer.query.weight[:64] and wk = "
            "layer.key.weight[:64] (each (64, 768)), and return "
            "torch.linalg.matrix_rank(wq.T @ wk)")
    expected = head_score_rank(HIDDEN, HEADS)
    head_size = HIDDEN // HEADS
    mistakes = [
        (HIDDEN - 4, 4.5, "that is (about) the rank of the whole layer's W_qᵀ W_k, all heads "
                          "together; slice out head 0's 64 rows of each projection first."),
        (HEADS, 0.5, "that is the number of heads; measure the rank of one head's score matrix."),
        (HIDDEN // HEADS // 2, 0.5, "check which slice you took: head 0 owns rows 0..63 of each "
                                    "projection's weight."),
    ]
    lesson = (f"A head's score matrix is (768 x 768) but has rank {expected}: a head compares "
              f"tokens through only {head_size} directions, its head size. One head of 768 could "
              "compare through all 768 but gives one attention pattern; 12 heads give 12 "
              "patterns, each through its own 64-dimensional view, for the same parameters.")
    return check_prediction(exercise, prediction, answer, (HIDDEN, HEADS), expected, 0.5,
                            mistakes, hint=hint, lesson=lesson)


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
            return failed(exercise, "return a pair of tensors (W_q, W_k)", hint)
        w_q, w_k = (w.float() for w in result)
        if w_q.dim() != 2 or w_k.dim() != 2 or w_q.shape[0] != seq_len or w_q.shape != w_k.shape:
            return failed(exercise, f"W_q and W_k should both be (T, d) = ({seq_len}, d), got "
                                    f"{tuple(w_q.shape)} and {tuple(w_k.shape)}", hint)
        positions = torch.eye(seq_len)  # one-hot position of each token, (T, T)
        _, weights = scaled_dot_product_attention(positions @ w_q, positions @ w_k, positions)
        rows = torch.arange(seq_len - 1)
        on_next = weights[rows, rows + 1]
        if bool((on_next >= 0.9).all()):
            continue
        peaks = weights[rows].argmax(-1)
        if bool((peaks[1:] == rows[1:] - 1).all()):
            return failed(exercise, "that is a previous-token head; shift the queries the other "
                                    "way.", hint)
        if bool((peaks == rows).all()):
            return failed(exercise, "each token attends to itself; shift the queries by one.", hint)
        if bool((peaks == rows + 1).all()):
            return failed(exercise, f"the next token wins but softly (as low as "
                                    f"{float(on_next.min()):.2f}); scale the queries up: the "
                                    "scores are divided by √d.")
        return failed(exercise, f"for T={seq_len}, token i should put at least 0.9 of its "
                                "attention on token i+1.", hint)
    return passed(exercise, "every token looks at the next one: a hand-built head.")


QUIZZES = {
    "03": Quiz("03", (
        Question(
            "BERT-base splits H = 768 into 12 heads of 64. With 24 heads of 32 instead, how "
            "many parameters would one attention layer have?",
            {"a": "twice as many: each head has its own projections",
             "b": "half as many: each head is half as wide",
             "c": "the same: 4(H² + H) whatever the number of heads",
             "d": "the same, minus the output projection, which is not needed with more heads"},
            "c",
            "heads split the H outputs of the four H x H projections into slices; more "
            "heads means thinner slices, not more weights.",
            {"a": "each head's projections are slices of the same four H x H matrices; more "
                  "heads cut them thinner.",
             "b": "the slices are thinner but there are twice as many; the total is unchanged.",
             "d": "the output projection is still needed to mix the heads' slices."}),
        Question(
            "What would a multi-head layer lose without its output projection (keeping the "
            "concatenation of the heads)?",
            {"a": "nothing: concatenating the heads already mixes them",
             "b": "each output feature would carry one head's result only: what one head found "
                  "could not reach the features another head's slice feeds",
             "c": "the output would have the wrong shape, (B, nh, T, hs)",
             "d": "the attention weights would no longer sum to one"},
            "b",
            "after concatenation head h still fills only its own 64 features; the H x H "
            "output projection lets every output feature read every head.",
            {"a": "concatenation puts the heads side by side; no feature depends on two heads.",
             "c": "concatenation (transpose, then reshape) already gives (B, T, H).",
             "d": "the weights are computed before the output projection and sum to one "
                  "either way."}),
        Question(
            "A batch of 2 sentences of 16 tokens goes through a 12-head layer with H = 768. "
            "What is the shape of the attention weights it returns?",
            {"a": "(2, 16, 768)",
             "b": "(2, 12, 16, 64)",
             "c": "(12, 16, 16)",
             "d": "(2, 12, 16, 16)"},
            "d",
            "(batch, heads, query, key): every head has its own 16 x 16 map per sentence.",
            {"a": "that is the shape of the layer's output, not of the weights.",
             "b": "that is the shape of each head's context, weights @ v, before merging.",
             "c": "the batch dimension is kept: each sentence has its own maps."}),
        Question(
            "You split (B, T, H) into heads with x.view(B, nh, T, hs), skipping the view to "
            "(B, T, nh, hs) and the transpose. The shape is right; what goes wrong?",
            {"a": "a 'head' then holds pieces of several tokens' features, so its rows are "
                  "not tokens any more",
             "b": "nothing: view and transpose only change the order of the axes",
             "c": "PyTorch raises an error because the tensor is not contiguous",
             "d": "each head sees all H features of every token"},
            "a",
            "memory is laid out token by token; reading it as (nh, T, hs) cuts the first "
            "token's features across several 'tokens' of head 0.",
            {"b": "view reinterprets memory without moving it; only the transpose moves "
                  "the head axis while keeping each token's features together.",
             "c": "x is contiguous, so the view runs silently; that is what makes the bug "
                  "dangerous.",
             "d": "each head still gets hs numbers per row; they just come from the wrong "
                  "places."}),
        Question(
            "In the model view, one head's thumbnail is a single bright vertical column. What "
            "does that head do?",
            {"a": "every token attends to itself",
             "b": "every query puts its weight on the same key (like head 2 on [SEP])",
             "c": "one token attends to every other token equally",
             "d": "each token attends to the token before it"},
            "b",
            "columns are keys: a bright column means every row (query) chose that key.",
            {"a": "attending to itself draws the main diagonal, not a column.",
             "c": "one query spreading over all keys is a pale row, not a bright column.",
             "d": "the previous-token head draws the diagonal just below the main one."}),
    )),
}
