"""Scaled dot-product attention and BERT's multi-head self-attention (chapters 02 and 03).

Two paths compute the same thing. The explicit one, `scaled_dot_product_attention`, writes
the math out step by step and returns the attention weights so they can be looked at. The
fused one calls `torch.nn.functional.scaled_dot_product_attention`, which never builds the
(T, T) weight matrix in Python and is what the module uses when nobody asks for weights.
Tests check that the two agree.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Attend each query to every allowed key, step by step, so the weights can be inspected.

    q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv); mask is bool and broadcastable to
    (..., Tq, Tk), True where the query may attend to the key. Returns the output
    (..., Tq, dv) and the weights (..., Tq, Tk) before dropout. Masked keys get exactly zero
    weight; a query whose keys are all masked gets all-zero weights (and a zero output), as
    torch's fused kernel does.
    """
    if q.size(-1) != k.size(-1):
        raise ValueError(
            f"queries and keys must have the same last dimension, got {q.size(-1)} and {k.size(-1)}"
        )
    if k.size(-2) != v.size(-2):
        raise ValueError(
            f"keys and values must have the same length, got {k.size(-2)} and {v.size(-2)}"
        )
    if mask is not None and mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be a bool tensor (True = may attend), got dtype {mask.dtype}; "
            "convert a 0/1 padding mask with mask.bool()"
        )
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (..., Tq, Tk)
    if mask is not None:
        # exp(-inf) is already 0; this also turns a fully masked row's NaNs into zeros
        weights = weights.masked_fill(~mask, 0.0)
    dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0.0 else weights
    output = dropped @ v  # (..., Tq, dv)
    return output, weights


class MultiHeadSelfAttention(nn.Module):
    """BERT's self-attention: project to heads, attend within each head, merge, project back.

    Submodules `query`, `key`, `value` and `output` map one-to-one onto BERT's
    `attention.self.{query,key,value}` and `attention.output.dense`. Residual and LayerNorm
    belong to the encoder layer, not here.
    """

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if hidden_size <= 0 or num_heads <= 0:
            raise ValueError(
                f"hidden_size and num_heads must be positive, got {hidden_size} and {num_heads}"
            )
        if hidden_size % num_heads != 0:
            raise ValueError(
                f"hidden_size ({hidden_size}) must be divisible by num_heads ({num_heads})"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.head_size = hidden_size // num_heads
        self.dropout = dropout
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, head_size={self.head_size}, dropout={self.dropout}"

    def _check_inputs(self, hidden_states: Tensor, attention_mask: Tensor | None) -> None:
        if not isinstance(hidden_states, Tensor):
            raise TypeError(f"hidden_states must be a tensor, got {type(hidden_states).__name__}")
        if hidden_states.dim() != 3:
            raise ValueError(
                "hidden_states must have shape (batch, seq_len, hidden_size), "
                f"got {hidden_states.dim()} dimensions: {tuple(hidden_states.shape)}"
            )
        if hidden_states.size(-1) != self.hidden_size:
            raise ValueError(
                f"hidden_states has hidden size {hidden_states.size(-1)}, but this attention "
                f"layer was built for hidden_size={self.hidden_size}"
            )
        if attention_mask is not None:
            batch, seq_len = hidden_states.shape[:2]
            if tuple(attention_mask.shape) != (batch, seq_len):
                raise ValueError(
                    f"attention_mask must have shape (batch, seq_len) = {(batch, seq_len)} "
                    f"with 1 for real tokens and 0 for padding, got {tuple(attention_mask.shape)}"
                )

    def _split(self, projected: Tensor) -> Tensor:
        """(B, T, H) -> (B, nh, T, hs): one slice of the hidden size per head."""
        batch, length, _ = projected.shape
        return projected.view(batch, length, self.num_heads, self.head_size).transpose(1, 2)

    def forward(
        self,
        hidden_states: Tensor,
        attention_mask: Tensor | None = None,
        output_attentions: bool = False,
        queries: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Mix information across positions; return (output (B, Q, H), weights or None).

        attention_mask (B, T): 1/True for real tokens, 0/False for padding. Weights are
        (B, nh, Q, T) and only computed (by the explicit path) when output_attentions is set.
        queries (B, Q, H): the vectors that ask, when only some positions need an output
        (every token still answers as a key and value); by default every token asks, Q = T.
        """
        self._check_inputs(hidden_states, attention_mask)
        if queries is not None:
            self._check_inputs(queries, None)
        batch, seq_len, _ = hidden_states.shape
        mask = None
        if attention_mask is not None:
            if attention_mask.dtype != torch.bool:
                attention_mask = attention_mask != 0
            mask = attention_mask.view(batch, 1, 1, seq_len)  # (B, 1, 1, T): keys only
        asking = hidden_states if queries is None else queries
        q = self._split(self.query(asking))  # (B, nh, Q, hs)
        k = self._split(self.key(hidden_states))  # (B, nh, T, hs)
        v = self._split(self.value(hidden_states))  # (B, nh, T, hs)
        dropout_p = self.dropout if self.training else 0.0
        if output_attentions:
            context, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p)
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
            weights = None
        # context (B, nh, Q, hs) -> (B, Q, nh, hs) -> (B, Q, H)
        context = context.transpose(1, 2).reshape(batch, asking.size(1), self.hidden_size)
        return self.output(context), weights
