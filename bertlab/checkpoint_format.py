"""Saved models in transformers' format (chapter 04): config.json + model.safetensors.

Every bertlab model's `save_pretrained` and `from_pretrained` call `save_pretrained` and
`load_pretrained_weights` here, so a directory written by bertlab opens in transformers and
one written by transformers opens in bertlab. bertlab names its modules for readability
(`attention_norm`, `mlm.transform`, ...); `HF_NAMES` maps them onto transformers' names
(`attention.output.LayerNorm`, `cls.predictions.transform.dense`, ...), both ways.

Loading reads only tensors (safetensors, or `torch.load(weights_only=True)` for an older
`pytorch_model.bin`), accepts transformers' variants (sharded files, TF-era LayerNorm names,
the tied MLM decoder saved twice), and checks every name and shape before copying anything.
This module knows the file format, not BERT's classes: `bertlab.model` imports it.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

# (bertlab name prefix, transformers name prefix); {n} is a layer index. Names not listed are
# spelled the same in both (word/position/token-type embeddings, pooler, classifier, qa_outputs).
HF_NAMES: list[tuple[str, str]] = [
    ("embeddings.norm.", "embeddings.LayerNorm."),
    ("encoder.layers.{n}.attention.query.", "encoder.layer.{n}.attention.self.query."),
    ("encoder.layers.{n}.attention.key.", "encoder.layer.{n}.attention.self.key."),
    ("encoder.layers.{n}.attention.value.", "encoder.layer.{n}.attention.self.value."),
    ("encoder.layers.{n}.attention.output.", "encoder.layer.{n}.attention.output.dense."),
    ("encoder.layers.{n}.attention_norm.", "encoder.layer.{n}.attention.output.LayerNorm."),
    ("encoder.layers.{n}.intermediate.", "encoder.layer.{n}.intermediate.dense."),
    ("encoder.layers.{n}.output.", "encoder.layer.{n}.output.dense."),
    ("encoder.layers.{n}.output_norm.", "encoder.layer.{n}.output.LayerNorm."),
    ("mlm.transform.", "cls.predictions.transform.dense."),
    ("mlm.norm.", "cls.predictions.transform.LayerNorm."),
    ("mlm.bias", "cls.predictions.bias"),
    ("nsp.", "cls.seq_relationship."),
]
BASE_PREFIX = "bert."  # where transformers' (and bertlab's) task models keep the encoder

# checkpoint entries that are not weights: buffers, and the MLM decoder that both libraries tie
# to the word embeddings (transformers may save it anyway: checked equal, then dropped)
_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
_TIED_DECODER_WEIGHT = "cls.predictions.decoder.weight"
_TIED_DECODER_BIAS = "cls.predictions.decoder.bias"
_WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
_LAYER_NORM_LEGACY = {".gamma": ".weight", ".beta": ".bias"}  # TF-era LayerNorm names
# config.json keys whose value changes the architecture: bertlab refuses what it cannot build
_UNSUPPORTED = {"position_embedding_type": "absolute", "is_decoder": False,
                "add_cross_attention": False}


class CheckpointMismatch(ValueError):
    """A checkpoint's weights do not fit the model: missing, unexpected or wrongly shaped."""


def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix).replace(r"\{n\}", r"(?P<n>\d+)"))


_TO_HF = [(_pattern(ours), theirs) for ours, theirs in HF_NAMES]
_FROM_HF = [(_pattern(theirs), ours) for ours, theirs in HF_NAMES]


def _rename(name: str, table: list[tuple[re.Pattern[str], str]]) -> str:
    prefix = BASE_PREFIX if name.startswith(BASE_PREFIX) else ""
    name = name.removeprefix(prefix)
    for pattern, replacement in table:
        match = pattern.match(name)
        if match:
            return prefix + replacement.format(**match.groupdict()) + name[match.end():]
    return prefix + name


def to_hf_name(name: str) -> str:
    """Translate a bertlab parameter name into transformers' name for the same weight."""
    return _rename(name, _TO_HF)


def from_hf_name(name: str) -> str:
    """Translate a transformers parameter name into bertlab's name for the same weight."""
    return _rename(name, _FROM_HF)


def hf_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """The model's weights under transformers' names (the tied decoder once, as HF saves it)."""
    return {to_hf_name(name): tensor for name, tensor in model.state_dict().items()}


