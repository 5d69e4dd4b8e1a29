"""Scaled dot-product attention and BERT's multi-head self-attention (chapters 02 and 03).

Two paths compute the same thing. `scaled_dot_product_attention` writes the math out step
by step and returns the weights so they can be looked at. When nobody asks for the weights,
the module calls torch's fused `F.scaled_dot_product_attention` instead, which never builds
the (T, T) weight matrix in Python. Tests check that the two agree.
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

    q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv); mask is bool, broadcastable to
    (..., Tq, Tk), True where the query may attend to the key. Returns the output (..., Tq, dv)
    and the weights (..., Tq, Tk) before dropout. Masked keys get exactly zero weight; a query
    whose keys are all masked gets all-zero weights (and output), as torch's fused kernel does.
    """
    if q.size(-1) != k.size(-1):
        raise ValueError(f"queries and keys must have the same last dimension, "
                         f"got {q.size(-1)} and {k.size(-1)}")
    if k.size(-2) != v.size(-2):
        raise ValueError(f"keys and values must have the same length, "
                         f"got {k.size(-2)} and {v.size(-2)}")
    if mask is not None and mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True = may attend), got dtype {mask.dtype}; "
                        "convert a 0/1 padding mask with mask.bool()")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (..., Tq, Tk)
    if mask is not None:  # exp(-inf) is already 0; this also turns a fully masked row's NaNs to 0
        weights = weights.masked_fill(~mask, 0.0)
    dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0.0 else weights
    return dropped @ v, weights  # (..., Tq, dv), (..., Tq, Tk)


class MultiHeadSelfAttention(nn.Module):
    """BERT's self-attention: project to heads, attend within each head, merge, project back.

    `query`, `key`, `value` and `output` are BERT's `attention.self.{query,key,value}` and
    `attention.output.dense`. Residual and LayerNorm belong to the encoder layer, not here.
    """

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if hidden_size <= 0 or num_heads <= 0:
            raise ValueError(f"hidden_size and num_heads must be positive, "
                             f"got {hidden_size} and {num_heads}")
        if hidden_size % num_heads != 0:
            raise ValueError(f"hidden_size ({hidden_size}) must be divisible by "
                             f"num_heads ({num_heads})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.hidden_size, self.num_heads, self.dropout = hidden_size, num_heads, dropout
        self.head_size = hidden_size // num_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, head_size={self.head_size}, dropout={self.dropout}"

    def split_heads(self, x: Tensor) -> Tensor:
        """(B, T, H) -> (B, nh, T, hs): one slice of the hidden size per head."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_size).transpose(1, 2)

    def forward(
        self, x: Tensor, attention_mask: Tensor | None = None, output_attentions: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Mix information across positions: the output (B, T, H) and the weights (or None).

        attention_mask (B, T): 1/True for real tokens, 0/False for padding. The weights
        (B, nh, T, T) come from the explicit path, only when output_attentions is set.
        """
        self._check_inputs(x, attention_mask)
        batch, seq_len, _ = x.shape
        mask = None
        if attention_mask is not None:  # (B, 1, 1, T): hides padding keys from every query
            mask = attention_mask.bool().view(batch, 1, 1, seq_len)
        q = self.split_heads(self.query(x))  # (B, nh, T, hs)
        k = self.split_heads(self.key(x))  # (B, nh, T, hs)
        v = self.split_heads(self.value(x))  # (B, nh, T, hs)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if output_attentions:
            context, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p)
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        context = context.transpose(1, 2).reshape(batch, seq_len, self.hidden_size)  # (B, T, H)
        return self.output(context), weights

    def _check_inputs(self, x: Tensor, attention_mask: Tensor | None) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"hidden_states must be a tensor, got {type(x).__name__}")
        if x.dim() != 3:
            raise ValueError(f"hidden_states must have shape (batch, seq_len, hidden_size), "
                             f"got {x.dim()} dimensions: {tuple(x.shape)}")
        if x.size(-1) != self.hidden_size:
            raise ValueError(f"hidden_states has hidden size {x.size(-1)}, but this attention "
                             f"layer was built for hidden_size={self.hidden_size}")
        if attention_mask is not None and tuple(attention_mask.shape) != tuple(x.shape[:2]):
            raise ValueError(f"attention_mask must have shape (batch, seq_len) = "
                             f"{tuple(x.shape[:2])} with 1 for real tokens and 0 for padding, "
                             f"got {tuple(attention_mask.shape)}")
