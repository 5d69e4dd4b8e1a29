"""BERT, the whole encoder (chapter 04): config, embeddings, layers, the model and its heads.

Read top to bottom in the order the chapter builds it: `BertConfig` holds every size;
`BertEmbeddings` adds token, position and segment embeddings; `BertLayer` is attention and a
GELU feed-forward block, each wrapped in a residual connection and a post-LayerNorm (as in the
paper); `BertEncoder` stacks layers; `BertModel` adds the [CLS] pooler; the task heads sit on
top. Module names are bertlab's own (readable ones); `bertlab.hf` maps them to and from the
names transformers uses, so checkpoints move both ways.

Two deliberate differences from transformers, both for speed, both giving the identical loss:
when MLM `labels` are given, (1) the MLM head computes vocabulary logits only at the labelled
positions (`labels != -100`) instead of a (B, T, vocab) tensor, and (2) the last encoder layer
computes only those positions (and [CLS]), since no other final vector reaches the loss. The
output then holds the labelled rows only, plus `prediction_mask` saying which positions they
belong to. Without labels (or when per-layer outputs are asked for) everything is dense,
exactly as in transformers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bertlab import hf
from bertlab.attention import MultiHeadSelfAttention

IGNORE_INDEX = -100  # label value that losses skip (padding, unmasked tokens), as in transformers
ModelT = TypeVar("ModelT", bound="BertPreTrainedModel")


def _gelu_tanh(x: Tensor) -> Tensor:
    """GELU's tanh approximation, used by GPT-2 and some BERT variants ('gelu_new')."""
    return F.gelu(x, approximate="tanh")


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "gelu": F.gelu,  # the exact, erf-based GELU that BERT uses
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}

# config.json keys whose value changes the architecture: bertlab refuses what it cannot build
_UNSUPPORTED = {
    "position_embedding_type": "absolute",
    "is_decoder": False,
    "add_cross_attention": False,
}
_PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")


