"""Checkpoints in transformers' format (chapter 04): bertlab models load and save HF directories.

A saved model is a directory with `config.json` and `model.safetensors` (and `vocab.txt` when
a tokenizer is saved beside it). bertlab names its modules for readability (`attention_norm`,
`mlm.transform`, ...); the table `RENAMES` maps them onto transformers' names
(`attention.output.LayerNorm`, `cls.predictions.transform.dense`, ...), both ways. Loading
reads only tensors (safetensors, or `torch.load(weights_only=True)` for `pytorch_model.bin`)
and checks every name and shape before copying anything.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

if TYPE_CHECKING:
    from bertlab.model import BertConfig, BertPreTrainedModel

BASE_PREFIX = "bert."  # where transformers' task models keep the encoder
_BASE_ROOTS = ("embeddings.", "encoder.", "pooler.")  # the base model's top-level modules

# (bertlab name prefix, transformers name prefix); {n} is a layer index. Keys not listed are
# spelled the same in both (word/position/token-type embeddings, pooler, classifier, qa_outputs).
RENAMES: list[tuple[str, str]] = [
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

# checkpoint entries that are not weights of the model: buffers, and the MLM decoder that
# bertlab ties to the word embeddings (checked equal, then dropped)
_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
_TIED_DECODER_WEIGHT = "cls.predictions.decoder.weight"
_TIED_DECODER_BIAS = "cls.predictions.decoder.bias"
_WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
_LAYER_NORM_LEGACY = {".gamma": ".weight", ".beta": ".bias"}  # TF-era LayerNorm names


class CheckpointMismatch(ValueError):
    """A checkpoint's weights do not fit the model: missing, unexpected or wrongly shaped."""


def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix).replace(r"\{n\}", r"(?P<n>\d+)"))


_TO_HF = [(_pattern(ours), theirs) for ours, theirs in RENAMES]
_FROM_HF = [(_pattern(theirs), ours) for ours, theirs in RENAMES]


def _rename(name: str, table: list[tuple[re.Pattern[str], str]]) -> str:
    prefix = ""
    if name.startswith(BASE_PREFIX):
        prefix, name = BASE_PREFIX, name[len(BASE_PREFIX) :]
    for pattern, replacement in table:
        match = pattern.match(name)
        if match:
            return prefix + replacement.format(**match.groupdict()) + name[match.end() :]
    return prefix + name


def to_hf_name(name: str) -> str:
    """Translate a bertlab parameter name into transformers' name for the same weight."""
    return _rename(name, _TO_HF)


def from_hf_name(name: str) -> str:
    """Translate a transformers parameter name into bertlab's name for the same weight."""
    return _rename(name, _FROM_HF)


def hf_state_dict(model: BertPreTrainedModel) -> dict[str, Tensor]:
    """The model's weights under transformers' names (tied decoder left out, as HF saves it)."""
    return {to_hf_name(name): tensor for name, tensor in model.state_dict().items()}


def config_to_hf_dict(config: BertConfig, architecture: str) -> dict[str, Any]:
    """The config.json transformers needs: BERT fields + model_type, architectures, labels."""
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


# ----------------------------------------------------------------------------------------------
# Reading checkpoints


