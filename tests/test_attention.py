"""bertlab.attention: the explicit math, the fused path, and references that must agree with it."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from bertlab.attention import MultiHeadSelfAttention, scaled_dot_product_attention

ATOL = 1e-5


def padding_mask(lengths: list[int], seq_len: int) -> torch.Tensor:
    """(B, T) 0/1 mask with the first `length` tokens of each row real."""
    return (torch.arange(seq_len)[None, :] < torch.tensor(lengths)[:, None]).long()


def module(hidden: int = 16, heads: int = 4, seed: int = 0) -> MultiHeadSelfAttention:
    torch.manual_seed(seed)
    return MultiHeadSelfAttention(hidden, heads).eval()


# --- the function ---------------------------------------------------------------------------


def test_function_matches_softmax_formula_written_elementwise() -> None:
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    out, w = scaled_dot_product_attention(q, k, v)
    for i in range(3):
        scores = [sum(q[i, c] * k[j, c] for c in range(4)) / math.sqrt(4) for j in range(5)]
        exps = [math.exp(s) for s in scores]
        expected_w = torch.tensor([e / sum(exps) for e in exps])
        torch.testing.assert_close(w[i], expected_w, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(out[i], expected_w @ v, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("with_mask", [False, True])
def test_function_matches_torch_fused_kernel(with_mask: bool) -> None:
    torch.manual_seed(1)
    q, k, v = torch.randn(2, 3, 6, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 5)
    mask = torch.rand(2, 1, 6, 7) > 0.4 if with_mask else None
    if mask is not None:
        mask[..., 0] = True  # every query keeps at least one key
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=1e-5)


def test_masked_keys_get_exactly_zero_weight_and_rows_sum_to_one() -> None:
    torch.manual_seed(2)
    q, k, v = torch.randn(2, 4, 5, 8), torch.randn(2, 4, 5, 8), torch.randn(2, 4, 5, 3)
    mask = padding_mask([3, 5], 5).bool()[:, None, None, :]  # (B, 1, 1, T)
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(w[0, :, :, 3:] == 0.0)
    assert torch.all(w[1] > 0.0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 5), atol=1e-6, rtol=0)
    # changing a masked value cannot change the output
    v2 = v.clone()
    v2[0, :, 3:] = 1e3
    out2, _ = scaled_dot_product_attention(q, k, v2, mask)
    torch.testing.assert_close(out, out2, atol=0, rtol=0)


def test_fully_masked_query_gets_zero_weights_like_the_fused_kernel() -> None:
    torch.manual_seed(3)
    q, k, v = torch.randn(1, 1, 3, 4), torch.randn(1, 1, 3, 4), torch.randn(1, 1, 3, 4)
    mask = torch.tensor([[True, True, False], [False, False, False], [True, False, False]])
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert not torch.isnan(w).any()
    assert torch.all(w[0, 0, 1] == 0)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=1e-5)


def test_scaling_uses_sqrt_of_key_dim() -> None:
    # with identical keys except one, the weight ratio is exp((s_i - s_j) / sqrt(d))
    d = 9
    q = torch.ones(1, d)
    k = torch.zeros(2, d)
    k[0] = 1.0
    _, w = scaled_dot_product_attention(q, k, torch.eye(2))
    assert torch.isclose(w[0, 0] / w[0, 1], torch.tensor(math.exp(d / math.sqrt(d))), rtol=1e-5)


def test_function_gradients_are_correct_in_double() -> None:
    torch.manual_seed(4)
    q = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([True, True, True, False, True])
    def attend(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return scaled_dot_product_attention(a, b, c, mask)

    assert torch.autograd.gradcheck(attend, (q, k, v))


def test_function_rejects_bad_inputs() -> None:
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    with pytest.raises(ValueError, match="same last dimension"):
        scaled_dot_product_attention(q, torch.randn(5, 3), v)
    with pytest.raises(ValueError, match="same length"):
        scaled_dot_product_attention(q, k, torch.randn(4, 2))
    with pytest.raises(TypeError, match="bool"):
        scaled_dot_product_attention(q, k, v, torch.ones(3, 5))


# --- the module -----------------------------------------------------------------------------


@pytest.mark.parametrize("lengths", [None, [7, 4, 1]])
def test_explicit_and_fused_paths_agree(lengths: list[int] | None) -> None:
    attn = module(32, 4)
    torch.manual_seed(5)
    x = torch.randn(3, 7, 32)
    mask = None if lengths is None else padding_mask(lengths, 7)
    fused, none = attn(x, mask)
    explicit, weights = attn(x, mask, output_attentions=True)
    assert none is None
    assert weights is not None and weights.shape == (3, 4, 7, 7)
    torch.testing.assert_close(fused, explicit, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 7), atol=1e-6, rtol=0)
    if lengths is not None:
        for b, n in enumerate(lengths):
            assert torch.all(weights[b, :, :, n:] == 0.0)


def test_bool_and_int_masks_give_the_same_result() -> None:
    attn = module()
    x = torch.randn(2, 5, 16)
    m = padding_mask([5, 2], 5)
    torch.testing.assert_close(attn(x, m)[0], attn(x, m.bool())[0], atol=0, rtol=0)
    torch.testing.assert_close(attn(x, m)[0], attn(x, m.float())[0], atol=0, rtol=0)


def test_all_ones_mask_equals_no_mask() -> None:
    attn = module()
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(attn(x, torch.ones(2, 5))[0], attn(x)[0], atol=ATOL, rtol=1e-5)


def test_padding_does_not_change_real_tokens() -> None:
    attn = module()
    torch.manual_seed(6)
    x = torch.randn(1, 4, 16)
    padded = torch.cat([x, torch.randn(1, 3, 16) * 50], dim=1)
    out_short, _ = attn(x)
    out_padded, _ = attn(padded, padding_mask([4], 7))
    torch.testing.assert_close(out_padded[:, :4], out_short, atol=ATOL, rtol=1e-5)


def test_loop_over_heads_equals_batched_module() -> None:
    hidden, heads = 24, 3
    attn = module(hidden, heads)
    hs = hidden // heads
    torch.manual_seed(7)
    x = torch.randn(2, 6, hidden)
    mask = padding_mask([6, 3], 6)
    out, weights = attn(x, mask, output_attentions=True)
    contexts = []
    for h in range(heads):
        rows = slice(h * hs, (h + 1) * hs)
        q = F.linear(x, attn.query.weight[rows], attn.query.bias[rows])
        k = F.linear(x, attn.key.weight[rows], attn.key.bias[rows])
        v = F.linear(x, attn.value.weight[rows], attn.value.bias[rows])
        scores = q @ k.transpose(1, 2) / math.sqrt(hs)
        scores = scores.masked_fill(mask[:, None, :] == 0, float("-inf"))
        w = scores.softmax(-1)
        torch.testing.assert_close(weights[:, h], w, atol=1e-6, rtol=1e-5)
        contexts.append(w @ v)
    expected = attn.output(torch.cat(contexts, dim=-1))
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=1e-5)


def test_permutation_equivariant_without_positions() -> None:
    attn = module()
    torch.manual_seed(8)
    x = torch.randn(2, 6, 16)
    perm = torch.randperm(6)
    out, w = attn(x, output_attentions=True)
    out_p, w_p = attn(x[:, perm], output_attentions=True)
    torch.testing.assert_close(out_p, out[:, perm], atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(w_p, w[:, :, perm][:, :, :, perm], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("lengths", [None, [5, 2]])
def test_equals_torch_multihead_attention(lengths: list[int] | None) -> None:
    hidden, heads = 16, 4
    attn = module(hidden, heads)
    ref = torch.nn.MultiheadAttention(hidden, heads, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]))
        ref.in_proj_bias.copy_(torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]))
        ref.out_proj.weight.copy_(attn.output.weight)
        ref.out_proj.bias.copy_(attn.output.bias)
    torch.manual_seed(9)
    x = torch.randn(2, 5, hidden)
    mask = None if lengths is None else padding_mask(lengths, 5)
    key_padding_mask = None if mask is None else mask == 0  # torch: True = ignore
    expected, expected_w = ref(
        x, x, x, key_padding_mask=key_padding_mask, need_weights=True, average_attn_weights=False
    )
    out, w = attn(x, mask, output_attentions=True)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(w, expected_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(attn(x, mask)[0], expected, atol=ATOL, rtol=1e-5)


def test_equals_transformers_bert_attention() -> None:
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertAttention

    config = BertConfig(hidden_size=32, num_attention_heads=4, attn_implementation="eager")
    torch.manual_seed(10)
    ref = BertAttention(config).eval()
    attn = MultiHeadSelfAttention(32, 4).eval()
    attn.query.load_state_dict(ref.self.query.state_dict())
    attn.key.load_state_dict(ref.self.key.state_dict())
    attn.value.load_state_dict(ref.self.value.state_dict())
    attn.output.load_state_dict(ref.output.dense.state_dict())
    x = torch.randn(2, 6, 32)
    mask = padding_mask([6, 4], 6)
    additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    expected, expected_w = ref(x, additive, output_attentions=True)
    out, w = attn(x, mask, output_attentions=True)
    # BertAttention adds the residual and LayerNorm that the encoder layer owns in bertlab
    torch.testing.assert_close(ref.output.LayerNorm(out + x), expected, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(w, expected_w, atol=1e-6, rtol=1e-5)


def test_dropout_only_in_training_mode() -> None:
    torch.manual_seed(11)
    attn = MultiHeadSelfAttention(16, 4, dropout=0.5)
    x = torch.randn(2, 5, 16)
    attn.eval()
    no_drop = MultiHeadSelfAttention(16, 4)
    no_drop.load_state_dict(attn.state_dict())
    torch.testing.assert_close(attn(x)[0], no_drop(x)[0], atol=0, rtol=0)
    attn.train()
    a, b = attn(x)[0], attn(x)[0]
    assert not torch.allclose(a, b)
    explicit, w = attn(x, output_attentions=True)
    assert not torch.allclose(explicit, no_drop(x)[0])
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 5), atol=1e-6, rtol=0)


def test_gradients_flow_to_separate_projections_on_fused_path() -> None:
    attn = module()
    x = torch.randn(2, 5, 16, requires_grad=True)
    attn(x, padding_mask([5, 3], 5))[0].pow(2).sum().backward()
    for name in ("query", "key", "value", "output"):
        assert getattr(attn, name).weight.grad is not None
        assert getattr(attn, name).weight.grad.abs().sum() > 0
    assert x.grad is not None


def test_parameters_match_bert_names_and_count() -> None:
    attn = MultiHeadSelfAttention(768, 12)
    names = {n for n, _ in attn.named_parameters()}
    layers = ("query", "key", "value", "output")
    assert names == {f"{m}.{p}" for m in layers for p in ("weight", "bias")}
    assert sum(p.numel() for p in attn.parameters()) == 4 * (768 * 768 + 768)


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 3),
    seq=st.integers(1, 9),
    heads=st.sampled_from([1, 2, 4]),
    head_size=st.integers(1, 6),
    data=st.data(),
)
def test_paths_agree_on_random_shapes(
    batch: int, seq: int, heads: int, head_size: int, data: st.DataObject
) -> None:
    hidden = heads * head_size
    attn = module(hidden, heads, seed=seq)
    lengths = data.draw(st.lists(st.integers(0, seq), min_size=batch, max_size=batch))
    x = torch.randn(batch, seq, hidden)
    mask = padding_mask(lengths, seq)
    fused, _ = attn(x, mask)
    explicit, w = attn(x, mask, output_attentions=True)
    torch.testing.assert_close(fused, explicit, atol=ATOL, rtol=1e-5)
    assert not torch.isnan(explicit).any()
    for b, n in enumerate(lengths):
        assert torch.all(w[b, :, :, n:] == 0.0)


# --- errors at the module boundary ----------------------------------------------------------


def test_constructor_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(10, 3)
    with pytest.raises(ValueError, match="positive"):
        MultiHeadSelfAttention(0, 1)
    with pytest.raises(ValueError, match="dropout"):
        MultiHeadSelfAttention(8, 2, dropout=1.5)


def test_forward_rejects_wrong_rank() -> None:
    with pytest.raises(ValueError, match=r"\(batch, seq_len, hidden_size\).*2 dimensions"):
        module()(torch.randn(5, 16))


def test_forward_rejects_hidden_size_mismatch() -> None:
    with pytest.raises(ValueError, match="hidden size 12.*hidden_size=16"):
        module()(torch.randn(2, 5, 12))


def test_forward_rejects_mask_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"attention_mask must have shape.*\(2, 5\).*\(2, 4\)"):
        module()(torch.randn(2, 5, 16), torch.ones(2, 4))
    with pytest.raises(ValueError, match="attention_mask"):
        module()(torch.randn(2, 5, 16), torch.ones(2, 1, 1, 5))


def test_forward_rejects_non_tensor() -> None:
    with pytest.raises(TypeError, match="tensor"):
        module()([[0.0] * 16])