@dataclass
class BertConfig:
    """Every size and rate of a BERT, under the field names of a transformers `config.json`."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    pad_token_id: int | None = 0
    # task heads: classes for sequence/token classification (question answering needs 2)
    num_labels: int = 2
    classifier_dropout: float | None = None
    problem_type: str | None = None
    id2label: dict[int, str] | None = field(default=None)

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
            "num_labels",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"BertConfig.{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"BertConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads}): each head gets "
                "hidden_size / num_attention_heads dimensions"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(
                f"BertConfig.hidden_act {self.hidden_act!r} is not a known activation; "
                f"choose one of {sorted(ACTIVATIONS)}"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ValueError(f"BertConfig.{name} must be in [0, 1), got {value!r}")
        if not self.layer_norm_eps > 0:
            raise ValueError(f"BertConfig.layer_norm_eps must be > 0, got {self.layer_norm_eps!r}")
        if not self.initializer_range >= 0:
            raise ValueError(
                f"BertConfig.initializer_range must be >= 0, got {self.initializer_range!r}"
            )
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(
                f"BertConfig.pad_token_id ({self.pad_token_id}) must be a token id in "
                f"[0, vocab_size={self.vocab_size}) or None"
            )
        if self.problem_type not in _PROBLEM_TYPES:
            raise ValueError(
                f"BertConfig.problem_type must be one of {_PROBLEM_TYPES}, "
                f"got {self.problem_type!r}"
            )
        if self.id2label is not None:
            self.id2label = {int(key): str(value) for key, value in self.id2label.items()}
            if sorted(self.id2label) != list(range(self.num_labels)):
                raise ValueError(
                    f"BertConfig.id2label must name labels 0..{self.num_labels - 1} "
                    f"(num_labels={self.num_labels}), got keys {sorted(self.id2label)}"
                )

    @property
    def head_size(self) -> int:
        """Dimensions per attention head: hidden_size / num_attention_heads."""
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BertConfig:
        """Build a config from a config.json dict, ignoring keys that do not change BERT.

        transformers writes many keys bertlab has no use for (architectures, model_type,
        use_cache, ...); they are ignored. Keys that would change the architecture to one
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
        known = {f.name for f in fields(cls)}
        kwargs = {key: value for key, value in values.items() if key in known}
        if "num_labels" not in kwargs and kwargs.get("id2label"):
            kwargs["num_labels"] = len(kwargs["id2label"])
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls, path: str | Path) -> BertConfig:
        """Read a config.json written by bertlab or transformers."""
        with open(path, encoding="utf-8") as file:
            return cls.from_dict(json.load(file))

    @classmethod
    def from_pretrained(cls, directory: str | Path, **overrides: Any) -> BertConfig:
        """Read `directory/config.json`, then apply overrides (e.g. num_labels=3)."""
        path = Path(directory) / "config.json"
        if not path.is_file():
            raise FileNotFoundError(f"no config.json in {directory}: not a saved model directory")
        values = json.loads(path.read_text(encoding="utf-8"))
        if "num_labels" in overrides and "id2label" not in overrides:
            values.pop("id2label", None)  # a new number of labels replaces the saved names
        values.update(overrides)
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict under config.json names."""
        return asdict(self)


# ----------------------------------------------------------------------------------------------
# Model outputs: dataclasses with transformers' attribute names


@dataclass
class BertModelOutput:
    """What the encoder returns: per-token states, the pooled [CLS], optional per-layer views."""

    last_hidden_state: Tensor  # (B, T, H)
    pooler_output: Tensor | None = None  # (B, H), None when the model has no pooler
    hidden_states: tuple[Tensor, ...] | None = None  # embeddings + each layer: L + 1 of (B, T, H)
    attentions: tuple[Tensor, ...] | None = None  # each layer: L of (B, nh, T, T)


@dataclass
class BertForPreTrainingOutput:
    """MLM + NSP outputs. With MLM labels, `prediction_logits` holds labelled positions only.

    prediction_logits is (B, T, vocab) without labels, and (N, vocab) with labels, row i
    belonging to the i-th True entry (row-major) of `prediction_mask` (B, T) = labels != -100.
    """

    loss: Tensor | None = None
    prediction_logits: Tensor | None = None
    seq_relationship_logits: Tensor | None = None  # (B, 2): 0 = B follows A, 1 = random B
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None
    mlm_loss: Tensor | None = None
    nsp_loss: Tensor | None = None
    prediction_mask: Tensor | None = None


@dataclass
class MaskedLMOutput:
    """MLM outputs; `logits` is (B, T, vocab), or (N, vocab) at `prediction_mask` with labels."""

    loss: Tensor | None = None
    logits: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None
    prediction_mask: Tensor | None = None


@dataclass
class ClassifierOutput:
    """Sequence (B, num_labels) or token (B, T, num_labels) classification outputs."""

    loss: Tensor | None = None
    logits: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class QuestionAnsweringOutput:
    """Span QA outputs: a start and an end score for every token, (B, T) each."""

    loss: Tensor | None = None
    start_logits: Tensor | None = None
    end_logits: Tensor | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


# ----------------------------------------------------------------------------------------------
# The encoder


class BertEmbeddings(nn.Module):
    """Token + position + segment embeddings, summed, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        """Turn ids (B, T) into vectors (B, T, H) that say which token, where, in which segment."""
        positions = torch.arange(input_ids.size(1), device=input_ids.device)  # (T,)
        if token_type_ids is None:
            # every token in segment A: add row 0 once instead of looking up B * T zeros
            segments = self.token_type_embeddings.weight[0]  # (H,)
        else:
            segments = self.token_type_embeddings(token_type_ids)  # (B, T, H)
        embeddings = self.word_embeddings(input_ids) + segments  # (B, T, H)
        embeddings = embeddings + self.position_embeddings(positions)
        return self.dropout(self.norm(embeddings))


