"""Reference solutions for chapter 03's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from bertlab.attention import MultiHeadSelfAttention

# Predictions written before measuring (never graded; these are reasoned, not measured):
# heads slice the same four H x H projections, and 12 products of width 64 add up to one of
# width 768, so the FLOPs should not move;
HEADS_FLOPS_PREDICTION = 1.0
# a head compares q = x W_qᵀ and k = x W_kᵀ of size 64, so x_i W_qᵀ W_k x_jᵀ has rank <= 64.
HEAD_RANK_PREDICTION = 64


def attention_flops(hidden_size: int, num_heads: int, seq_len: int) -> int:
    """FLOPs of one forward pass of an attention layer, counted by PyTorch's FlopCounterMode."""
    layer = MultiHeadSelfAttention(hidden_size, num_heads).eval()
    x = torch.randn(1, seq_len, hidden_size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        layer(x, output_attentions=True)  # the explicit path: its matrix products are counted
    return counter.get_total_flops()


def head_score_rank(hidden_size: int, num_heads: int) -> int:
    """Rank of head 0's score matrix W_qᵀ W_k, the (H, H) matrix with q·k = x_i W_qᵀ W_k x_jᵀ."""
    layer = MultiHeadSelfAttention(hidden_size, num_heads)
    head_size = hidden_size // num_heads
    w_q = layer.query.weight[:head_size]  # (hs, H): head 0's rows of the query projection
    w_k = layer.key.weight[:head_size]
    return int(torch.linalg.matrix_rank(w_q.T @ w_k))


def next_token_projections(seq_len: int, scale: float = 20.0) -> tuple[torch.Tensor, torch.Tensor]:
    """W_q moves each one-hot position one step forward; W_k leaves positions as they are."""
    w_k = torch.eye(seq_len)
    w_q = torch.diag(torch.ones(seq_len - 1), diagonal=1) * scale  # row i -> column i+1
    return w_q, w_k


CONCEPT_ANSWERS = {"03": {1: "c", 2: "b", 3: "d", 4: "a", 5: "b"}}
