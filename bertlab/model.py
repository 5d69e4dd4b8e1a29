"""BERT, the whole encoder (chapter 04): config, embeddings, layers, the model and its heads.

Read top to bottom in the order the chapter builds it: `BertConfig` holds every size;
`BertEmbeddings` adds token, position and segment embeddings; `BertLayer` is attention and a
GELU feed-forward block, each wrapped in a residual connection and a post-LayerNorm (as in the
paper); `BertEncoder` stacks layers; `BertModel` adds the [CLS] pooler; the task heads sit on
top, with transformers' outputs and losses. Every model saves and loads transformers' format,
config.json + model.safetensors (`bertlab.checkpoint_format` reads and writes the files).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bertlab import checkpoint_format, validation
from bertlab.attention import MultiHeadSelfAttention
from bertlab.validation import IGNORE_INDEX

ModelT = TypeVar("ModelT", bound="BertPreTrainedModel")
ACTIVATIONS = {  # config.json's hidden_act: BERT's exact (erf) GELU, its tanh form, ReLU
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


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
    num_labels: int = 2  # classes of a classification head (question answering: start and end)
    classifier_dropout: float | None = None  # None: hidden_dropout_prob
    id2label: dict[int, str] | None = None

    def __post_init__(self) -> None:
        validation.check_config(self, ACTIVATIONS)

    @property
    def head_size(self) -> int:
        """Dimensions per attention head: hidden_size / num_attention_heads."""
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BertConfig:
        """Build a config from a config.json dict, ignoring keys that do not change BERT."""
        return cls(**checkpoint_format.bert_config_values(values, [f.name for f in fields(cls)]))

    @classmethod
    def from_pretrained(cls, directory: str | Path, **overrides: Any) -> BertConfig:
        """Read `directory/config.json`, then apply overrides (e.g. num_labels=3)."""
        return cls.from_dict(checkpoint_format.read_config_json(directory, overrides))

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict under config.json names."""
        return asdict(self)


@dataclass
class BertModelOutput:
    """What the encoder returns: per-token states, the pooled [CLS], optional per-layer views."""

    last_hidden_state: Tensor  # (B, T, H)
    pooler_output: Tensor | None = None  # (B, H), None when the model has no pooler
    hidden_states: tuple[Tensor, ...] | None = None  # embeddings + each layer: L + 1 of (B, T, H)
    attentions: tuple[Tensor, ...] | None = None  # each layer: L of (B, nh, T, T)


@dataclass
class BertHeadOutput:
    """What a head returns, under transformers' names: a loss when given labels, its logits."""

    loss: Tensor | None = None
    logits: Tensor | None = None  # masked LM (B, T, V), sequence (B, C) or token (B, T, C)
    prediction_logits: Tensor | None = None  # pretraining, masked LM (B, T, V)
    seq_relationship_logits: Tensor | None = None  # pretraining, next sentence (B, 2)
    start_logits: Tensor | None = None  # question answering (B, T)
    end_logits: Tensor | None = None  # question answering (B, T)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


# ----------------------------------------------------------------------------------------------
# The encoder


class BertEmbeddings(nn.Module):
    """Token + position + segment embeddings, summed, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size,
                                            padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        """Turn ids (B, T) into vectors (B, T, H) that say which token, where, in which segment."""
        positions = torch.arange(input_ids.size(1), device=input_ids.device)  # (T,)
        if token_type_ids is None:  # every token in segment A: add row 0 to all
            segments = self.token_type_embeddings.weight[0]  # (H,)
        else:
            segments = self.token_type_embeddings(token_type_ids)  # (B, T, H)
        embeddings = self.word_embeddings(input_ids) + segments  # (B, T, H)
        embeddings = embeddings + self.position_embeddings(positions)  # + (T, H), for every row
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
        return self.output(self.activation(self.intermediate(x)))  # (B, T, I) -> (B, T, H)

    def forward(self, x: Tensor, attention_mask: Tensor | None = None,
                output_attentions: bool = False) -> tuple[Tensor, Tensor | None]:
        """Return the layer's output (B, T, H) and its attention weights (or None)."""
        attended, weights = self.attention(x, attention_mask, output_attentions)  # (B, T, H)
        x = self.attention_norm(x + self.dropout(attended))  # add & norm
        x = self.output_norm(x + self.dropout(self.feed_forward(x)))  # add & norm
        return x, weights


