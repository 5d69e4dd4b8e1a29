"""Reference solutions for chapter 02's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import math

import torch


def attention_weights(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d_k) over the keys: one row of weights per query."""
    scores = q @ k.T / math.sqrt(k.size(-1))  # (Tq, Tk)
    return torch.softmax(scores, dim=-1)


def masked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor
) -> torch.Tensor:
    """Attention in which padding keys (key_mask False) get exactly zero weight."""
    scores = q @ k.T / math.sqrt(k.size(-1))  # (Tq, Tk)
    scores = scores.masked_fill(~key_mask, float("-inf"))  # mask broadcasts over the queries
    return torch.softmax(scores, dim=-1) @ v  # (Tq, dv)


def causal_mask(seq_len: int) -> torch.Tensor:
    """True where query i may attend to key j, that is j <= i (no peeking ahead)."""
    return torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))
