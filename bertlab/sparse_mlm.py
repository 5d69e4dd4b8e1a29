"""A faster pretraining forward pass: the last layer and the MLM head only where losses look.

Masked-language-model pretraining scores only the positions that were masked (about 15%,
labels != -100), and next-sentence prediction reads only [CLS]. `SparseMlmPreTraining` runs a
`BertForPreTraining` with two shortcuts that give the same numbers there for less work:

1. the MLM head computes vocabulary logits only at the labelled positions, an (N, V) tensor
   instead of (B, T, V): with a vocabulary of thousands that tensor is the largest of the step;
2. the last encoder layer computes only the labelled positions and [CLS]: every token is still
   a key and a value there, but only those are queries and go through the feed-forward block,
   since no other vector of the last layer reaches a loss.

Everything else is `bertlab.model`'s own modules, called in the same order, so losses and
gradients equal the plain model's up to float rounding (its matrix products have fewer rows),
and equal bit for bit what the shipped course model was trained with (tests check both). It
is an `nn.Module` holding the model (no weights of its own), so that DistributedDataParallel
can wrap it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bertlab import validation
from bertlab.attention import MultiHeadSelfAttention
from bertlab.model import IGNORE_INDEX, BertForPreTraining, BertLayer


@dataclass
class SparseMlmOutput:
    """MLM logits at the labelled positions only, which `prediction_mask` locates, and NSP's."""

    prediction_logits: Tensor  # (N, V): row i is the i-th True of prediction_mask, row-major
    prediction_mask: Tensor  # (B, T) bool: labels != -100
    seq_relationship_logits: Tensor  # (B, 2)


class SparseMlmPreTraining(nn.Module):
    """Wraps a BertForPreTraining: forward runs the last layer and the MLM head only at
    labelled positions."""

    def __init__(self, model: BertForPreTraining) -> None:
        super().__init__()
        if not isinstance(model, BertForPreTraining):
            raise TypeError(f"SparseMlmPreTraining wraps a bertlab BertForPreTraining, "
                            f"got {type(model).__name__}")
        self.model = model

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None,
                token_type_ids: Tensor | None, labels: Tensor) -> SparseMlmOutput:
        """MLM logits (N, V) at the N labelled positions of labels (B, T), and NSP logits (B, 2)."""
        bert, config = self.model.bert, self.model.config
        mask = validation.check_inputs(config, input_ids, attention_mask, token_type_ids)
        validation.check_labels("labels", labels, (*input_ids.shape, config.vocab_size))
        prediction_mask = labels != IGNORE_INDEX  # (B, T)
        keep = prediction_mask.clone()
        keep[:, 0] = True  # the pooler reads [CLS]
        x = bert.embeddings(input_ids, token_type_ids)  # (B, T, H)
        *layers, last = bert.encoder.layers
        for layer in layers:
            x, _ = layer(x, mask)  # (B, T, H)
        x = layer_at(last, x, mask, keep)  # (B, T, H), zero where not kept
        return SparseMlmOutput(
            prediction_logits=self.model.mlm(x[prediction_mask]),  # (N, V)
            prediction_mask=prediction_mask,
            seq_relationship_logits=self.model.nsp(bert.pooler(x)),  # (B, 2)
        )


def layer_at(layer: BertLayer, x: Tensor, attention_mask: Tensor | None, keep: Tensor) -> Tensor:
    """What `layer(x, attention_mask)[0]` holds at the `keep` positions (B, T) bool; zeros
    elsewhere.

    Kept positions are gathered left-aligned into (B, K, H), K = the most kept in any row;
    rows with fewer fill the rest with spare slots, computed and then zeroed.
    """
    batch, seq_len, hidden = x.shape
    counts = keep.sum(1)  # (B,)
    width = int(counts.max())  # K
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :width]  # (B, K)
    index = order.unsqueeze(-1).expand(-1, -1, hidden)  # (B, K, H)
    rows = x.gather(1, index)  # (B, K, H): kept tokens first, then spare slots
    attended = attend_from(layer.attention, rows, x, attention_mask)  # (B, K, H)
    h = layer.attention_norm(rows + layer.dropout(attended))  # add & norm, as BertLayer
    h = layer.output_norm(h + layer.dropout(layer.feed_forward(h)))  # (B, K, H)
    real = torch.arange(width, device=x.device) < counts.unsqueeze(1)  # (B, K): not spare
    return x.new_zeros(batch, seq_len, hidden).scatter(1, index, h * real.unsqueeze(-1))


def attend_from(attention: MultiHeadSelfAttention, queries: Tensor, x: Tensor,
                attention_mask: Tensor | None) -> Tensor:
    """Self-attention's output (B, K, H) for the query vectors `queries` (B, K, H) alone:
    every token of x (B, T, H) still answers as a key and a value."""
    batch, seq_len, _ = x.shape
    mask = None if attention_mask is None else attention_mask.view(batch, 1, 1, seq_len)
    q = attention.split_heads(attention.query(queries))  # (B, nh, K, hs)
    k = attention.split_heads(attention.key(x))  # (B, nh, T, hs)
    v = attention.split_heads(attention.value(x))  # (B, nh, T, hs)
    dropout_p = attention.dropout if attention.training else 0.0
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    context = context.transpose(1, 2).reshape(batch, queries.size(1), attention.hidden_size)
    return attention.output(context)  # (B, K, H)