class BertEncoder(nn.Module):
    """A stack of identical layers; each refines every token's vector using the others."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x: Tensor, attention_mask: Tensor | None = None,
                output_attentions: bool = False,
                output_hidden_states: bool = False) -> BertModelOutput:
        """Run every layer, keeping each layer's states and weights when asked."""
        hidden_states, attentions = [x], []
        for layer in self.layers:
            x, weights = layer(x, attention_mask, output_attentions)  # (B, T, H)
            hidden_states.append(x)
            attentions.append(weights)
        return BertModelOutput(
            last_hidden_state=x,
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
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

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"expected a BertConfig, got {type(config).__name__}")
        self.config = config

    def init_weights(self, *modules: nn.Module) -> None:
        """Give freshly built modules BERT's initialization."""
        for module in modules:
            module.apply(lambda m: init_bert_weights(m, self.config))

    def save_pretrained(self, directory: str | Path, tokenizer: Any = None,
                        dtype: torch.dtype | None = None) -> Path:
        """Write config.json + model.safetensors (+ vocab.txt; `dtype` e.g. float16 to halve
        the file) that transformers can load."""
        return checkpoint_format.save_pretrained(self, directory, tokenizer, dtype)

    @classmethod
    def from_pretrained(cls: type[ModelT], directory: str | Path, *, strict: bool = False,
                        **config_overrides: Any) -> ModelT:
        """Load a directory written by bertlab or transformers, in eval mode (as transformers).

        Overrides change the config first (e.g. num_labels=3). Missing or misshapen encoder
        weights raise; a head the checkpoint lacks (a new classifier on a pretrained encoder)
        is freshly initialized and named in a warning, or an error with strict=True.
        """
        model = cls(BertConfig.from_pretrained(directory, **config_overrides))
        checkpoint_format.load_pretrained_weights(model, directory, strict=strict)
        return model.eval()


class BertModel(BertPreTrainedModel):
    """The BERT encoder: embeddings, a stack of layers, and (optionally) the [CLS] pooler."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights(self)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, output_attentions: bool = False,
                output_hidden_states: bool = False) -> BertModelOutput:
        """Encode ids (B, T) into contextual vectors (B, T, H) and a pooled (B, H) summary.

        attention_mask (B, T): 1 for tokens, 0 for padding (padding is never attended to).
        token_type_ids (B, T): 0 for sentence A, 1 for sentence B; all 0 when omitted.
        """
        mask = validation.check_inputs(self.config, input_ids, attention_mask, token_type_ids)
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, H)
        output = self.encoder(x, mask, output_attentions, output_hidden_states)
        if self.pooler is not None:
            output.pooler_output = self.pooler(output.last_hidden_state)  # (B, H)
        return output


# ----------------------------------------------------------------------------------------------
# Heads


class BertMLMHead(nn.Module):
    """Predict a token at each position: transform, LayerNorm, then the tied word embeddings.

    The decoder's weight *is* the input embedding matrix (weight tying), plus a per-token bias.
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
        """The (V, H) output matrix: the word embeddings themselves."""
        return self.word_embeddings[0].weight

    def forward(self, hidden_states: Tensor) -> Tensor:
        """Vocabulary logits (..., V) for hidden states (..., H)."""
        x = self.norm(self.activation(self.transform(hidden_states)))  # (..., H)
        return F.linear(x, self.decoder_weight, self.bias)  # (..., V)


def masked_lm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of (B, T, V) logits at the labelled positions (labels != -100)."""
    validation.check_labels("labels", labels, logits.shape)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)


class BertForPreTraining(BertPreTrainedModel):
    """BERT with both pretraining heads: masked-token prediction and next-sentence prediction."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.mlm = BertMLMHead(config, self.bert.embeddings.word_embeddings)
        self.nsp = nn.Linear(config.hidden_size, 2)
        self.init_weights(self.mlm, self.nsp)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, labels: Tensor | None = None,
                next_sentence_label: Tensor | None = None, output_attentions: bool = False,
                output_hidden_states: bool = False) -> BertHeadOutput:
        """MLM logits (B, T, V) and NSP logits (B, 2); the loss adds up those with labels.

        labels (B, T): the original id at masked positions, -100 elsewhere.
        next_sentence_label (B,): 0 if sentence B follows A, 1 if it is random.
        """
        encoded = self.bert(input_ids, attention_mask, token_type_ids, output_attentions,
                            output_hidden_states)
        prediction_logits = self.mlm(encoded.last_hidden_state)  # (B, T, V)
        nsp_logits = self.nsp(encoded.pooler_output)  # (B, 2)
        loss = masked_lm_loss(prediction_logits, labels) if labels is not None else None
        if next_sentence_label is not None:
            validation.check_labels("next_sentence_label", next_sentence_label, nsp_logits.shape)
            nsp_loss = F.cross_entropy(nsp_logits, next_sentence_label)
            loss = nsp_loss if loss is None else loss + nsp_loss
        return BertHeadOutput(loss=loss, prediction_logits=prediction_logits,
                              seq_relationship_logits=nsp_logits,
                              hidden_states=encoded.hidden_states, attentions=encoded.attentions)


