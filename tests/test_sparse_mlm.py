"""bertlab.sparse_mlm: the pretraining speed path gives the plain model's numbers where losses look.

Two references: the plain `BertForPreTraining` (dense (B, T, V) logits; the sparse path computes
fewer rows, so matmuls of other shapes agree to float tolerance), and a frozen capture of the
sparse computation as bertlab ran it before it moved out of model.py (the shipped course
model's log was made by it), which must be reproduced bit for bit: same ops, same order, same
dropout draws, same gradients.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

from bertlab.course_model import machine
from bertlab.model import BertConfig, BertForMaskedLM, BertForPreTraining, BertModel
from bertlab.sparse_mlm import SparseMlmPreTraining, layer_at

REFERENCE = Path(__file__).parent / "data" / "sparse_mlm_reference.safetensors"


def pretraining_batch(config: BertConfig, padded: bool, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, config.vocab_size, (4, 10), generator=generator)
    mask = torch.ones_like(ids)
    if padded:
        mask[1, 6:] = 0
        mask[3, 3:] = 0
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    types[mask == 0] = 0
    chosen = (torch.rand(ids.shape, generator=generator) < 0.3) & (mask == 1)
    chosen[0, 0] = chosen[0, 9] = True  # [CLS] itself labelled, and the last position
    chosen[2] = False  # a row with no label at all
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": labels,
            "next_sentence_label": torch.tensor([0, 1, 1, 0])}


def sparse_call(model: BertForPreTraining, batch: dict) -> object:
    return SparseMlmPreTraining(model)(batch["input_ids"], batch["attention_mask"],
                                       batch["token_type_ids"], batch["labels"])


def summed_losses(rows: torch.Tensor, nsp_logits: torch.Tensor, batch: dict) -> torch.Tensor:
    """What pretraining minimizes (before normalizing): summed MLM cross-entropy over the MLM
    logits at the labelled positions, rows (N, V), plus summed NSP cross-entropy."""
    targets = batch["labels"][batch["labels"] != -100]
    return (F.cross_entropy(rows, targets, reduction="sum")
            + F.cross_entropy(nsp_logits, batch["next_sentence_label"], reduction="sum"))


# ---------------------------------------------------------------------------------------------
# Bit for bit: the computation the course model was trained with


def test_reproduces_the_frozen_sparse_computation_bit_for_bit() -> None:
    """The reference holds weights, inputs, outputs and every gradient, in train mode (dropout
    on, padding) and eval mode (no padding: attention's unmasked path), from bertlab 683f196's
    BertForPreTraining(..., labels=labels)."""
    reference = load_file(REFERENCE)
    with safe_open(REFERENCE, "pt") as file:
        made = file.metadata()
    config = BertConfig(**json.loads(made["config"]))
    same_kind = made["torch"] == torch.__version__ and json.loads(made["machine"]) == machine()
    check = torch.equal if same_kind else (  # other CPUs' kernels may sum in another order
        lambda a, b: torch.allclose(a, b, rtol=1e-5, atol=1e-6))
    weights = {k.removeprefix("weight."): v for k, v in reference.items()
               if k.startswith("weight.")}
    torch.manual_seed(0)
    model = BertForPreTraining(config)
    if same_kind:  # the same seed still builds the same initial weights
        assert all(torch.equal(model.state_dict()[name], w) for name, w in weights.items())
    model.load_state_dict(weights)
    inputs = {k.removeprefix("input."): v for k, v in reference.items() if k.startswith("input.")}
    for case in ("train", "eval"):
        model.train(case == "train")
        model.zero_grad(set_to_none=True)
        batch = dict(inputs)
        if case == "eval":
            batch["attention_mask"] = torch.ones_like(inputs["attention_mask"])
        torch.manual_seed(1)  # the dropout draws
        output = sparse_call(model, batch)
        summed_losses(output.prediction_logits, output.seq_relationship_logits, batch).backward()
        assert torch.equal(output.prediction_mask, reference[f"{case}.prediction_mask"].bool())
        assert check(output.prediction_logits, reference[f"{case}.prediction_logits"]), case
        assert check(output.seq_relationship_logits,
                     reference[f"{case}.seq_relationship_logits"]), case
        for name, parameter in model.named_parameters():
            assert check(parameter.grad, reference[f"{case}.grad.{name}"]), (case, name)


# ---------------------------------------------------------------------------------------------
# Against the plain model


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
@pytest.mark.parametrize("overrides", [{}, {"num_hidden_layers": 1},
                                       {"num_attention_heads": 1, "hidden_act": "gelu_new"}],
                         ids=["two_layers", "one_layer", "one_head"])
def test_sparse_rows_equal_the_plain_model_at_the_labelled_positions(
    overrides: dict, padded: bool, small_config) -> None:
    torch.manual_seed(0)
    config = small_config(**overrides)
    model = BertForPreTraining(config).eval()
    batch = pretraining_batch(config, padded)
    with torch.no_grad():
        dense = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                      labels=batch["labels"], next_sentence_label=batch["next_sentence_label"])
        sparse = sparse_call(model, batch)
    chosen = batch["labels"] != -100
    assert torch.equal(sparse.prediction_mask, chosen)
    assert sparse.prediction_logits.shape == (int(chosen.sum()), config.vocab_size)
    assert dense.prediction_logits.shape == (4, 10, config.vocab_size)
    torch.testing.assert_close(sparse.prediction_logits, dense.prediction_logits[chosen],
                               atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(sparse.seq_relationship_logits, dense.seq_relationship_logits,
                               atol=1e-6, rtol=1e-5)
    mean_mlm = F.cross_entropy(sparse.prediction_logits, batch["labels"][chosen])
    nsp = F.cross_entropy(sparse.seq_relationship_logits, batch["next_sentence_label"])
    torch.testing.assert_close(mean_mlm + nsp, dense.loss, atol=1e-6, rtol=1e-6)


def test_training_gradients_equal_the_plain_model_with_dropout_off(small_config) -> None:
    torch.manual_seed(0)
    config = small_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    plain = BertForPreTraining(config).train()
    sparse = BertForPreTraining(config).train()
    sparse.load_state_dict(plain.state_dict())
    batch = pretraining_batch(config, padded=True)
    out = sparse_call(sparse, batch)
    summed_losses(out.prediction_logits, out.seq_relationship_logits, batch).backward()
    out = plain(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    chosen = batch["labels"] != -100
    summed_losses(out.prediction_logits[chosen], out.seq_relationship_logits, batch).backward()
    dense_grads = dict(plain.named_parameters())
    for name, parameter in sparse.named_parameters():
        torch.testing.assert_close(parameter.grad, dense_grads[name].grad, atol=1e-6, rtol=1e-5,
                                   msg=name)


def test_layer_at_computes_the_layer_at_kept_positions_and_zeros_elsewhere(small_config) -> None:
    torch.manual_seed(0)
    config = small_config()
    model = BertModel(config).eval()
    layer = model.encoder.layers[0]
    x = torch.randn(3, 9, config.hidden_size)
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[2, 6:] = False
    keep = torch.zeros(3, 9, dtype=torch.bool)
    keep[0, [2, 5]] = True
    keep[2, [0, 4]] = True  # row 1 keeps nothing at all
    for attention_mask in (mask, None):
        full, _ = layer(x, attention_mask)
        part = layer_at(layer, x, attention_mask, keep)
        torch.testing.assert_close(part[keep], full[keep], atol=1e-6, rtol=1e-5)
        assert torch.all(part[~keep] == 0)


def test_it_is_a_module_holding_the_model_for_ddp_and_refuses_other_models(small_config) -> None:
    model = BertForPreTraining(small_config())
    sparse = SparseMlmPreTraining(model)
    assert sparse.model is model
    assert [id(p) for p in sparse.parameters()] == [id(p) for p in model.parameters()]
    assert all(name.startswith("model.") for name in sparse.state_dict())
    with pytest.raises(TypeError, match="BertForPreTraining"):
        SparseMlmPreTraining(BertForMaskedLM(small_config()))


def test_bad_labels_and_inputs_are_named(small_config) -> None:
    config = small_config()
    model = BertForPreTraining(config)
    batch = pretraining_batch(config, padded=True)
    with pytest.raises(ValueError, match="every one of labels is -100"):
        sparse_call(model, {**batch, "labels": torch.full_like(batch["labels"], -100)})
    with pytest.raises(ValueError, match=r"labels must have shape \(4, 10\)"):
        sparse_call(model, {**batch, "labels": batch["labels"][:, :-1]})
    with pytest.raises(ValueError, match=r"class ids in \[0, 61\)"):
        sparse_call(model, {**batch, "labels": batch["labels"].clamp(min=0) + 61})
    too_long = torch.zeros(1, 25, dtype=torch.long)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        SparseMlmPreTraining(model)(too_long, None, None, too_long)
