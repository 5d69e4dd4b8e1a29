"""Parity with transformers (eager attention, fp32): same weights give the same numbers, 1e-5.

Weights are copied both ways (bertlab -> transformers and transformers -> bertlab), for five
configurations including odd sizes and a single layer, with and without padding; compared are
every hidden state, every layer's attention, and every head's logits and loss.
"""

from __future__ import annotations

import pytest
import torch

from bertlab import hf
from bertlab import model as bm
from bertlab.checkpoint_format import config_to_hf_dict, to_hf_name
from bertlab.sparse_mlm import SparseMlmPreTraining

transformers = pytest.importorskip("transformers")

TOL = dict(atol=1e-5, rtol=1e-5)

CONFIGS = {
    "tiny": dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
    "odd": dict(
        vocab_size=101,
        hidden_size=30,
        num_hidden_layers=3,
        num_attention_heads=5,
        intermediate_size=47,
        max_position_embeddings=37,
        type_vocab_size=3,
    ),
    "one_layer": dict(
        hidden_size=24, num_hidden_layers=1, num_attention_heads=3, intermediate_size=40
    ),
    "tanh_gelu": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=8,
        intermediate_size=50,
        hidden_act="gelu_new",
        layer_norm_eps=1e-5,
        pad_token_id=3,
    ),
    "single_head": dict(
        vocab_size=53,
        hidden_size=12,
        num_hidden_layers=4,
        num_attention_heads=1,
        intermediate_size=7,
        initializer_range=0.2,
    ),
}
HEADS = [
    "BertModel",
    "BertForPreTraining",
    "BertForMaskedLM",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
]


def make_config(name: str) -> bm.BertConfig:
    values = {"vocab_size": 97, "max_position_embeddings": 20, **CONFIGS[name]}
    return bm.BertConfig(**values)


def make_inputs(config: bm.BertConfig, padded: bool, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    batch, seq_len = 3, min(11, config.max_position_embeddings)
    ids = torch.randint(0, config.vocab_size, (batch, seq_len), generator=generator)
    mask = torch.ones(batch, seq_len, dtype=torch.long)
    if padded:
        mask[1, 6:] = 0
        mask[2, 3:] = 0
        ids[mask == 0] = config.pad_token_id
    types = torch.zeros_like(ids)
    types[:, seq_len // 2 :] = config.type_vocab_size - 1
    types[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def make_labels(head: str, config: bm.BertConfig, inputs: dict, seed: int = 1) -> dict:
    generator = torch.Generator().manual_seed(seed)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    batch, seq_len = ids.shape
    if head in ("BertForPreTraining", "BertForMaskedLM"):
        chosen = (torch.rand(ids.shape, generator=generator) < 0.3) & (mask == 1)
        chosen[0, 1] = True
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        if head == "BertForMaskedLM":
            return {"labels": labels}
        return {"labels": labels, "next_sentence_label": torch.tensor([0, 1, 0])}
    if head == "BertForSequenceClassification":
        return {"labels": torch.randint(0, config.num_labels, (batch,), generator=generator)}
    if head == "BertForTokenClassification":
        labels = torch.randint(0, config.num_labels, ids.shape, generator=generator)
        return {"labels": labels.masked_fill(mask == 0, -100)}
    if head == "BertForQuestionAnswering":
        return {
            "start_positions": torch.tensor([1, 2, seq_len + 5]),
            "end_positions": torch.tensor([3, 2, 0]),
        }
    return {}


def compare_encoders(ours, theirs) -> None:
    assert len(ours.hidden_states) == len(theirs.hidden_states)
    for layer, (a, b) in enumerate(zip(ours.hidden_states, theirs.hidden_states, strict=True)):
        torch.testing.assert_close(a, b, **TOL, msg=lambda m, i=layer: f"hidden state {i}: {m}")
    assert len(ours.attentions) == len(theirs.attentions)
    for layer, (a, b) in enumerate(zip(ours.attentions, theirs.attentions, strict=True)):
        torch.testing.assert_close(a, b, **TOL, msg=lambda m, i=layer: f"attention {i}: {m}")


OUTPUT_FIELDS = {
    "BertModel": ["last_hidden_state", "pooler_output"],
    "BertForPreTraining": ["prediction_logits", "seq_relationship_logits"],
    "BertForMaskedLM": ["logits"],
    "BertForSequenceClassification": ["logits"],
    "BertForTokenClassification": ["logits"],
    "BertForQuestionAnswering": ["start_logits", "end_logits"],
}


def check_pair(head: str, ours, theirs, config: bm.BertConfig, padded: bool) -> None:
    inputs = make_inputs(config, padded)
    views = dict(output_attentions=True, output_hidden_states=True)
    with torch.no_grad():
        a = ours(**inputs, **views)
        b = theirs(**inputs, **views)
    compare_encoders(a, b)
    for field in OUTPUT_FIELDS[head]:
        torch.testing.assert_close(getattr(a, field), getattr(b, field), **TOL, msg=field)
    labels = make_labels(head, config, inputs)
    if not labels:
        return
    with torch.no_grad():
        a = ours(**inputs, **labels)
        b = theirs(**inputs, **labels)
    torch.testing.assert_close(a.loss, b.loss, **TOL, msg="loss")
    for field in OUTPUT_FIELDS[head]:  # with labels too, every output keeps transformers' shape
        torch.testing.assert_close(getattr(a, field), getattr(b, field), **TOL, msg=field)
    if head == "BertForPreTraining":  # the sparse pretraining path: transformers' numbers there
        with torch.no_grad():
            sparse = SparseMlmPreTraining(ours)(
                inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"],
                labels["labels"],
            )
        torch.testing.assert_close(sparse.prediction_logits,
                                   b.prediction_logits[sparse.prediction_mask], **TOL)
        torch.testing.assert_close(sparse.seq_relationship_logits, b.seq_relationship_logits,
                                   **TOL)


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("head", HEADS)
def test_bertlab_weights_copied_into_transformers(
    head: str, config_name: str, padded: bool
) -> None:
    torch.manual_seed(0)
    config = make_config(config_name)
    ours = getattr(bm, head)(config).eval()
    theirs = hf.to_transformers(ours, attn_implementation="eager").eval()
    check_pair(head, ours, theirs, config, padded)


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("head", HEADS)
def test_transformers_weights_copied_into_bertlab(
    head: str, config_name: str, padded: bool
) -> None:
    torch.manual_seed(1)
    values = config_to_hf_dict(make_config(config_name), head)
    hf_config = transformers.BertConfig(**values, attn_implementation="eager")
    theirs = getattr(transformers, head)(hf_config).eval()
    with torch.no_grad():  # transformers zero-initializes biases: make them matter
        for name, parameter in theirs.named_parameters():
            if name.endswith("bias"):
                parameter.normal_(0, 0.1)
    ours = hf.from_transformers(theirs).eval()
    check_pair(head, ours, theirs, ours.config, padded)


def test_training_mode_gradients_match_with_dropout_off() -> None:
    torch.manual_seed(0)
    config = make_config("odd")
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    ours = bm.BertForPreTraining(config).train()
    theirs = hf.to_transformers(ours, attn_implementation="eager").train()
    inputs = make_inputs(config, padded=True)
    labels = make_labels("BertForPreTraining", config, inputs)
    ours(**inputs, **labels).loss.backward()
    theirs(**inputs, **labels).loss.backward()
    their_grads = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        expected = their_grads[to_hf_name(name)].grad
        torch.testing.assert_close(parameter.grad, expected, **TOL, msg=name)