class BertLayer(nn.Module):
    """One encoder layer: x = LN(x + Attn(x)); x = LN(x + FFN(x)), with dropout on each branch."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(
            config.hidden_size, config.num_attention_heads, config.attention_probs_dropout_prob
        )
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(config.hidden_size, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.activation = ACTIVATIONS[config.hidden_act]

    def feed_forward(self, x: Tensor) -> Tensor:
        """The position-wise block: widen to intermediate_size, GELU, project back."""
        return self.output(self.activation(self.intermediate(x)))  # (B, T, H)

    def forward(
        self, x: Tensor, attention_mask: Tensor | None = None, output_attentions: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Return the layer's output (B, T, H) and its attention weights (or None)."""
        attended, weights = self.attention(x, attention_mask, output_attentions)
        return self._residual_blocks(x, attended), weights

    def _residual_blocks(self, x: Tensor, attended: Tensor) -> Tensor:
        """Add & norm the attention output, then the feed-forward block with its own add & norm."""
        x = self.attention_norm(x + self.dropout(attended))
        return self.output_norm(x + self.dropout(self.feed_forward(x)))

    def forward_at(self, x: Tensor, attention_mask: Tensor | None, keep: Tensor) -> Tensor:
        """The layer's output at the `keep` positions only (B, T) bool; zeros elsewhere.

        Every token still serves as a key and value, but only kept tokens are queries and go
        through the feed-forward block. For the last layer of MLM training, where only the
        masked tokens (and [CLS]) reach the loss, this gives the same loss for about a sixth of
        the layer's work. Kept positions are gathered left-aligned into (B, K, H), K = the most
        kept in any row; rows with fewer fill the rest with (zeroed) spare slots.
        """
        batch, seq_len, hidden = x.shape
        counts = keep.sum(1)  # (B,)
        width = int(counts.max())
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :width]  # (B, K)
        index = order.unsqueeze(-1).expand(-1, -1, hidden)  # (B, K, H)
        rows = x.gather(1, index)  # (B, K, H): kept tokens first, then spare slots
        attended, _ = self.attention(x, attention_mask, queries=rows)  # (B, K, H)
        h = self._residual_blocks(rows, attended)  # (B, K, H)
        real = torch.arange(width, device=x.device) < counts.unsqueeze(1)  # (B, K) not spare
        return x.new_zeros(batch, seq_len, hidden).scatter(1, index, h * real.unsqueeze(-1))


class BertEncoder(nn.Module):
    """A stack of identical layers; each refines every token's vector using the others."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(
        self,
        x: Tensor,
        attention_mask: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        final_positions: Tensor | None = None,
    ) -> BertModelOutput:
        """Run every layer, keeping each layer's states and weights when asked.

        final_positions (B, T) bool: the last layer computes only these positions (see
        BertLayer.forward_at); ignored when per-layer outputs are asked for.
        """
        hidden_states = [x] if output_hidden_states else None
        attentions = [] if output_attentions else None
        layers = list(self.layers)
        last = None
        if final_positions is not None and not (output_attentions or output_hidden_states):
            last = layers.pop()
        for layer in layers:
            x, weights = layer(x, attention_mask, output_attentions)
            if hidden_states is not None:
                hidden_states.append(x)
            if attentions is not None:
                attentions.append(weights)
        if last is not None:
            x = last.forward_at(x, attention_mask, final_positions)
        return BertModelOutput(
            last_hidden_state=x,
            hidden_states=tuple(hidden_states) if hidden_states is not None else None,
            attentions=tuple(attentions) if attentions is not None else None,
        )


class BertPooler(nn.Module):
    """Summarise a sequence as tanh(W h_[CLS] + b): the input to NSP and sentence classifiers."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        """Pool (B, T, H) to (B, H) from the first ([CLS]) token."""
        return torch.tanh(self.dense(hidden_states[:, 0]))


def init_bert_weights(module: nn.Module, config: BertConfig) -> None:
    """BERT's initialization: weights ~ N(0, initializer_range), biases 0, LayerNorm 1 and 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=config.initializer_range)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=config.initializer_range)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, BertMLMHead):
        nn.init.zeros_(module.bias)


class BertPreTrainedModel(nn.Module):
    """What every bertlab BERT shares: its config, and saving/loading in transformers' format."""

    # the task head's submodules, given BERT's initialization once the encoder is built
    head_modules: tuple[str, ...] = ()

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"expected a BertConfig, got {type(config).__name__}")
        self.config = config

    def _init_heads(self) -> None:
        for name in self.head_modules:
            getattr(self, name).apply(lambda module: init_bert_weights(module, self.config))

    def save_pretrained(self, directory: str | Path, tokenizer: Any = None,
                        dtype: torch.dtype | None = None) -> None:
        """Write config.json + model.safetensors (+ vocab.txt) that transformers can load."""
        hf.save_pretrained(self, directory, tokenizer, dtype)

    @classmethod
    def from_pretrained(
        cls: type[ModelT], directory: str | Path, *, strict: bool = False, **config_overrides: Any
    ) -> ModelT:
        """Load a directory written by bertlab or transformers (safetensors or pytorch_model.bin).

        Missing or unexpected encoder weights and any shape mismatch raise. A head the
        checkpoint does not have (e.g. a classifier on top of a bare BertModel) is freshly
        initialized and named in a warning; `strict=True` makes that an error too. The model
        comes back in eval mode (dropout off), as transformers returns it; call .train() to train.
        """
        config = BertConfig.from_pretrained(directory, **config_overrides)
        model = cls(config)
        hf.load_pretrained_weights(model, directory, strict=strict)
        return model.eval()


