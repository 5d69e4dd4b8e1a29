"""transformers' own model objects, both ways (chapter 04): `to_transformers`, `from_transformers`.

A bertlab model becomes the transformers model of the same class with the same weights, and
back, in memory: the parity tests and chapter 04 compare the two on the same inputs. Saving
and loading directories needs no transformers at all: every bertlab model has
`save_pretrained` / `from_pretrained` (`bertlab.checkpoint_format` writes and reads the files).
"""

from __future__ import annotations

from typing import Any

from bertlab import model as bertlab_model
from bertlab.checkpoint_format import (
    CheckpointMismatch,
    config_to_hf_dict,
    hf_state_dict,
    load_hf_state_dict,
)

_TIED = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")  # HF ties them itself
_BUFFERS = ("position_ids", "token_type_ids")


def to_transformers(model: bertlab_model.BertPreTrainedModel,
                    attn_implementation: str = "eager") -> Any:
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
    leftover = [n for n in result.missing_keys if n not in _TIED and not n.endswith(_BUFFERS)]
    if leftover or result.unexpected_keys:
        raise CheckpointMismatch(f"copying into transformers left missing {leftover}, "
                                 f"unexpected {result.unexpected_keys}")
    return hf_model.train(model.training)


def from_transformers(hf_model: Any) -> bertlab_model.BertPreTrainedModel:
    """Build the bertlab model of the same class as a transformers BERT and copy its weights."""
    cls = getattr(bertlab_model, type(hf_model).__name__, None)
    if cls is None:
        raise TypeError(f"bertlab has no counterpart of {type(hf_model).__name__}")
    model = cls(bertlab_model.BertConfig.from_dict(hf_model.config.to_dict()))
    load_hf_state_dict(model, hf_model.state_dict(), strict=True)
    return model.train(hf_model.training)
