"""Reference solutions for chapter 04's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import torch

from bertlab.model import BertConfig, BertLayer, BertModel


def pre_ln_layer(layer: BertLayer, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Pre-LN: x + attention(LN(x)), then h + feed_forward(LN(h)) (dropout is off in eval)."""
    h = x + layer.attention(layer.attention_norm(x), mask)[0]
    return h + layer.feed_forward(layer.output_norm(h))


def measure_residual_growth() -> float:
    """Mean token norm after 24 fresh pre-LN layers over the input's (seed 0, as the notebook)."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=10, hidden_size=64, num_hidden_layers=24,
                        num_attention_heads=4, intermediate_size=256)
    layers = [BertLayer(config).eval() for _ in range(24)]
    x = torch.randn(4, 16, config.hidden_size)
    h = x
    with torch.no_grad():
        for layer in layers:
            h = pre_ln_layer(layer, h, None)
    return (h.norm(dim=-1).mean() / x.norm(dim=-1).mean()).item()


def measure_embedding_share(config: BertConfig) -> float:
    """Fraction of BertModel(config)'s parameters in its embeddings, counted on the meta device."""
    with torch.device("meta"):
        model = BertModel(config)
    embeddings = sum(p.numel() for p in model.embeddings.parameters())
    return embeddings / sum(p.numel() for p in model.parameters())


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


def count_previous_token_heads(
    attentions: tuple[torch.Tensor, ...], attention_mask: torch.Tensor
) -> int:
    """Heads that put more than a quarter of their weight on the previous token."""
    return int((previous_token_score(attentions, attention_mask) > 0.25).sum())


def score_without_positions(model: BertModel, encoded: dict[str, torch.Tensor]) -> float:
    """The strongest previous-token head's score after zeroing the position embeddings."""
    positions = model.embeddings.position_embeddings.weight
    with torch.no_grad():
        scores = previous_token_score(model(**encoded, output_attentions=True).attentions,
                                      encoded["attention_mask"])
        layer, head = divmod(int(scores.argmax()), scores.shape[1])
        saved = positions.clone()
        positions.zero_()                       # no positions at all
        blind = previous_token_score(model(**encoded, output_attentions=True).attentions,
                                     encoded["attention_mask"])
        positions.copy_(saved)                  # put them back
    return blind[layer, head].item()


CONCEPT_ANSWERS = {
    "04a": {1: "a", 2: "b", 3: "c", 4: "b"},
    "04b": {1: "a", 2: "a", 3: "b", 4: "b"},
}