class BertModel(BertPreTrainedModel):
    """The BERT encoder: embeddings, a stack of layers, and (optionally) the [CLS] pooler."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.apply(lambda module: init_bert_weights(module, config))

    def _check_inputs(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None,
        token_type_ids: Tensor | None,
    ) -> None:
        config = self.config
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
        extras = (("attention_mask", attention_mask), ("token_type_ids", token_type_ids))
        for name, tensor in extras:
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

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        final_positions: Tensor | None = None,
    ) -> BertModelOutput:
        """Encode ids (B, T) into contextual vectors (B, T, H) and a pooled (B, H) summary.

        attention_mask (B, T): 1 for tokens, 0 for padding (padding is never attended to).
        token_type_ids (B, T): 0 for sentence A, 1 for sentence B; all 0 when omitted.
        final_positions (B, T) bool, for speed: only these positions (and [CLS], for the
        pooler) are needed from the last layer, which then computes only them;
        `last_hidden_state` is zero everywhere else.
        """
        self._check_inputs(input_ids, attention_mask, token_type_ids)
        mask = None
        if attention_mask is not None:
            mask = attention_mask.bool()  # (B, T), converted once for every layer
            if bool(mask.all()):
                mask = None  # nothing to hide: lets attention take its unmasked fast path
        if final_positions is not None:
            if tuple(final_positions.shape) != tuple(input_ids.shape):
                raise ValueError(
                    f"final_positions must have the shape of input_ids {tuple(input_ids.shape)}, "
                    f"got {tuple(final_positions.shape)}"
                )
            final_positions = final_positions.bool()
            if self.pooler is not None:
                final_positions = final_positions.clone()
                final_positions[:, 0] = True  # the pooler reads [CLS]
            if not bool(final_positions.any()):
                final_positions = None
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, H)
        output = self.encoder(
            x, mask, output_attentions, output_hidden_states, final_positions=final_positions
        )
        if self.pooler is not None:
            output.pooler_output = self.pooler(output.last_hidden_state)
        return output


# ----------------------------------------------------------------------------------------------
# Heads


class BertMLMHead(nn.Module):
    """Predict a token at each position: transform, LayerNorm, then the tied word embeddings.

    The decoder's weight *is* the input embedding matrix (weight tying), plus a per-token bias.
    Everything is position-wise, so `head(h[mask])` equals `head(h)[mask]` at a fraction of the
    cost: the MLM loss only needs the masked positions.
    """

    def __init__(self, config: BertConfig, word_embeddings: nn.Embedding) -> None:
        super().__init__()
        self.transform = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = ACTIVATIONS[config.hidden_act]
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.word_embeddings = [word_embeddings]  # a list, so it is not registered twice

    @property
    def decoder_weight(self) -> Tensor:
        """The (vocab, H) output matrix: the word embeddings themselves."""
        return self.word_embeddings[0].weight

    def forward(self, hidden_states: Tensor) -> Tensor:
        """Vocabulary logits (..., vocab) for hidden states (..., H)."""
        x = self.norm(self.activation(self.transform(hidden_states)))
        return F.linear(x, self.decoder_weight, self.bias)


def _check_labels(name: str, labels: Tensor, shape: tuple[int, ...], num_classes: int) -> None:
    """Raise a clear error for labels of the wrong shape, outside [0, num_classes) / -100, or
    all -100 (a loss over no label at all is NaN)."""
    if tuple(labels.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(labels.shape)}")
    valid = (labels == IGNORE_INDEX) | ((labels >= 0) & (labels < num_classes))
    if not bool(valid.all()):
        bad = labels[~valid][:5].tolist()
        raise ValueError(
            f"{name} must be class ids in [0, {num_classes}) or {IGNORE_INDEX} (ignored), "
            f"got e.g. {bad}"
        )
    if labels.numel() and not bool((labels != IGNORE_INDEX).any()):
        raise ValueError(f"every one of {name} is {IGNORE_INDEX} (ignored): the loss would "
                         "average over nothing; give at least one label to predict")


def masked_lm_loss(
    head: BertMLMHead, hidden_states: Tensor, labels: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """MLM cross-entropy computed at labelled positions only (labels != -100).

    Returns (loss, logits (N, vocab) at those positions, prediction_mask (B, T)). The loss is
    exactly the dense one, cross_entropy(head(h).view(-1, V), labels.view(-1)), because
    ignored positions contribute nothing to it.
    """
    vocab_size = head.bias.numel()
    _check_labels("labels", labels, tuple(hidden_states.shape[:2]), vocab_size)
    prediction_mask = labels != IGNORE_INDEX  # (B, T)
    logits = head(hidden_states[prediction_mask])  # (N, V)
    loss = F.cross_entropy(logits, labels[prediction_mask])
    return loss, logits, prediction_mask


def encode_masked_lm(
    bert: BertModel,
    head: BertMLMHead,
    input_ids: Tensor,
    attention_mask: Tensor | None,
    token_type_ids: Tensor | None,
    labels: Tensor | None,
    output_attentions: bool,
    output_hidden_states: bool,
) -> tuple[BertModelOutput, Tensor | None, Tensor, Tensor | None]:
    """Encode, then predict the vocabulary: dense without labels, only labelled rows with them.

    The one place where the encoder's last layer is told which positions the MLM loss reads,
    so the sparse last layer and the sparse head always agree. Returns (encoder output,
    loss or None, logits (B, T, V) or (N, V), prediction mask or None).
    """
    if labels is not None:  # checked here, before the encoder reads them as final_positions
        _check_labels("labels", labels, tuple(input_ids.shape), head.bias.numel())
    encoded = bert(
        input_ids,
        attention_mask,
        token_type_ids,
        output_attentions,
        output_hidden_states,
        final_positions=None if labels is None else labels != IGNORE_INDEX,
    )
    if labels is None:
        return encoded, None, head(encoded.last_hidden_state), None  # (B, T, V)
    loss, logits, prediction_mask = masked_lm_loss(head, encoded.last_hidden_state, labels)
    return encoded, loss, logits, prediction_mask


class BertForPreTraining(BertPreTrainedModel):
    """BERT with both pretraining heads: masked-token prediction and next-sentence prediction."""

    head_modules = ("mlm", "nsp")

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.mlm = BertMLMHead(config, self.bert.embeddings.word_embeddings)
        self.nsp = nn.Linear(config.hidden_size, 2)
        self._init_heads()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
        next_sentence_label: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BertForPreTrainingOutput:
        """MLM and NSP logits; loss = MLM loss + NSP loss for whichever labels are given.

        labels (B, T): the original id at masked positions, -100 elsewhere.
        next_sentence_label (B,): 0 if sentence B follows A, 1 if it is random.
        """
        encoded, mlm_loss, prediction_logits, prediction_mask = encode_masked_lm(
            self.bert,
            self.mlm,
            input_ids,
            attention_mask,
            token_type_ids,
            labels,
            output_attentions,
            output_hidden_states,
        )
        seq_logits = self.nsp(encoded.pooler_output)  # (B, 2)
        nsp_loss = None
        if next_sentence_label is not None:
            _check_labels("next_sentence_label", next_sentence_label, (input_ids.size(0),), 2)
            nsp_loss = F.cross_entropy(seq_logits, next_sentence_label)
        if mlm_loss is not None and nsp_loss is not None:
            loss = mlm_loss + nsp_loss
        else:
            loss = mlm_loss if mlm_loss is not None else nsp_loss
        return BertForPreTrainingOutput(
            loss=loss,
            prediction_logits=prediction_logits,
            seq_relationship_logits=seq_logits,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
            mlm_loss=mlm_loss,
            nsp_loss=nsp_loss,
            prediction_mask=prediction_mask,
        )


class BertForMaskedLM(BertPreTrainedModel):
    """BERT with the masked-language-model head only (no pooler), for fill-in-the-blank."""

    head_modules = ("mlm",)

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.mlm = BertMLMHead(config, self.bert.embeddings.word_embeddings)
        self._init_heads()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> MaskedLMOutput:
        """Vocabulary logits (B, T, V); with labels, the loss and logits at labelled rows only."""
        encoded, loss, logits, prediction_mask = encode_masked_lm(
            self.bert,
            self.mlm,
            input_ids,
            attention_mask,
            token_type_ids,
            labels,
            output_attentions,
            output_hidden_states,
        )
        return MaskedLMOutput(
            loss=loss,
            logits=logits,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
            prediction_mask=prediction_mask,
        )


class BertForSequenceClassification(BertPreTrainedModel):
    """BERT + a linear classifier on the pooled [CLS] vector (1 label = regression)."""

    head_modules = ("classifier",)

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        dropout = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self._init_heads()

    def problem_type(self, labels: Tensor) -> str:
        """Pick the loss as transformers does: regression for 1 label, else by label dtype."""
        if self.config.problem_type is not None:
            return self.config.problem_type
        if self.config.num_labels == 1:
            return "regression"
        if not labels.dtype.is_floating_point:
            return "single_label_classification"
        return "multi_label_classification"

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> ClassifierOutput:
        """Class logits (B, num_labels); with labels (B,) the loss (cross-entropy, MSE or BCE)."""
        encoded = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states
        )
        logits = self.classifier(self.dropout(encoded.pooler_output))  # (B, num_labels)
        loss = None
        if labels is not None:
            problem = self.problem_type(labels)
            batch = input_ids.size(0)
            if problem == "regression":
                if labels.numel() != batch * self.config.num_labels:
                    raise ValueError(
                        f"regression labels must hold {self.config.num_labels} value(s) per "
                        f"example, got shape {tuple(labels.shape)} for a batch of {batch}"
                    )
                loss = F.mse_loss(logits.view(-1), labels.view(-1).to(logits.dtype))
            elif problem == "single_label_classification":
                _check_labels("labels", labels, (batch,), self.config.num_labels)
                loss = F.cross_entropy(logits, labels)
            else:
                if tuple(labels.shape) != tuple(logits.shape):
                    raise ValueError(
                        f"multi-label labels must have shape {tuple(logits.shape)} (0/1 per "
                        f"class), got {tuple(labels.shape)}"
                    )
                loss = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return ClassifierOutput(loss, logits, encoded.hidden_states, encoded.attentions)


class BertForTokenClassification(BertPreTrainedModel):
    """BERT + a linear classifier on every token's vector (e.g. named-entity tags)."""

    head_modules = ("classifier",)

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self._init_heads()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> ClassifierOutput:
        """Tag logits (B, T, num_labels); with labels (B, T), cross-entropy skipping -100."""
        encoded = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states
        )
        logits = self.classifier(self.dropout(encoded.last_hidden_state))  # (B, T, C)
        loss = None
        if labels is not None:
            _check_labels("labels", labels, tuple(input_ids.shape), self.config.num_labels)
            loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten())
        return ClassifierOutput(loss, logits, encoded.hidden_states, encoded.attentions)