def config_to_hf_dict(config: Any, architecture: str) -> dict[str, Any]:
    """The config.json transformers reads: BERT's fields + model_type, architectures, labels."""
    values = config.to_dict()
    id2label = values.pop("id2label") or {i: f"LABEL_{i}" for i in range(config.num_labels)}
    values.update(
        model_type="bert",
        architectures=[architecture],
        id2label={str(i): label for i, label in id2label.items()},
        label2id={label: i for i, label in id2label.items()},
        position_embedding_type="absolute",
        tie_word_embeddings=True,
    )
    return dict(sorted(values.items()))


def read_config_json(directory: str | Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """The values of `directory/config.json`, with overrides (e.g. num_labels=3) applied."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"no config.json in {directory}: not a saved model directory")
    values = json.loads(path.read_text(encoding="utf-8"))
    if "num_labels" in overrides and "id2label" not in overrides:
        values.pop("id2label", None)  # a new number of labels replaces the saved names
    return {**values, **overrides}


def bert_config_values(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The entries of a config.json dict named in `names` (BertConfig's fields).

    transformers writes many keys bertlab has no use for (architectures, use_cache,
    problem_type, ...); they are left out. Keys that would change the architecture to one
    bertlab does not build (relative positions, a decoder) raise instead.
    """
    model_type = values.get("model_type", "bert")
    if model_type != "bert":
        raise ValueError(f"not a BERT config: model_type is {model_type!r}, expected 'bert'")
    for key, supported in _UNSUPPORTED.items():
        if key in values and values[key] != supported:
            raise ValueError(
                f"config sets {key}={values[key]!r}; bertlab only builds {key}={supported!r}"
            )
    kwargs = {key: value for key, value in values.items() if key in names}
    if "num_labels" not in kwargs and kwargs.get("id2label"):
        kwargs["num_labels"] = len(kwargs["id2label"])
    return kwargs


# ----------------------------------------------------------------------------------------------
# Writing


def save_pretrained(model: nn.Module, directory: str | Path, tokenizer: Any = None,
                    dtype: torch.dtype | None = None) -> Path:
    """Write config.json + model.safetensors (+ the tokenizer's vocab.txt) that HF can load.

    `dtype` stores the weights in another precision (float16 halves the file); config.json
    keeps the model's own dtype, so bertlab and transformers load them back into it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = config_to_hf_dict(model.config, type(model).__name__)
    config["dtype"] = str(next(model.parameters()).dtype).removeprefix("torch.")
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    state = {name: tensor.detach().to(dtype or tensor.dtype).contiguous()
             for name, tensor in hf_state_dict(model).items()}
    save_file(state, directory / "model.safetensors", metadata={"format": "pt"})
    if tokenizer is not None:
        if not hasattr(tokenizer, "save_pretrained"):
            raise TypeError(
                f"tokenizer must have save_pretrained(directory), got {type(tokenizer).__name__}"
            )
        tokenizer.save_pretrained(directory)
    return directory


# ----------------------------------------------------------------------------------------------
# Reading


def load_safetensors(path: Path) -> dict[str, Tensor]:
    """load_file, with the file's name in the error when it is truncated or not safetensors."""
    try:
        return load_file(path)
    except SafetensorError as error:
        raise ValueError(f"{path} is not a readable safetensors file ({error}): it is "
                         "truncated or corrupted; copy or save it again") from None


def _load_torch_bin(path: Path) -> dict[str, Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(t, Tensor) for t in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    return state


def _shard_path(directory: Path, index_name: str, shard: str) -> Path:
    """A shard named by an index, refused unless it lies inside the model directory."""
    path = (directory / shard).resolve()
    if not path.is_relative_to(directory.resolve()):
        raise ValueError(f"{directory / index_name} names the shard {shard!r}, which lies "
                         f"outside {directory}: a model directory may only point at its own files")
    return path


def read_checkpoint(directory: str | Path) -> dict[str, Tensor]:
    """Read every tensor of a saved model directory, as stored (names untouched).

    Looks for model.safetensors, then a sharded index, then pytorch_model.bin (read with
    weights_only=True: tensors only, no arbitrary pickled objects).
    """
    directory = Path(directory)
    loaders = {"model.safetensors": load_safetensors, "pytorch_model.bin": _load_torch_bin}
    for name, loader in loaders.items():
        index = directory / f"{name}.index.json"
        if index.is_file() and not (directory / name).is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            state: dict[str, Tensor] = {}
            for shard in shards:
                state.update(loader(_shard_path(directory, index.name, shard)))
            return state
    for name, loader in loaders.items():
        if (directory / name).is_file():
            return loader(directory / name)
    raise FileNotFoundError(
        f"no weights in {directory}: expected model.safetensors (or pytorch_model.bin)"
    )


def _normalize(state: dict[str, Tensor], model_has_prefix: bool) -> dict[str, Tensor]:
    """Rename legacy gamma/beta, drop buffers, and give the encoder the model's `bert.` prefix
    (a bare BertModel has none, task models do)."""
    has_prefix = any(name.startswith(BASE_PREFIX) for name in state)
    normalized = {}
    for name, tensor in state.items():
        for old, new in _LAYER_NORM_LEGACY.items():
            if name.endswith(old):
                name = name.removesuffix(old) + new
        if name.endswith(_BUFFERS):
            continue
        if model_has_prefix and not has_prefix and name.startswith(("embeddings.", "encoder.",
                                                                     "pooler.")):
            name = BASE_PREFIX + name
        elif has_prefix and not model_has_prefix:
            name = name.removeprefix(BASE_PREFIX)
        normalized[name] = tensor
    return normalized


def _untie(state: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """Drop the MLM decoder entries that bertlab ties; refuse a decoder that is not tied."""
    state = dict(state)
    decoder = state.pop(_TIED_DECODER_WEIGHT, None)
    embeddings = state.get(prefix + _WORD_EMBEDDINGS)
    if decoder is not None and embeddings is not None and not torch.equal(decoder, embeddings):
        raise CheckpointMismatch(
            f"{_TIED_DECODER_WEIGHT} differs from {prefix + _WORD_EMBEDDINGS}: bertlab ties the "
            "MLM decoder to the word embeddings and cannot load an untied checkpoint"
        )
    decoder_bias = state.pop(_TIED_DECODER_BIAS, None)
    if decoder_bias is not None:
        state.setdefault("cls.predictions.bias", decoder_bias)
    return state


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def load_hf_state_dict(model: nn.Module, state: dict[str, Tensor], *, strict: bool = False) -> None:
    """Copy weights named as transformers names them into a bertlab model, checking everything.

    Every encoder weight must be present with the right shape and nothing unknown may sit in
    the encoder: otherwise a CheckpointMismatch names the keys. Task-head and pooler weights
    the checkpoint lacks keep their fresh initialization, and head weights the model has no
    use for are skipped; both are named in a warning (an error when strict=True).
    """
    model_has_prefix = hasattr(model, "bert")
    prefix = BASE_PREFIX if model_has_prefix else ""
    provided = _untie(_normalize(state, model_has_prefix), prefix)
    expected = hf_state_dict(model)

    def in_encoder(name: str) -> bool:
        return name.startswith((prefix + "embeddings.", prefix + "encoder."))

    missing = sorted(set(expected) - set(provided))
    unexpected = sorted(set(provided) - set(expected))
    hard_missing = [n for n in missing if strict or in_encoder(n)]
    hard_unexpected = [n for n in unexpected if strict or in_encoder(n)]
    mismatched = [
        f"{name} (checkpoint {tuple(provided[name].shape)}, model {tuple(tensor.shape)})"
        for name, tensor in expected.items()
        if name in provided and provided[name].shape != tensor.shape
    ]
    errors = [f"{what}: {_listing(names)}" for what, names in (
        ("missing from the checkpoint", hard_missing),
        ("in the checkpoint but not in the model", hard_unexpected),
        ("shape mismatch", mismatched),
    ) if names]
    if errors:
        raise CheckpointMismatch(
            f"cannot load this checkpoint into {type(model).__name__} "
            f"({model.config.num_hidden_layers} layers, hidden {model.config.hidden_size}): "
            + "; ".join(errors) + ". Does config.json describe these weights?"
        )
    for what, names in (
        ("newly initialized (not in the checkpoint), train them before use",
         [n for n in missing if n not in hard_missing]),
        ("checkpoint weights not used by this model",
         [n for n in unexpected if n not in hard_unexpected]),
    ):
        if names:
            warnings.warn(f"{type(model).__name__}: {what}: {_listing(names)}", stacklevel=4)
    parameters = {to_hf_name(name): p for name, p in model.state_dict(keep_vars=True).items()}
    with torch.no_grad():
        for name, tensor in provided.items():
            if name in parameters:
                parameters[name].copy_(tensor)


def load_pretrained_weights(model: nn.Module, directory: str | Path, *,
                            strict: bool = False) -> None:
    """Load a saved directory's weights into a model built from its config.json."""
    load_hf_state_dict(model, read_checkpoint(directory), strict=strict)
