"""bertlab.model on its own: config validation, the encoder's math, heads, losses and bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from bertlab.model import (
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertLayer,
    BertModel,
)


def batch(config: BertConfig, batch_size: int = 3, seq_len: int = 9, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, config.vocab_size, (batch_size, seq_len), generator=generator)
    mask = torch.ones(batch_size, seq_len, dtype=torch.long)
    mask[-1, seq_len - 3 :] = 0
    types = torch.zeros(batch_size, seq_len, dtype=torch.long)
    types[:, seq_len // 2 :] = 1
    return ids, mask, types


# ---------------------------------------------------------------------------------------------
# BertConfig


def test_default_config_is_bert_base() -> None:
    config = BertConfig()
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (
        768,
        12,
        12,
    )
    assert config.intermediate_size == 4 * config.hidden_size
    assert config.head_size == 64


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(hidden_size=30, num_attention_heads=4), "divisible"),
        (dict(num_hidden_layers=0), "num_hidden_layers"),
        (dict(vocab_size=-5), "vocab_size"),
        (dict(hidden_size=16.0), "hidden_size"),
        (dict(hidden_act="gelu_fancy"), "hidden_act"),
        (dict(hidden_dropout_prob=1.5), "hidden_dropout_prob"),
        (dict(layer_norm_eps=0.0), "layer_norm_eps"),
        (dict(pad_token_id=61), "pad_token_id"),
        (dict(num_labels=3, id2label={0: "a", 1: "b"}), "id2label"),
    ],
)
def test_config_rejects_bad_values_with_a_clear_error(
    overrides: dict, message: str, small_config,
) -> None:
    with pytest.raises(ValueError, match=message):
        small_config(**overrides)


def test_config_from_dict_ignores_bookkeeping_keys_and_keeps_labels(small_config) -> None:
    small = small_config.values
    values = {
        **small,
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "transformers_version": "4.8.2",
        "use_cache": True,
        "id2label": {"0": "neg", "1": "neu", "2": "pos"},
        "label2id": {"neg": 0, "neu": 1, "pos": 2},
        "problem_type": "single_label_classification",  # picks transformers' loss: ignored
    }
    config = BertConfig.from_dict(values)
    assert config.num_labels == 3
    assert config.id2label == {0: "neg", 1: "neu", 2: "pos"}
    assert config.hidden_size == small["hidden_size"]


@pytest.mark.parametrize(
    "extra",
    [{"model_type": "roberta"}, {"position_embedding_type": "relative_key"}, {"is_decoder": True}],
)
def test_config_from_dict_refuses_architectures_it_cannot_build(extra: dict, small_config) -> None:
    with pytest.raises(ValueError, match=next(iter(extra))):
        BertConfig.from_dict({**small_config.values, **extra})


def test_config_json_round_trip(tmp_path, small_config) -> None:
    config = small_config(num_labels=3, hidden_act="gelu_new")
    (tmp_path / "config.json").write_text(__import__("json").dumps(config.to_dict()))
    assert BertConfig.from_pretrained(tmp_path) == config
    assert BertConfig.from_pretrained(tmp_path, num_labels=5).num_labels == 5


# ---------------------------------------------------------------------------------------------
# The encoder


def test_model_output_shapes(small_config) -> None:
    config = small_config()
    model = BertModel(config).eval()
    ids, mask, types = batch(config)
    out = model(ids, mask, types, output_attentions=True, output_hidden_states=True)
    assert out.last_hidden_state.shape == (3, 9, 20)
    assert out.pooler_output.shape == (3, 20)
    assert len(out.hidden_states) == config.num_hidden_layers + 1
    assert len(out.attentions) == config.num_hidden_layers
    assert out.attentions[0].shape == (3, 4, 9, 9)
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)
    plain = model(ids, mask, types)
    assert plain.attentions is None and plain.hidden_states is None
    torch.testing.assert_close(plain.last_hidden_state, out.last_hidden_state)


def test_encoder_layer_equals_the_equations_written_out(small_config) -> None:
    torch.manual_seed(0)
    config = small_config()
    layer = BertLayer(config).eval()
    x = torch.randn(2, 7, config.hidden_size)
    a = layer.attention
    nh, hs = config.num_attention_heads, config.head_size
    q = a.query(x).view(2, 7, nh, hs).transpose(1, 2)
    k = a.key(x).view(2, 7, nh, hs).transpose(1, 2)
    v = a.value(x).view(2, 7, nh, hs).transpose(1, 2)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hs), dim=-1)
    context = (weights @ v).transpose(1, 2).reshape(2, 7, config.hidden_size)
    eps = config.layer_norm_eps
    h = F.layer_norm(x + a.output(context), (config.hidden_size,), eps=eps)
    h = h * layer.attention_norm.weight + layer.attention_norm.bias
    ffn = layer.output(F.gelu(layer.intermediate(h)))
    expected = F.layer_norm(h + ffn, (config.hidden_size,), eps=eps)
    expected = expected * layer.output_norm.weight + layer.output_norm.bias
    out, returned = layer(x, None, output_attentions=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(returned, weights, atol=1e-6, rtol=1e-5)


def test_embeddings_are_the_sum_of_three_tables_then_layernorm(small_config) -> None:
    config = small_config()
    model = BertModel(config).eval()
    ids, _, types = batch(config)
    e = model.embeddings
    total = (
        e.word_embeddings(ids)
        + e.position_embeddings(torch.arange(9))
        + e.token_type_embeddings(types)
    )
    expected = F.layer_norm(total, (20,), e.norm.weight, e.norm.bias, config.layer_norm_eps)
    torch.testing.assert_close(e(ids, types), expected)
    # omitted token types mean "all segment A"
    torch.testing.assert_close(e(ids), e(ids, torch.zeros_like(ids)))


def test_padding_changes_nothing_for_the_real_tokens(small_config) -> None:
    config = small_config()
    model = BertModel(config).eval()
    ids, _, types = batch(config, batch_size=1, seq_len=6)
    alone = model(ids, token_type_ids=types, output_attentions=True)
    padded_ids = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    padded_types = torch.cat([types, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    mask = torch.tensor([[1] * 6 + [0] * 4])
    padded = model(padded_ids, mask, padded_types, output_attentions=True)
    torch.testing.assert_close(padded.last_hidden_state[:, :6], alone.last_hidden_state)
    torch.testing.assert_close(padded.pooler_output, alone.pooler_output)
    for weights in padded.attentions:
        assert torch.all(weights[..., 6:] == 0), "padding must get exactly zero attention"
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))


def test_dropout_only_in_training_mode(small_config) -> None:
    config = small_config()
    model = BertModel(config)
    ids, mask, types = batch(config)
    model.train()
    a, b = model(ids, mask, types).last_hidden_state, model(ids, mask, types).last_hidden_state
    assert not torch.allclose(a, b)
    model.eval()
    torch.testing.assert_close(
        model(ids, mask, types).last_hidden_state, model(ids, mask, types).last_hidden_state
    )
    # an all-ones mask is the same as no mask
    torch.testing.assert_close(
        model(ids, torch.ones_like(mask)).last_hidden_state, model(ids).last_hidden_state
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("too_long", "max_position_embeddings"),
        ("bad_id", "vocab_size"),
        ("negative_id", "vocab_size"),
        ("bad_type", "type_vocab_size"),
        ("mask_shape", "attention_mask"),
        ("mask_values", "attention_mask"),
        ("types_shape", "token_type_ids"),
        ("one_dim", "batch, seq_len"),
    ],
)
def test_bad_inputs_raise_clear_errors(change: str, message: str, small_config) -> None:
    config = small_config()
    model = BertModel(config)
    ids, mask, types = batch(config)
    if change == "too_long":
        ids = torch.zeros(1, config.max_position_embeddings + 1, dtype=torch.long)
        mask = types = None
    elif change == "bad_id":
        ids[0, 0] = config.vocab_size
    elif change == "negative_id":
        ids[0, 0] = -1
    elif change == "bad_type":
        types[0, 0] = 2
    elif change == "mask_shape":
        mask = mask[:, :-1]
    elif change == "mask_values":
        mask[0, 0] = 2
    elif change == "types_shape":
        types = types[:1]
    elif change == "one_dim":
        ids, mask, types = ids[0], None, None
    with pytest.raises(ValueError, match=message):
        model(ids, mask, types)


def test_non_tensor_or_float_ids_raise_type_errors(small_config) -> None:
    model = BertModel(small_config())
    with pytest.raises(TypeError, match="tokenize"):
        model([[1, 2, 3]])
    with pytest.raises(TypeError, match="integer"):
        model(torch.ones(1, 3))


# ---------------------------------------------------------------------------------------------
# Initialization


def test_bert_initialization(small_config) -> None:
    torch.manual_seed(0)
    config = small_config(
        vocab_size=500, hidden_size=64, intermediate_size=256, initializer_range=0.05
    )
    model = BertForPreTraining(config)
    layer = model.bert.encoder.layers[0]
    for weight in (
        layer.attention.query.weight,
        layer.intermediate.weight,
        model.mlm.transform.weight,
    ):
        assert abs(weight.std().item() - 0.05) < 0.01
        assert abs(weight.mean().item()) < 0.01
    for bias in (layer.attention.query.bias, layer.output.bias, model.mlm.bias, model.nsp.bias):
        assert torch.all(bias == 0)
    assert torch.all(layer.attention_norm.weight == 1) and torch.all(layer.attention_norm.bias == 0)
    word = model.bert.embeddings.word_embeddings.weight
    assert torch.all(word[config.pad_token_id] == 0)
    assert abs(word[1:].std().item() - 0.05) < 0.01


def test_same_seed_same_weights(small_config) -> None:
    torch.manual_seed(3)
    a = BertForMaskedLM(small_config())
    torch.manual_seed(3)
    b = BertForMaskedLM(small_config())
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name


def test_meta_device_builds_instantly_with_the_right_count() -> None:
    with torch.device("meta"):
        model = BertModel(BertConfig())
    assert sum(p.numel() for p in model.parameters()) == 109_482_240  # BERT-base, with pooler


# ---------------------------------------------------------------------------------------------
# Heads and losses


def test_mlm_decoder_is_tied_to_the_word_embeddings(small_config) -> None:
    model = BertForMaskedLM(small_config())
    assert model.mlm.decoder_weight is model.bert.embeddings.word_embeddings.weight
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == len(set(names)) and not any("decoder" in n for n in names)
    ids, mask, types = batch(model.config)
    model(ids, mask, types).logits.sum().backward()
    grad = model.bert.embeddings.word_embeddings.weight.grad
    assert grad is not None and grad.abs().sum(-1).gt(0).sum() > ids.unique().numel()


@pytest.mark.parametrize("model_class", [BertForMaskedLM, BertForPreTraining])
def test_mlm_logits_keep_their_shape_with_labels_and_the_loss_skips_ignored_positions(
    model_class: type, small_config) -> None:
    torch.manual_seed(0)
    config = small_config()
    model = model_class(config).eval()
    ids, mask, types = batch(config)
    labels = torch.full_like(ids, -100)
    chosen = torch.zeros_like(ids, dtype=torch.bool)
    chosen[0, 1] = chosen[0, 4] = chosen[2, 7] = chosen[1, 0] = True
    labels[chosen] = ids[chosen]
    field = "logits" if model_class is BertForMaskedLM else "prediction_logits"
    without = getattr(model(ids, mask, types), field)
    out = model(ids, mask, types, labels=labels)
    with_labels = getattr(out, field)
    assert without.shape == with_labels.shape == (3, 9, config.vocab_size)  # as in transformers
    assert torch.equal(with_labels, without)
    expected = F.cross_entropy(with_labels[chosen], ids[chosen])  # the labelled positions only
    torch.testing.assert_close(out.loss, expected, atol=1e-6, rtol=1e-6)


def test_pretraining_loss_is_mlm_plus_nsp(small_config) -> None:
    config = small_config()
    model = BertForPreTraining(config).eval()
    ids, mask, types = batch(config)
    labels = torch.full_like(ids, -100)
    labels[:, 2] = ids[:, 2]
    nsp_labels = torch.tensor([0, 1, 1])
    out = model(ids, mask, types, labels=labels, next_sentence_label=nsp_labels)
    mlm = F.cross_entropy(out.prediction_logits[:, 2], ids[:, 2])
    nsp = F.cross_entropy(out.seq_relationship_logits, nsp_labels)
    torch.testing.assert_close(out.loss, mlm + nsp)
    only_nsp = model(ids, mask, types, next_sentence_label=nsp_labels)
    torch.testing.assert_close(only_nsp.loss, nsp)
    assert only_nsp.prediction_logits.shape == (3, 9, config.vocab_size)
    only_mlm = model(ids, mask, types, labels=labels)
    torch.testing.assert_close(only_mlm.loss, mlm)
    assert model(ids, mask, types).loss is None


@pytest.mark.parametrize("bad", [61, -5])
def test_mlm_labels_out_of_range_raise(bad: int, small_config) -> None:
    model = BertForMaskedLM(small_config())
    ids, mask, types = batch(model.config)
    labels = torch.full_like(ids, -100)
    labels[0, 0] = bad
    with pytest.raises(ValueError, match="labels"):
        model(ids, mask, types, labels=labels)


def test_sequence_classification_is_single_label_cross_entropy(small_config) -> None:
    ids, mask, types = batch(small_config())
    model = BertForSequenceClassification(small_config(num_labels=3)).eval()
    labels = torch.tensor([0, 2, 1])
    out = model(ids, mask, types, labels=labels)
    assert out.logits.shape == (3, 3)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, labels))
    with pytest.raises(ValueError, match="labels"):
        model(ids, mask, types, labels=torch.tensor([0, 3, 1]))
    # regression and multi-label targets (transformers' other problem types) are refused
    multi = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        model(ids, mask, types, labels=multi)
    with pytest.raises(TypeError, match="regression and multi-label"):
        model(ids, mask, types, labels=torch.tensor([0.5, -1.0, 2.0]))
    regression = BertForSequenceClassification(small_config(num_labels=1)).eval()
    assert regression(ids, mask, types).logits.shape == (3, 1)  # a checkpoint still runs
    with pytest.raises(ValueError, match="num_labels >= 2"):
        regression(ids, mask, types, labels=torch.tensor([0, 0, 0]))


def test_token_classification_skips_ignored_labels(small_config) -> None:
    model = BertForTokenClassification(small_config(num_labels=5)).eval()
    ids, mask, types = batch(model.config)
    labels = torch.randint(0, 5, ids.shape)
    labels[mask == 0] = -100
    out = model(ids, mask, types, labels=labels)
    assert out.logits.shape == (3, 9, 5)
    keep = labels != -100
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits[keep], labels[keep]))


def test_question_answering_loss_and_out_of_range_positions(small_config) -> None:
    model = BertForQuestionAnswering(small_config()).eval()
    ids, mask, types = batch(model.config)
    start, end = torch.tensor([1, 2, 3]), torch.tensor([2, 4, 99])
    out = model(ids, mask, types, start_positions=start, end_positions=end)
    assert out.start_logits.shape == out.end_logits.shape == (3, 9)
    start_loss = F.cross_entropy(out.start_logits, start)
    end_loss = F.cross_entropy(out.end_logits[:2], end[:2])  # 99 is outside: ignored
    torch.testing.assert_close(out.loss, (start_loss + end_loss) / 2)
    with pytest.raises(ValueError, match="num_labels=2"):
        BertForQuestionAnswering(small_config(num_labels=3))
    with pytest.raises(ValueError, match="both"):
        model(ids, mask, types, start_positions=start)


@pytest.mark.parametrize("head", [BertForPreTraining, BertForMaskedLM, BertForTokenClassification])
def test_labels_that_give_no_loss_or_the_wrong_shape_are_named(head, small_config) -> None:
    config = small_config()
    model = head(config)
    ids, mask, types = batch(config)
    with pytest.raises(ValueError, match=r"every one of labels is -100"):
        model(ids, mask, types, labels=torch.full_like(ids, -100))  # a NaN loss before
    with pytest.raises(ValueError, match=r"labels must have shape \(3, 9\)"):
        model(ids, mask, types, labels=ids[:, :-1])