class BertForMaskedLM(BertPreTrainedModel):
    """BERT with the masked-language-model head only (no pooler), for fill-in-the-blank."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.mlm = BertMLMHead(config, self.bert.embeddings.word_embeddings)
        self.init_weights(self.mlm)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, labels: Tensor | None = None,
                output_attentions: bool = False,
                output_hidden_states: bool = False) -> BertHeadOutput:
        """Vocabulary logits (B, T, V); with labels (B, T), the cross-entropy skipping -100."""
        encoded = self.bert(input_ids, attention_mask, token_type_ids, output_attentions,
                            output_hidden_states)
        logits = self.mlm(encoded.last_hidden_state)  # (B, T, V)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        return BertHeadOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states,
                              attentions=encoded.attentions)


class BertForSequenceClassification(BertPreTrainedModel):
    """BERT + a linear classifier on the pooled [CLS] vector: one class per sequence."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        dropout = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(self.classifier)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, labels: Tensor | None = None,
                output_attentions: bool = False,
                output_hidden_states: bool = False) -> BertHeadOutput:
        """Class logits (B, num_labels); with labels (B,) class ids, the cross-entropy."""
        encoded = self.bert(input_ids, attention_mask, token_type_ids, output_attentions,
                            output_hidden_states)
        logits = self.classifier(self.dropout(encoded.pooler_output))  # (B, C)
        loss = None
        if labels is not None:
            validation.check_labels("labels", labels, logits.shape)
            loss = F.cross_entropy(logits, labels)
        return BertHeadOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states,
                              attentions=encoded.attentions)


class BertForTokenClassification(BertPreTrainedModel):
    """BERT + a linear classifier on every token's vector (e.g. named-entity tags)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(self.classifier)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, labels: Tensor | None = None,
                output_attentions: bool = False,
                output_hidden_states: bool = False) -> BertHeadOutput:
        """Tag logits (B, T, num_labels); with labels (B, T), cross-entropy skipping -100."""
        encoded = self.bert(input_ids, attention_mask, token_type_ids, output_attentions,
                            output_hidden_states)
        logits = self.classifier(self.dropout(encoded.last_hidden_state))  # (B, T, C)
        loss = None
        if labels is not None:
            validation.check_labels("labels", labels, logits.shape)
            loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(),  # (B*T, C), (B*T,)
                                   ignore_index=IGNORE_INDEX)
        return BertHeadOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states,
                              attentions=encoded.attentions)


class BertForQuestionAnswering(BertPreTrainedModel):
    """BERT + a start and an end score per token: the answer is the best-scoring span."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(f"BertForQuestionAnswering predicts a start and an end score: its "
                             f"config needs num_labels=2 (as transformers stores it), "
                             f"got {config.num_labels}")
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.init_weights(self.qa_outputs)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                token_type_ids: Tensor | None = None, start_positions: Tensor | None = None,
                end_positions: Tensor | None = None, output_attentions: bool = False,
                output_hidden_states: bool = False) -> BertHeadOutput:
        """Start/end logits (B, T); with positions (B,), the mean of the two cross-entropies
        (a position outside the sequence, an answer truncated away, is ignored as in HF)."""
        encoded = self.bert(input_ids, attention_mask, token_type_ids, output_attentions,
                            output_hidden_states)
        logits = self.qa_outputs(encoded.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = (x.contiguous() for x in logits.unbind(-1))  # (B, T) each
        loss = None
        if start_positions is not None or end_positions is not None:
            validation.check_positions(start_positions, end_positions, input_ids.size(0))
            seq_len = input_ids.size(1)
            start = start_positions.reshape(-1).clamp(0, seq_len)  # seq_len: outside, ignored
            end = end_positions.reshape(-1).clamp(0, seq_len)
            loss = (F.cross_entropy(start_logits, start, ignore_index=seq_len)
                    + F.cross_entropy(end_logits, end, ignore_index=seq_len)) / 2
        return BertHeadOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                              hidden_states=encoded.hidden_states, attentions=encoded.attentions)
