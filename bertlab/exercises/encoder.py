"""Chapter 04 exercise checks: LayerNorm, a post-LN encoder layer, parameter counts, head scores."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from bertlab.exercises import CheckResult, failed, passed, run_answer
from bertlab.model import BertConfig, BertForPreTraining, BertLayer


def _as_tensor(exercise: str, result: object, shape: tuple[int, ...]) -> CheckResult | None:
    """A failed result when `result` is not a tensor of `shape`, else None."""
    if not isinstance(result, torch.Tensor):
        return failed(exercise, f"return a torch tensor, got {type(result).__name__}")
    if tuple(result.shape) != shape:
        return failed(exercise, f"expected shape {shape}, got {tuple(result.shape)}")
    return None


def check_layer_norm(
    answer: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor],
) -> CheckResult:
    """Grade layer_norm(x, weight, bias, eps) against torch's, with feedback on common slips."""
    exercise = "LayerNorm by hand"
    hint = "mean and (biased) variance over the last dimension, (x - mean) / sqrt(var + eps)"
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, generator=generator) * 3 + 1
    x[0, 0] = torch.tensor([1.0] * 7 + [1.001])  # a nearly constant vector: here eps matters
    weight = torch.rand(8, generator=generator) + 0.5
    bias = torch.randn(8, generator=generator)
    eps = 1e-5
    result = run_answer(exercise, hint, answer, x.clone(), weight, bias, eps)
    if isinstance(result, CheckResult):
        return result
    wrong = _as_tensor(exercise, result, tuple(x.shape))
    if wrong is not None:
        return wrong
    expected = F.layer_norm(x, (8,), weight, bias, eps)
    if torch.allclose(result, expected, atol=1e-5):
        return passed(exercise, "every token's vector now has mean 0 and variance 1 before the "
                                "learned scale and shift.")
    mean = x.mean(-1, keepdim=True)
    unbiased = (x - mean) / torch.sqrt(x.var(-1, keepdim=True, unbiased=True) + eps)
    if torch.allclose(result, unbiased * weight + bias, atol=1e-5):
        return failed(exercise, "you used the unbiased variance (divide by n - 1): LayerNorm "
                                "divides by n, as x.var(-1, unbiased=False) does.")
    no_eps = (x - mean) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False))
    if torch.allclose(result, no_eps * weight + bias, atol=1e-4):
        return failed(exercise, "add eps inside the square root: sqrt(var + eps).")
    plain = F.layer_norm(x, (8,), eps=eps)
    if torch.allclose(result, plain, atol=1e-5):
        return failed(exercise, "normalized correctly; now scale by weight and add bias.")
    over_tokens = (x - x.mean(1, keepdim=True)) / torch.sqrt(
        x.var(1, keepdim=True, unbiased=False) + eps
    )
    if torch.allclose(result, over_tokens * weight + bias, atol=1e-5):
        return failed(exercise, "you normalized across tokens (dim=1); LayerNorm normalizes each "
                                "token's own features (dim=-1).")
    return failed(exercise, "the numbers differ from torch.nn.functional.layer_norm; check the "
                            "mean and variance are taken over the last dimension.")


def check_encoder_layer(
    answer: Callable[[BertLayer, torch.Tensor, torch.Tensor | None], torch.Tensor],
) -> CheckResult:
    """Grade encoder_layer(layer, x, mask): BERT's post-LN layer written from its parts."""
    exercise = "an encoder layer from its parts"
    hint = ("a = layer.attention(x, mask)[0]; h = layer.attention_norm(x + a); then the same "
            "with layer.feed_forward and layer.output_norm")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=10, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=4, intermediate_size=32)
    layer = BertLayer(config).eval()
    with torch.no_grad():  # non-trivial LayerNorm parameters so a skipped norm shows
        for norm in (layer.attention_norm, layer.output_norm):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_(0.0, 0.3)
    x = torch.randn(2, 5, 16)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    with torch.no_grad():
        result = run_answer(exercise, hint, answer, layer, x.clone(), mask)
        if isinstance(result, CheckResult):
            return result
        wrong = _as_tensor(exercise, result, tuple(x.shape))
        if wrong is not None:
            return wrong
        expected = layer(x, mask)[0]
        if torch.allclose(result, expected, atol=1e-5):
            return passed(exercise, "attention, add, norm; feed-forward, add, norm: the layer "
                                    "BERT stacks 12 times.")
        attended = layer.attention(x, mask)[0]
        pre_ln = x + layer.attention(layer.attention_norm(x), mask)[0]
        pre_ln = pre_ln + layer.feed_forward(layer.output_norm(pre_ln))
        if torch.allclose(result, pre_ln, atol=1e-5):
            return failed(exercise, "that is the pre-LN layer (normalize, then the sublayer, then "
                                    "add). BERT normalizes after adding: LN(x + sublayer(x)).")
        no_residual = layer.attention_norm(attended)
        no_residual = layer.output_norm(layer.feed_forward(no_residual))
        if torch.allclose(result, no_residual, atol=1e-5):
            return failed(exercise, "the residual connections are missing: add the sublayer's "
                                    "input back before each LayerNorm.")
        unmasked = layer(x, None)[0]
        if torch.allclose(result, unmasked, atol=1e-5):
            return failed(exercise, "pass the attention mask to layer.attention, or padding "
                                    "tokens leak into the real ones.")
        if torch.allclose(result[0], expected[0], atol=1e-5):
            return failed(exercise, "right for the unpadded sentence, wrong for the padded one: "
                                    "check how the mask reaches the attention.")
    return failed(exercise, "the output differs from layer(x, mask); compare step by step.")