def _load_torch_bin(path: Path) -> dict[str, Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(t, Tensor) for t in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    return state


def load_safetensors(path: Path) -> dict[str, Tensor]:
    """load_file, with the file's name in the error when it is truncated or not safetensors."""
    try:
        return load_file(path)
    except SafetensorError as error:
        raise ValueError(f"{path} is not a readable safetensors file ({error}): it is "
                         "truncated or corrupted; copy or save it again") from None


def _shard_path(directory: Path, index_name: str, shard: str) -> Path:
    """A shard named by an index, refused unless it lies inside the model directory."""
    path = (directory / shard).resolve()
    if not path.is_relative_to(directory.resolve()):
        raise ValueError(f"{directory / index_name} names the shard {shard!r}, which lies "
                         f"outside {directory}: a model directory may only point at its own files")
    return path


def read_checkpoint(directory: str | Path) -> dict[str, Tensor]:
    """Read every tensor of a saved model directory, as stored (names untouched).

    Looks for model.safetensors, then a sharded safetensors index, then pytorch_model.bin
    (read with weights_only=True: tensors only, no arbitrary pickled objects).
    """
    directory = Path(directory)
    candidates = {
        "model.safetensors": load_safetensors,
        "pytorch_model.bin": _load_torch_bin,
    }
    for index_name, loader in (
        ("model.safetensors.index.json", load_safetensors),
        ("pytorch_model.bin.index.json", _load_torch_bin),
    ):
        index = directory / index_name
        if index.is_file() and not (directory / index_name.removesuffix(".index.json")).is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            state: dict[str, Tensor] = {}
            for shard in shards:
                state.update(loader(_shard_path(directory, index_name, shard)))
            return state
    for name, loader in candidates.items():
        path = directory / name
        if path.is_file():
            return loader(path)
    raise FileNotFoundError(
        f"no weights in {directory}: expected model.safetensors (or pytorch_model.bin)"
    )


def _normalize(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rename legacy LayerNorm gamma/beta and drop buffers that are not weights."""
    normalized = {}
    for name, tensor in state.items():
        for old, new in _LAYER_NORM_LEGACY.items():
            if name.endswith(old):
                name = name[: -len(old)] + new
        if not name.endswith(_BUFFERS):
            normalized[name] = tensor
    return normalized


def _align_prefix(state: dict[str, Tensor], model_has_prefix: bool) -> dict[str, Tensor]:
    """Make the checkpoint's `bert.` prefix match the model's (bare BertModel vs task model)."""
    has_prefix = any(name.startswith(BASE_PREFIX) for name in state)
    if model_has_prefix and not has_prefix:
        return {
            (BASE_PREFIX + name if name.startswith(_BASE_ROOTS) else name): tensor
            for name, tensor in state.items()
        }
    if not model_has_prefix and has_prefix:
        return {name.removeprefix(BASE_PREFIX): tensor for name, tensor in state.items()}
    return state


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


def load_hf_state_dict(
    model: BertPreTrainedModel, state: dict[str, Tensor], *, strict: bool = False
) -> None:
    """Copy weights named as transformers names them into a bertlab model, checking everything.

    Every encoder weight must be present with the right shape and nothing unknown may sit in
    the encoder: otherwise a CheckpointMismatch names the keys. Task-head and pooler weights
    the checkpoint lacks keep their fresh initialization, and head weights the model has no
    use for are skipped; both are named in a warning (an error when strict=True).
    """
    model_has_prefix = hasattr(model, "bert")
    prefix = BASE_PREFIX if model_has_prefix else ""
    provided = _untie(_align_prefix(_normalize(state), model_has_prefix), prefix)
    expected = hf_state_dict(model)

    def in_encoder(name: str) -> bool:
        return name.startswith((prefix + "embeddings.", prefix + "encoder."))

    missing = sorted(set(expected) - set(provided))
    unexpected = sorted(set(provided) - set(expected))
    errors = []
    hard_missing = [n for n in missing if strict or in_encoder(n)]
    hard_unexpected = [n for n in unexpected if strict or in_encoder(n)]
    if hard_missing:
        errors.append(f"missing from the checkpoint: {_listing(hard_missing)}")
    if hard_unexpected:
        errors.append(f"in the checkpoint but not in the model: {_listing(hard_unexpected)}")
    mismatched = [
        f"{name} (checkpoint {tuple(provided[name].shape)}, model {tuple(tensor.shape)})"
        for name, tensor in expected.items()
        if name in provided and provided[name].shape != tensor.shape
    ]
    if mismatched:
        errors.append(f"shape mismatch: {_listing(mismatched)}")
    if errors:
        raise CheckpointMismatch(
            f"cannot load this checkpoint into {type(model).__name__} "
            f"({model.config.num_hidden_layers} layers, hidden {model.config.hidden_size}): "
            + "; ".join(errors)
            + ". Does config.json describe these weights?"
        )
    soft_missing = [n for n in missing if n not in hard_missing]
    soft_unexpected = [n for n in unexpected if n not in hard_unexpected]
    if soft_missing:
        warnings.warn(
            f"{type(model).__name__}: newly initialized (not in the checkpoint), train them "
            f"before use: {_listing(soft_missing)}",
            stacklevel=3,
        )
    if soft_unexpected:
        warnings.warn(
            f"{type(model).__name__}: checkpoint weights not used by this model: "
            f"{_listing(soft_unexpected)}",
            stacklevel=3,
        )
    parameters = {to_hf_name(name): p for name, p in model.state_dict(keep_vars=True).items()}
    with torch.no_grad():
        for name, tensor in provided.items():
            if name in parameters:
                parameters[name].copy_(tensor)


def load_pretrained_weights(
    model: BertPreTrainedModel, directory: str | Path, *, strict: bool = False
) -> None:
    """Load a saved directory's weights into a model built from its config.json."""
    load_hf_state_dict(model, read_checkpoint(directory), strict=strict)


# ----------------------------------------------------------------------------------------------
# Writing


def save_pretrained(
    model: BertPreTrainedModel, directory: str | Path, tokenizer: Any = None,
    dtype: torch.dtype | None = None,
) -> Path:
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
# In memory, both ways (needs transformers; used by the parity tests and chapter 04)


def to_transformers(model: BertPreTrainedModel, attn_implementation: str = "eager") -> Any:
    """Build the transformers model of the same class and copy this model's weights into it."""
    try:
        import transformers
    except ImportError as error:  # pragma: no cover - transformers is a test/notebook extra
        raise ImportError("to_transformers needs transformers: pip install transformers") from error
    hf_config = transformers.BertConfig(
        **config_to_hf_dict(model.config, type(model).__name__),
        attn_implementation=attn_implementation,
    )
    hf_model = getattr(transformers, type(model).__name__)(hf_config)
    result = hf_model.load_state_dict(hf_state_dict(model), strict=False)
    tied = {_TIED_DECODER_WEIGHT, _TIED_DECODER_BIAS}
    leftover = [n for n in result.missing_keys if n not in tied and not n.endswith(_BUFFERS)]
    if leftover or result.unexpected_keys:
        raise CheckpointMismatch(
            f"copying into transformers left missing {leftover}, unexpected "
            f"{result.unexpected_keys}"
        )
    return hf_model.train(model.training)


def from_transformers(hf_model: Any) -> BertPreTrainedModel:
    """Build the bertlab model of the same class as a transformers BERT and copy its weights."""
    import bertlab.model

    from_dict = bertlab.model.BertConfig.from_dict
    config = from_dict(hf_model.config.to_dict())
    cls = getattr(bertlab.model, type(hf_model).__name__, None)
    if cls is None:
        raise TypeError(f"bertlab has no counterpart of {type(hf_model).__name__}")
    model = cls(config)
    load_hf_state_dict(model, hf_model.state_dict(), strict=True)
    return model.train(hf_model.training)