class BertForQuestionAnswering(BertPreTrainedModel):
    """BERT + a start and an end score per token: the answer is the best-scoring span."""

    head_modules = ("qa_outputs",)

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(
                f"BertForQuestionAnswering predicts a start and an end score: its config needs "
                f"num_labels=2 (as transformers stores it), got {config.num_labels}"
            )
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self._init_heads()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> QuestionAnsweringOutput:
        """Start/end logits (B, T); with positions (B,), the mean of the two cross-entropies.

        As in transformers, a position outside the sequence (e.g. an answer truncated away)
        is ignored rather than an error.
        """
        encoded = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states
        )
        logits = self.qa_outputs(encoded.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = logits.unbind(-1)  # 2 x (B, T)
        loss = None
        if (start_positions is None) != (end_positions is None):
            raise ValueError("give both start_positions and end_positions, or neither")
        if start_positions is not None and end_positions is not None:
            seq_len = input_ids.size(1)
            losses = []
            for name, positions, scores in (
                ("start_positions", start_positions, start_logits),
                ("end_positions", end_positions, end_logits),
            ):
                positions = positions.reshape(-1)
                if positions.numel() != input_ids.size(0):
                    raise ValueError(
                        f"{name} must hold one position per example, got shape "
                        f"{tuple(positions.shape)} for a batch of {input_ids.size(0)}"
                    )
                positions = positions.clamp(0, seq_len)  # seq_len = "outside": ignored
                losses.append(F.cross_entropy(scores, positions, ignore_index=seq_len))
            loss = (losses[0] + losses[1]) / 2
        return QuestionAnsweringOutput(
            loss,
            start_logits.contiguous(),
            end_logits.contiguous(),
            encoded.hidden_states,
            encoded.attentions,
        )
