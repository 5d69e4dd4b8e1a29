"""Reference solutions for chapter 04's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import torch

from bertlab.model import BertConfig, BertLayer


def layer_norm(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
) -> torch.Tensor:
    """Normalize each token's features to mean 0, variance 1, then scale and shift."""
    mean = x.mean(-1, keepdim=True)
    variance = x.var(-1, keepdim=True, unbiased=False)  # divide by n, not n - 1
    return (x - mean) / torch.sqrt(variance + eps) * weight + bias


def encoder_layer(layer: BertLayer, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Post-LN: LN(x + attention(x)), then LN(h + feed_forward(h)) (dropout is off in eval)."""
    attended = layer.attention(x, mask)[0]
    h = layer.attention_norm(x + attended)
    return layer.output_norm(h + layer.feed_forward(h))


def count_pretraining_parameters(config: BertConfig) -> int:
    """Encoder + pooler + MLM head (tied decoder: only its bias) + NSP classifier."""
    H, V, I = config.hidden_size, config.vocab_size, config.intermediate_size  # noqa: N806
    embeddings = (V + config.max_position_embeddings + config.type_vocab_size) * H + 2 * H
    attention = 4 * (H * H + H) + 2 * H
    feed_forward = (H * I + I) + (I * H + H) + 2 * H
    pooler = H * H + H
    mlm = (H * H + H) + 2 * H + V
    nsp = 2 * H + 2
    layers = config.num_hidden_layers * (attention + feed_forward)
    return embeddings + layers + pooler + mlm + nsp


def previous_token_score(
    attentions: tuple[torch.Tensor, ...], attention_mask: torch.Tensor
) -> torch.Tensor:
    """(L, nh): mean weight each head puts on the previous token, over real token pairs."""
    weights = torch.stack(attentions)  # (L, B, nh, T, T)
    previous = torch.diagonal(weights, offset=-1, dim1=-2, dim2=-1)  # (L, B, nh, T-1): [i, i-1]
    mask = attention_mask.bool()
    valid = (mask[:, 1:] & mask[:, :-1]).float()[None, :, None, :]  # (1, B, 1, T-1)
    return (previous * valid).sum((1, 3)) / valid.expand_as(previous).sum((1, 3))
