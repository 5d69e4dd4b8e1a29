"""What bertlab's BERT refuses, with an error that says what to fix (used by `bertlab.model`).

A wrong size, a sequence longer than the position table, a token id outside the vocabulary
or a label of the wrong shape would otherwise surface as a shape or index error from deep
inside torch (or, worse, as a NaN loss). These checks run before any computation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

IGNORE_INDEX = -100  # label value that losses skip (padding, unmasked tokens), as in transformers

_POSITIVE = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
             "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_labels")


def check_config(config: Any, activations: Iterable[str]) -> None:
    """Refuse a BertConfig that cannot build a BERT; normalize its id2label keys to ints."""
    for name in _POSITIVE:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"BertConfig.{name} must be a positive integer, got {value!r}")
    if config.hidden_size % config.num_attention_heads != 0:
        raise ValueError(
            f"BertConfig.hidden_size ({config.hidden_size}) must be divisible by "
            f"num_attention_heads ({config.num_attention_heads}): each head gets "
            "hidden_size / num_attention_heads dimensions"
        )
    if config.hidden_act not in activations:
        raise ValueError(f"BertConfig.hidden_act {config.hidden_act!r} is not a known "
                         f"activation; choose one of {sorted(activations)}")
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
        value = getattr(config, name)
        if value is not None and not 0.0 <= value < 1.0:
            raise ValueError(f"BertConfig.{name} must be in [0, 1), got {value!r}")
    if not config.layer_norm_eps > 0:
        raise ValueError(f"BertConfig.layer_norm_eps must be > 0, got {config.layer_norm_eps!r}")
    if not config.initializer_range >= 0:
        raise ValueError(
            f"BertConfig.initializer_range must be >= 0, got {config.initializer_range!r}"
        )
    if config.pad_token_id is not None and not 0 <= config.pad_token_id < config.vocab_size:
        raise ValueError(f"BertConfig.pad_token_id ({config.pad_token_id}) must be a token id "
                         f"in [0, vocab_size={config.vocab_size}) or None")
    if config.id2label is not None:
        config.id2label = {int(key): str(value) for key, value in config.id2label.items()}
        if sorted(config.id2label) != list(range(config.num_labels)):
            raise ValueError(
                f"BertConfig.id2label must name labels 0..{config.num_labels - 1} "
                f"(num_labels={config.num_labels}), got keys {sorted(config.id2label)}"
            )


def check_inputs(config: Any, input_ids: Tensor, attention_mask: Tensor | None,
                 token_type_ids: Tensor | None) -> Tensor | None:
    """Refuse inputs the model cannot read; return the mask as bool (B, T), or None when
    nothing is padding (attention then takes its unmasked fast path)."""
    if not isinstance(input_ids, Tensor):
        raise TypeError(
            f"input_ids must be a tensor of token ids, got {type(input_ids).__name__}; "
            "tokenize text first (e.g. with bertlab.BertTokenizer)"
        )
    if input_ids.dim() != 2:
        raise ValueError(
            f"input_ids must have shape (batch, seq_len), got {tuple(input_ids.shape)}"
        )
    if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool:
        raise TypeError(f"input_ids must be integer token ids, got dtype {input_ids.dtype}")
    if input_ids.size(1) > config.max_position_embeddings:
        raise ValueError(
            f"sequence length {input_ids.size(1)} is longer than max_position_embeddings="
            f"{config.max_position_embeddings}: truncate the input (the model has no "
            "position embedding beyond that)"
        )
    if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= config.vocab_size):
        raise ValueError(
            f"token ids must be in [0, vocab_size={config.vocab_size}), got ids in "
            f"[{int(input_ids.min())}, {int(input_ids.max())}]: does the tokenizer's "
            "vocabulary match this model?"
        )
    for name, tensor in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
        if tensor is not None and tuple(tensor.shape) != tuple(input_ids.shape):
            raise ValueError(
                f"{name} must have the same shape as input_ids {tuple(input_ids.shape)}, "
                f"got {tuple(tensor.shape)}"
            )
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        if ((attention_mask != 0) & (attention_mask != 1)).any():
            raise ValueError("attention_mask must hold 1 for real tokens and 0 for padding")
    if token_type_ids is not None and token_type_ids.numel():
        if token_type_ids.min() < 0 or token_type_ids.max() >= config.type_vocab_size:
            raise ValueError(
                f"token_type_ids must be in [0, type_vocab_size={config.type_vocab_size}), "
                f"got values in [{int(token_type_ids.min())}, {int(token_type_ids.max())}]"
            )
    if attention_mask is None:
        return None
    mask = attention_mask.bool()  # (B, T), converted once for every layer
    return None if bool(mask.all()) else mask


def check_labels(name: str, labels: Tensor, logits_shape: tuple[int, ...]) -> None:
    """Refuse labels that do not fit logits of shape (..., C): not of shape (...), not integer
    class ids in [0, C) or -100, or all -100 (a loss over no label at all is NaN)."""
    shape, num_classes = tuple(logits_shape[:-1]), logits_shape[-1]
    if tuple(labels.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(labels.shape)}")
    if num_classes < 2:
        raise ValueError(f"{name}: a classifier needs num_labels >= 2, got {num_classes} (one "
                         "label means regression in transformers, which bertlab does not train)")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(
            f"{name} must be integer class ids, got dtype {labels.dtype} (bertlab's heads "
            "classify: regression and multi-label targets are not supported)"
        )
    valid = (labels == IGNORE_INDEX) | ((labels >= 0) & (labels < num_classes))
    if not bool(valid.all()):
        raise ValueError(
            f"{name} must be class ids in [0, {num_classes}) or {IGNORE_INDEX} (ignored), "
            f"got e.g. {labels[~valid][:5].tolist()}"
        )
    if labels.numel() and not bool((labels != IGNORE_INDEX).any()):
        raise ValueError(f"every one of {name} is {IGNORE_INDEX} (ignored): the loss would "
                         "average over nothing; give at least one label to predict")


def check_positions(start: Tensor | None, end: Tensor | None, batch: int) -> None:
    """Refuse question-answering positions given alone, or not one per example."""
    if start is None or end is None:
        raise ValueError("give both start_positions and end_positions, or neither")
    for name, positions in (("start_positions", start), ("end_positions", end)):
        if positions.numel() != batch:
            raise ValueError(f"{name} must hold one position per example, got shape "
                             f"{tuple(positions.shape)} for a batch of {batch}")