def check_pretraining_parameter_count(answer: Callable[[BertConfig], int]) -> CheckResult:
    """Grade count_pretraining_parameters(config) against real BertForPreTraining modules."""
    exercise = "parameters of BERT with its pretraining heads"
    hint = ("the encoder's count, plus the MLM head (transform H x H + H, LayerNorm 2H, an output "
            "bias of V) and NSP (2H + 2); the output matrix is the word embeddings, reused")
    configs = [
        BertConfig(),
        BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                   intermediate_size=4096),
        BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=3, num_attention_heads=2,
                   intermediate_size=100, max_position_embeddings=64, type_vocab_size=3),
    ]
    for config in configs:
        result = run_answer(exercise, hint, answer, config)
        if isinstance(result, CheckResult):
            return result
        if isinstance(result, torch.Tensor) and result.numel() == 1:
            result = int(result.item())
        if isinstance(result, bool) or not isinstance(result, int):
            return failed(exercise, f"return an int, got {type(result).__name__}")
        with torch.device("meta"):
            expected = sum(p.numel() for p in BertForPreTraining(config).parameters())
        if result == expected:
            continue
        hidden, vocab = config.hidden_size, config.vocab_size
        if result == expected + vocab * hidden:
            return failed(exercise, "you counted the MLM output matrix (V x H) separately; it is "
                                    "tied to the word embeddings, so it is already counted.")
        if result == expected - 2 * hidden - 2:
            return failed(exercise, "you left out the NSP classifier (H x 2 + 2).")
        if result == expected - vocab:
            return failed(exercise, "you left out the MLM output bias (one per vocabulary token).")
        if result == expected - hidden * hidden - hidden:
            return failed(exercise, "you left out the pooler (H x H + H), which NSP reads.")
        return failed(exercise, f"for hidden_size={hidden}, {config.num_hidden_layers} layers: "
                                f"expected {expected:,}, got {result:,}")
    return passed(exercise, "BERT-base with both heads: 110,106,428 parameters, and the output "
                            "matrix costs nothing extra thanks to weight tying.")


def check_previous_token_score(
    answer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> CheckResult:
    """Grade previous_token_score(attentions, mask) -> (L, nh) mean weight on the previous token."""
    exercise = "measuring a previous-token head"
    hint = ("weights[..., i, i - 1] for i = 1 .. T-1 (the diagonal just below the main one), "
            "averaged over real tokens only")
    generator = torch.Generator().manual_seed(0)
    layers, batch, heads, seq_len = 2, 3, 4, 7
    logits = torch.randn(layers, batch, heads, seq_len, seq_len, generator=generator) * 2
    mask = torch.ones(batch, seq_len, dtype=torch.long)
    mask[1, 5:] = 0
    mask[2, 3:] = 0
    keys = mask.bool()[None, :, None, None, :]
    weights = logits.masked_fill(~keys, float("-inf")).softmax(-1)  # (L, B, nh, T, T)
    attentions = tuple(weights.unbind(0))  # L x (B, nh, T, T), as a model returns them
    result = run_answer(exercise, hint, answer, attentions, mask.clone())
    if isinstance(result, CheckResult):
        return result
    wrong = _as_tensor(exercise, result, (layers, heads))
    if wrong is not None:
        return wrong

    def score(offset: int, real_only: bool) -> torch.Tensor:
        diagonal = torch.diagonal(weights, offset=offset, dim1=-2, dim2=-1)  # (L, B, nh, T-1)
        # query i, key i + offset: previous token is offset = -1; pair valid if both real
        queries = mask[:, 1:] if offset < 0 else mask[:, :-1]
        partner = mask[:, :-1] if offset < 0 else mask[:, 1:]
        valid = (queries * partner).bool() if real_only else torch.ones_like(queries).bool()
        valid = valid[None, :, None, :].expand_as(diagonal)
        return (diagonal * valid).sum((1, 3)) / valid.sum((1, 3))

    if torch.allclose(result, score(-1, True), atol=1e-5):
        return passed(exercise, "run it on MiniLM's attentions: the heads with the highest scores "
                                "are its previous-token heads.")
    if torch.allclose(result, score(1, True), atol=1e-5):
        return failed(exercise, "that is the next-token score: query i looks at key i - 1 "
                                "(offset -1, below the diagonal), not i + 1.")
    if torch.allclose(result, score(-1, False), atol=1e-5):
        return failed(exercise, "padding positions are included; keep only pairs where both "
                                "tokens are real (attention_mask == 1).")
    return failed(exercise, "expected, for each layer and head, the mean over sentences and real "
                            "positions i >= 1 of weights[i, i - 1]")
