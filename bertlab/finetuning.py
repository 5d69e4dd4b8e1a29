"""Fine-tuning BERT (chapter 06): three task datasets, one training loop, their metrics, transfer.

A pretrained encoder becomes a task model by adding one small head and training everything
a little on labelled examples. TinyWorld supplies three tasks, one per head:

- sentence classification (review -> positive/negative) reads the pooled [CLS] vector;
- token classification (word -> BIO entity tag) reads every token's vector, labelled on the
  first WordPiece of each word only;
- span question answering (question + passage -> answer) scores every passage token as the
  answer's start and as its end, and maps the best span back to characters via offsets.

`fine_tune` trains any of them with the loop pretraining uses (`bertlab.train`: AdamW, warmup
and linear decay, clipping), one epoch after another with early stopping on a validation split,
seeded; each dataset scores its own predictions with `bertlab.metrics`: accuracy and F1,
entity-level F1 (the CoNLL / seqeval rule), and SQuAD's exact match and token F1.
`learning_curve` measures what pretraining buys: test accuracy against the number of labels.
"""

from __future__ import annotations

import bisect
import math
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from bertlab.environment import set_seed
from bertlab.metrics import accuracy, check_pairs, entity_scores, exact_match, macro_f1, token_f1
from bertlab.model import (
    IGNORE_INDEX,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertPreTrainedModel,
)
from bertlab.pretraining import collate, epoch_order
from bertlab.tinyworld.corpus import (
    ENTITY_LABELS,
    LabeledReview,
    QAExample,
    SentimentSplit,
    detokenize,
)
from bertlab.tokenizer import BertTokenizer, Encoding
from bertlab.train import Trainer, TrainingConfig

SENTIMENT_LABELS = ("negative", "positive")
NER_LABELS = ("O", *(f"{prefix}-{kind}" for kind in ENTITY_LABELS for prefix in "BI"))
MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")

# ---------------------------------------------------------------------------------------------
# Label alignment: words -> WordPiece tokens, characters -> tokens, tokens -> characters
# ---------------------------------------------------------------------------------------------


def word_ids_from_offsets(
    offsets: Sequence[tuple[int, int] | None], word_spans: Sequence[tuple[int, int]]
) -> list[int | None]:
    """Map each token to the dataset word its characters lie in (None for [CLS], [SEP], [PAD]).

    The tokenizer's own `word_ids` count *its* words (it splits on whitespace and every
    punctuation mark); a dataset may split differently (CoNLL keeps 'U.S.' as one word), so
    labels are aligned through character offsets, which both sides agree on.
    """
    starts = [start for start, _ in word_spans]
    word_ids: list[int | None] = []
    for index, offset in enumerate(offsets):
        if offset is None:
            word_ids.append(None)
            continue
        word = bisect.bisect_right(starts, offset[0]) - 1
        if word < 0 or offset[0] >= word_spans[word][1]:
            raise ValueError(
                f"token {index} covers characters {offset}, which lie in no word span; "
                "were the offsets computed on a different text than the word spans?"
            )
        word_ids.append(word)
    return word_ids


def align_labels_to_tokens(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """Give the first piece of each word its word's label and every other position -100.

    One label per word keeps the loss and the scores counting words, not pieces ('rivergate'
    as 'river ##gate' weighs what 'leo' does), and prediction reads that same first piece.
    """
    labels: list[int] = []
    previous: int | None = None
    for word in word_ids:
        if word is None or word == previous:
            labels.append(IGNORE_INDEX)
        else:
            if not 0 <= word < len(word_labels):
                raise ValueError(
                    f"word id {word} has no label: only {len(word_labels)} word labels were given"
                )
            labels.append(word_labels[word])
        previous = word
    return labels


def word_predictions(
    word_ids: Sequence[int | None], token_predictions: Sequence[int], n_words: int, fill: int = 0
) -> list[int]:
    """Read one prediction per word off its first piece; words truncated away get `fill`."""
    predictions = [fill] * n_words
    seen: set[int] = set()
    for word, prediction in zip(word_ids, token_predictions, strict=True):
        if word is not None and word not in seen:
            seen.add(word)
            predictions[word] = int(prediction)
    return predictions


def answer_token_span(
    offsets: Sequence[tuple[int, int] | None],
    token_type_ids: Sequence[int],
    start_char: int,
    end_char: int,
) -> tuple[int, int] | None:
    """Find the first and last passage tokens of an answer's characters [start_char, end_char).

    Passage tokens are those of segment 1 with an offset. Returns None when truncation cut
    the passage before the answer ends: such an example trains the model to point at [CLS].
    """
    if not 0 <= start_char < end_char:
        raise ValueError(f"answer characters [{start_char}, {end_char}) are not a non-empty span")
    passage = [
        i for i, (offset, segment) in enumerate(zip(offsets, token_type_ids, strict=True))
        if segment == 1 and offset is not None
    ]
    if not passage or offsets[passage[-1]][1] < end_char:  # type: ignore[index]
        return None
    start = next(i for i in passage if offsets[i][1] > start_char)  # type: ignore[index]
    end = next(i for i in reversed(passage) if offsets[i][0] < end_char)  # type: ignore[index]
    return (start, end) if start <= end else None


def span_text(text: str, offsets: Sequence[tuple[int, int] | None], start: int, end: int) -> str:
    """Cut the characters that tokens start..end (inclusive) came from out of the original text."""
    first, last = offsets[start], offsets[end]
    if first is None or last is None:
        raise ValueError(f"tokens {start}..{end} include a special token: it has no characters")
    return text[first[0] : last[1]]


def best_span(
    start_logits: Tensor, end_logits: Tensor, allowed: Tensor, max_answer_tokens: int = 30
) -> tuple[int, int, float]:
    """Pick the span maximizing start + end score, start <= end, both inside the passage.

    Scoring start and end independently and adding them is the original BERT recipe; the
    constraints keep an end before its start, or an answer in the question, from winning.
    """
    if start_logits.dim() != 1 or not start_logits.shape == end_logits.shape == allowed.shape:
        raise ValueError(
            "start_logits, end_logits and allowed must be 1-D and of one length, got "
            f"{tuple(start_logits.shape)}, {tuple(end_logits.shape)}, {tuple(allowed.shape)}"
        )
    if not bool(allowed.any()):
        raise ValueError("no token is allowed in the answer: the passage was truncated away")
    length = start_logits.numel()
    scores = start_logits[:, None] + end_logits[None, :]  # (T start, T end)
    position = torch.arange(length)
    width = position[None, :] - position[:, None]  # (T, T): end - start
    valid = (width >= 0) & (width < max_answer_tokens) & allowed[:, None] & allowed[None, :]
    scores = scores.masked_fill(~valid, float("-inf"))
    flat = int(scores.argmax())
    return flat // length, flat % length, float(scores.flatten()[flat])


# ---------------------------------------------------------------------------------------------
# Datasets: encoded examples that know their model, their predictions and their scores
# ---------------------------------------------------------------------------------------------

DataT = TypeVar("DataT", bound="TaskData")


def _tensor(rows: Sequence[Sequence[int]] | Sequence[int]) -> Tensor:
    return torch.tensor(rows, dtype=torch.long)


@dataclass
class TaskData:
    """A task's encoded examples: model inputs and labels, plus what is needed to score them.

    `features` holds, under the names the model's forward takes, one entry per example: a
    token list (input_ids, token_type_ids, per-token labels) or a number (a class, an answer
    position). Batches are padded as they are made, by the collate pretraining uses. Other list
    or tensor fields hold one entry per example too, so `select` cuts every field the same way.
    """

    features: dict[str, list[Any]]
    pad_id: int  # the tokenizer's [PAD]

    model_class: ClassVar[type[BertPreTrainedModel]] = BertPreTrainedModel
    main_metric: ClassVar[str] = ""

    def __len__(self) -> int:
        return len(self.features["input_ids"])

    def select(self: DataT, indices: Sequence[int]) -> DataT:
        """A new dataset with the given examples, in the given order."""
        indices = [int(i) for i in indices]
        if indices and not 0 <= min(indices) <= max(indices) < len(self):
            raise IndexError(
                f"indices must lie in [0, {len(self)}), got {min(indices)}..{max(indices)}"
            )
        changes: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, dict):
                changes[item.name] = {name: [v[i] for i in indices] for name, v in value.items()}
            elif isinstance(value, Tensor):
                changes[item.name] = value[torch.tensor(indices, dtype=torch.long)]
            elif isinstance(value, list):
                changes[item.name] = [value[i] for i in indices]
        return replace(self, **changes)

    def batch(self, rows: Sequence[int]) -> dict[str, Tensor]:
        """Examples `rows` as one batch, padded to its longest: (B, T) and (B,) tensors."""
        return collate([{name: v[i] for name, v in self.features.items()} for i in rows],
                       self.pad_id)

    def batches(self, batch_size: int) -> Iterator[dict[str, Tensor]]:
        """Every example, in order, batch_size at a time."""
        for start in range(0, len(self), batch_size):
            yield self.batch(range(start, min(len(self), start + batch_size)))

    def outputs(
        self, model: BertPreTrainedModel, batch_size: int = 64
    ) -> Iterator[tuple[Any, int]]:
        """Run the model over the data in order, without labels: (output, batch length) pairs."""
        check_model_for(model, self)
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for batch in self.batches(batch_size):
                    inputs = {name: batch[name].to(device) for name in MODEL_INPUTS}
                    yield model(**inputs), batch["input_ids"].size(1)
        finally:
            model.train(was_training)

    def predict(self, model: BertPreTrainedModel, batch_size: int = 64) -> list[Any]:
        """The model's prediction for every example, in the task's own terms."""
        raise NotImplementedError

    def score(self, predictions: Sequence[Any]) -> dict[str, float]:
        """The task's metrics for these predictions against the gold labels."""
        raise NotImplementedError

    def evaluate(self, model: BertPreTrainedModel, batch_size: int = 64) -> dict[str, float]:
        """Predict, then score: the numbers a chapter reports."""
        return self.score(self.predict(model, batch_size))


def check_model_for(model: BertPreTrainedModel, data: TaskData) -> None:
    """Refuse a model whose head does not fit the task, before a shape error deep in torch."""
    if not isinstance(model, data.model_class):
        raise TypeError(
            f"{type(data).__name__} needs a {data.model_class.__name__}, got "
            f"{type(model).__name__}; build one with {data.model_class.__name__}.from_pretrained"
        )
    vocab_size = model.config.vocab_size
    top = max((max(row) for row in data.features["input_ids"]), default=0)
    if top >= vocab_size:
        raise ValueError(
            f"the data holds token id {top} but the model's vocabulary has {vocab_size} tokens: "
            "encode the data with the tokenizer saved beside the model"
        )


def _check_length(max_length: int) -> None:
    if not isinstance(max_length, int) or max_length < 8:
        raise ValueError(f"max_length must be an int >= 8, got {max_length!r}")


def _features(encodings: Sequence[Encoding]) -> dict[str, list[Any]]:
    """The token lists a model reads, one per example (collate adds attention_mask)."""
    return {"input_ids": [e.input_ids for e in encodings],
            "token_type_ids": [e.token_type_ids for e in encodings]}


@dataclass
class SentenceClassificationData(TaskData):
    """Texts with one class each (sentiment): the head reads the pooled [CLS] vector."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    label_names: tuple[str, ...] = SENTIMENT_LABELS

    model_class: ClassVar[type[BertPreTrainedModel]] = BertForSequenceClassification
    main_metric: ClassVar[str] = "accuracy"

    def logits(self, model: BertPreTrainedModel, batch_size: int = 64) -> Tensor:
        """Class scores (N, num_labels) for every text."""
        return torch.cat([output.logits for output, _ in self.outputs(model, batch_size)])

    def predict(self, model: BertPreTrainedModel, batch_size: int = 64) -> list[int]:
        """The most likely class of every text."""
        return self.logits(model, batch_size).argmax(-1).tolist()

    def score(self, predictions: Sequence[int]) -> dict[str, float]:
        """Accuracy and macro F1 (the mean over classes of each class's F1)."""
        return {
            "accuracy": accuracy(self.labels, predictions),
            "f1": macro_f1(self.labels, predictions, len(self.label_names)),
        }


def encode_sentences(
    tokenizer: BertTokenizer,
    examples: Sequence[LabeledReview] | Sequence[tuple[str, int]],
    max_length: int = 64,
    label_names: tuple[str, ...] = SENTIMENT_LABELS,
) -> SentenceClassificationData:
    """Encode labelled texts ([CLS] text [SEP]) for sentence classification."""
    _check_length(max_length)
    texts: list[str] = []
    labels: list[int] = []
    for index, example in enumerate(examples):
        if isinstance(example, LabeledReview):
            text, label = example.text, example.label
        else:
            text, label = example
        if not isinstance(label, int) or not 0 <= label < len(label_names):
            raise ValueError(
                f"example {index} has label {label!r}; "
                f"labels are class ids 0..{len(label_names) - 1}"
            )
        texts.append(text)
        labels.append(label)
    if not texts:
        raise ValueError("no examples to encode")
    features = _features(tokenizer.encode_batch(texts, max_length=max_length, padding=False))
    features["labels"] = labels
    return SentenceClassificationData(features, tokenizer.pad_token_id, texts, labels,
                                      tuple(label_names))


@dataclass
class TokenClassificationData(TaskData):
    """Sentences as words with one BIO tag each: the head reads every token's vector."""

    words: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    word_ids: list[list[int | None]] = field(default_factory=list)
    label_names: tuple[str, ...] = NER_LABELS

    model_class: ClassVar[type[BertPreTrainedModel]] = BertForTokenClassification
    main_metric: ClassVar[str] = "f1"

    def predict(self, model: BertPreTrainedModel, batch_size: int = 64) -> list[list[str]]:
        """One tag per word, read off each word's first piece ('O' for words truncated away)."""
        token_predictions: list[list[int]] = []
        for output, _ in self.outputs(model, batch_size):
            token_predictions += output.logits.argmax(-1).tolist()  # (B, T') -> lists
        tags = []
        for words, word_ids, row in zip(self.words, self.word_ids, token_predictions, strict=True):
            ids = word_predictions(word_ids, row[: len(word_ids)], len(words))
            tags.append([self.label_names[i] for i in ids])
        return tags

    def score(self, predictions: Sequence[Sequence[str]]) -> dict[str, float]:
        """Entity precision, recall and F1 (exact span and type), and per-word tag accuracy."""
        scores = entity_scores(self.tags, predictions)
        pairs = [(g, p) for gs, ps in zip(self.tags, predictions, strict=True)
                 for g, p in zip(gs, ps, strict=True)]
        scores["word_accuracy"] = sum(g == p for g, p in pairs) / len(pairs)
        return scores


def encode_entities(
    tokenizer: BertTokenizer,
    examples: Sequence[tuple[Sequence[str], Sequence[str]]],
    max_length: int = 64,
    label_names: tuple[str, ...] = NER_LABELS,
) -> TokenClassificationData:
    """Encode (words, BIO tags) sentences, labelling each word's first WordPiece only."""
    _check_length(max_length)
    label_ids = {name: i for i, name in enumerate(label_names)}
    texts: list[str] = []
    all_words: list[list[str]] = []
    all_tags: list[list[str]] = []
    spans: list[list[tuple[int, int]]] = []
    for index, (words, tags) in enumerate(examples):
        if len(words) != len(tags):
            raise ValueError(f"sentence {index} has {len(words)} words but {len(tags)} tags")
        unknown = sorted(set(tags) - set(label_ids))
        if unknown:
            raise ValueError(f"sentence {index} uses tags {unknown} not in {label_names}")
        text, word_spans = detokenize(words)
        texts.append(text)
        spans.append(word_spans)
        all_words.append(list(words))
        all_tags.append(list(tags))
    if not texts:
        raise ValueError("no sentences to encode")
    encodings = tokenizer.encode_batch(texts, max_length=max_length, padding=False)
    word_ids = [word_ids_from_offsets(e.offsets, s) for e, s in zip(encodings, spans, strict=True)]
    features = _features(encodings)
    features["labels"] = [
        align_labels_to_tokens(ids, [label_ids[t] for t in tags])
        for ids, tags in zip(word_ids, all_tags, strict=True)
    ]
    return TokenClassificationData(features, tokenizer.pad_token_id, all_words, all_tags,
                                   word_ids, tuple(label_names))


@dataclass
class QuestionAnsweringData(TaskData):
    """Question + passage pairs whose answer is a span of the passage, located by token offsets.

    The rule for answers truncated away: when `max_length` cuts the passage before the
    answer ends, the example's start and end positions point at [CLS] (position 0), the
    convention SQuAD 2.0 uses for "no answer here", and `answer_in_window` is False. The
    model still has to answer it at evaluation, which scores it against the true answer,
    so truncation shows up as lost points instead of vanishing from the test set.
    """

    examples: list[QAExample] = field(default_factory=list)
    offsets: list[list[tuple[int, int] | None]] = field(default_factory=list)
    passage_mask: list[list[bool]] = field(default_factory=list)  # the tokens an answer may use
    answer_in_window: list[bool] = field(default_factory=list)
    max_answer_tokens: int = 30

    model_class: ClassVar[type[BertPreTrainedModel]] = BertForQuestionAnswering
    main_metric: ClassVar[str] = "f1"

    def spans(self, model: BertPreTrainedModel, batch_size: int = 64) -> list[tuple[int, int]]:
        """The best-scoring (start, end) passage tokens for every example."""
        found: list[tuple[int, int]] = []
        row = 0
        for output, length in self.outputs(model, batch_size):
            pairs = zip(output.start_logits.cpu(), output.end_logits.cpu(), strict=True)
            for start_logits, end_logits in pairs:
                mask = self.passage_mask[row]
                allowed = torch.tensor(mask + [False] * (length - len(mask)))  # (T,)
                start, end, _ = best_span(start_logits, end_logits, allowed, self.max_answer_tokens)
                found.append((start, end))
                row += 1
        return found

    def predict(self, model: BertPreTrainedModel, batch_size: int = 64) -> list[str]:
        """The predicted answer text of every example, cut from its passage via offsets."""
        return [
            span_text(example.context, offsets, start, end)
            for example, offsets, (start, end) in zip(
                self.examples, self.offsets, self.spans(model, batch_size), strict=True
            )
        ]

    def score(self, predictions: Sequence[str]) -> dict[str, float]:
        """SQuAD's exact match and token F1, averaged over examples, plus the share truncated."""
        check_pairs(self.examples, predictions)
        answers = [example.answer for example in self.examples]
        pairs = list(zip(predictions, answers, strict=True))
        return {
            "exact_match": float(np.mean([exact_match(p, g) for p, g in pairs])),
            "f1": float(np.mean([token_f1(p, g) for p, g in pairs])),
            "truncated": 1.0 - float(np.mean(self.answer_in_window)),
        }


def encode_questions(
    tokenizer: BertTokenizer,
    examples: Sequence[QAExample],
    max_length: int = 128,
    max_answer_tokens: int = 30,
) -> QuestionAnsweringData:
    """Encode [CLS] question [SEP] passage [SEP] with the answer's start and end tokens."""
    _check_length(max_length)
    if not examples:
        raise ValueError("no questions to encode")
    for index, example in enumerate(examples):
        found = example.context[example.answer_start : example.answer_start + len(example.answer)]
        if found != example.answer:
            raise ValueError(
                f"question {index}: answer {example.answer!r} is not at character "
                f"{example.answer_start} of its passage (found {found!r})"
            )
    encodings = tokenizer.encode_batch([e.question for e in examples],
                                       [e.context for e in examples], max_length=max_length,
                                       padding=False)
    starts: list[int] = []
    ends: list[int] = []
    inside: list[bool] = []
    for example, encoding in zip(examples, encodings, strict=True):
        span = answer_token_span(
            encoding.offsets,
            encoding.token_type_ids,
            example.answer_start,
            example.answer_start + len(example.answer),
        )
        inside.append(span is not None)
        start, end = span if span is not None else (0, 0)  # [CLS]: "not in this window"
        starts.append(start)
        ends.append(end)
    features = _features(encodings)
    features["start_positions"] = starts
    features["end_positions"] = ends
    passage_mask = [[t == 1 and o is not None for t, o in zip(e.token_type_ids, e.offsets,
                                                             strict=True)] for e in encodings]
    return QuestionAnsweringData(features, tokenizer.pad_token_id, list(examples),
                                 [list(e.offsets) for e in encodings], passage_mask, inside,
                                 max_answer_tokens)


# ---------------------------------------------------------------------------------------------
# Fine-tuning: the shared training loop (bertlab.train), one epoch after another
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides a fine-tuning run besides the model and the data."""

    epochs: int = 5
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    patience: int = 2  # epochs without a better validation score before stopping
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainingSettings.{name} must be a positive int, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")


@dataclass
class TrainingResult:
    """What a run did: per-epoch training loss and validation scores, and the epoch kept."""

    train_loss: list[float]
    validation: list[dict[str, float]]
    best_epoch: int  # 1-based; the weights the model holds after training
    stopped_early: bool
    steps: int

    @property
    def best(self) -> dict[str, float]:
        """Validation scores of the kept epoch (empty without a validation split)."""
        return self.validation[self.best_epoch - 1] if self.validation else {}


class TaskTrainer(Trainer):
    """The shared loop on a task's data: epochs of shuffled batches, the model's own loss.

    Each model computes its loss from the labels in the batch (the mean over the batch), so
    one trainer serves every head. Epoch e visits the examples in an order fixed by (seed, e).
    """

    def __init__(self, model: BertPreTrainedModel, data: TaskData, settings: TrainingSettings,
                 evaluate: Callable[[Any], Any], progress: bool = True) -> None:
        self.data, self.batch_size = data, settings.batch_size
        self.steps_per_epoch = math.ceil(len(data) / settings.batch_size)
        config = TrainingConfig(
            steps=self.steps_per_epoch * settings.epochs, batch_size=settings.batch_size,
            learning_rate=settings.learning_rate, warmup_fraction=settings.warmup_ratio,
            weight_decay=settings.weight_decay, adam_epsilon=1e-8,
            max_grad_norm=settings.max_grad_norm,
            eval_every=self.steps_per_epoch, seed=settings.seed, mixed_precision=False)
        super().__init__(model, config, evaluate=evaluate, device=next(model.parameters()).device,
                         progress=progress, desc="fine-tuning")

    def examples(self, step: int) -> list[int]:
        """The rows of step `step`: the next batch_size of its epoch's shuffled order."""
        epoch, offset = divmod(step, self.steps_per_epoch)
        order = epoch_order(len(self.data), epoch, self.config.seed)
        return order[offset * self.batch_size:(offset + 1) * self.batch_size]

    def collate(self, rows: Sequence[int]) -> dict[str, Tensor]:
        """The rows as one padded batch."""
        return self.data.batch(rows)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The model's own loss: the mean over the batch."""
        return {"loss": self.module(**batch).loss}

    def divisors(self, rows: Sequence[int]) -> dict[str, int]:
        """A mean already (and a step is one micro-batch): divide by nothing."""
        return {"loss": 1}


def fine_tune(
    model: BertPreTrainedModel,
    train: TaskData,
    validation: TaskData | None = None,
    settings: TrainingSettings | None = None,
    progress: bool = True,
) -> TrainingResult:
    """Train a task model on `train`, keeping the weights of its best validation epoch.

    The same loop serves every head (and pretraining): AdamW, warmup and linear decay,
    clipping. Early stopping: after `patience` epochs without a better score on `validation`
    (the task's main metric), training stops and the best weights come back. Seeded: the same
    settings give the same numbers on CPU. Batches go to the device the model is on, so
    `model.to("cuda")` before the call is all a GPU needs.
    """
    settings = settings or TrainingSettings()
    check_model_for(model, train)
    if validation is not None:
        check_model_for(model, validation)
    if len(train) == 0:
        raise ValueError("the training set is empty")
    result = TrainingResult([], [], settings.epochs, False, 0)
    best: dict[str, Any] = {"score": -math.inf, "state": None}
    sizes = [min(settings.batch_size, len(train) - start)  # the batches of an epoch
             for start in range(0, len(train), settings.batch_size)]

    def end_of_epoch(trainer: TaskTrainer) -> None:
        """Log the epoch's training loss; score it on validation, keep it if best, stop early."""
        epoch = trainer.step // trainer.steps_per_epoch
        losses = trainer.history.losses()[-len(sizes):]
        result.train_loss.append(sum(x * n for x, n in zip(losses, sizes, strict=True))
                                 / len(train))
        if validation is None:
            return
        result.validation.append(validation.evaluate(model))
        score = result.validation[-1][validation.main_metric]
        if score > best["score"]:
            best["score"], result.best_epoch = score, epoch
            best["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - result.best_epoch >= settings.patience:
            result.stopped_early = epoch < settings.epochs
            trainer.stop_requested = True

    trainer = TaskTrainer(model, train, settings, end_of_epoch, progress)
    trainer.train()
    result.steps = trainer.step
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model.eval()
    return result


# ---------------------------------------------------------------------------------------------
# What pretraining buys: a learning curve on the held-out-adjective sentiment split
# ---------------------------------------------------------------------------------------------


@dataclass
class LearningCurve:
    """Test scores per number of labelled examples, one per seed, for one starting point."""

    name: str
    scores: dict[int, list[float]] = field(default_factory=dict)

    @property
    def label_counts(self) -> list[int]:
        """The numbers of labelled examples measured, ascending."""
        return sorted(self.scores)

    def mean(self, n: int) -> float:
        """The mean over seeds at `n` labels."""
        return float(np.mean(self.scores[n]))

    def spread(self, n: int) -> float:
        """The standard deviation over seeds at `n` labels (0 for a single seed)."""
        values = self.scores[n]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    def table(self) -> list[tuple[int, float, float, float, float]]:
        """Rows of (labels, mean, std, min, max)."""
        return [
            (n, self.mean(n), self.spread(n), min(self.scores[n]), max(self.scores[n]))
            for n in self.label_counts
        ]


def learning_curve(
    name: str,
    make_model: Callable[[], BertForSequenceClassification],
    tokenizer: BertTokenizer,
    split: SentimentSplit,
    label_counts: Sequence[int],
    seeds: Sequence[int],
    settings: TrainingSettings,
    validation_size: int = 100,
    min_steps: int = 30,
    progress: bool = True,
) -> LearningCurve:
    """Fine-tune from `make_model()` on n labelled reviews per seed; score on held-out adjectives.

    The labelled examples are drawn per seed from `split.train` (after setting aside
    `validation_size` reviews for early stopping: they use the train adjectives too, so model
    selection never peeks at the test adjectives). Small label counts get more epochs, at
    least `min_steps` updates, so every run trains for a comparable number of steps.
    """
    if validation_size >= len(split.train):
        raise ValueError(
            f"validation_size={validation_size} leaves none of the {len(split.train)} "
            "training reviews to learn from"
        )
    pool = encode_sentences(tokenizer, split.train[validation_size:])
    validation = encode_sentences(tokenizer, split.train[:validation_size])
    test = encode_sentences(tokenizer, split.test)
    too_many = [n for n in label_counts if n > len(pool)]
    if too_many:
        raise ValueError(f"label counts {too_many} exceed the {len(pool)} training reviews")
    curve = LearningCurve(name)
    runs = [(n, seed) for n in label_counts for seed in seeds]
    bar = tqdm(runs, disable=not progress, file=sys.stderr, desc=name, mininterval=1.0,
               dynamic_ncols=True)
    for n, seed in bar:
        chosen = random.Random(seed * 1_000_003 + n).sample(range(len(pool)), n)
        epochs = max(settings.epochs, math.ceil(min_steps / math.ceil(n / settings.batch_size)))
        set_seed(seed)
        model = make_model()
        fine_tune(model, pool.select(chosen), validation,
                  replace(settings, seed=seed, epochs=epochs), progress=False)
        curve.scores.setdefault(n, []).append(test.evaluate(model)["accuracy"])
        bar.set_postfix(labels=n, seed=seed, accuracy=f"{curve.scores[n][-1]:.3f}")
    return curve


@dataclass
class Answer:
    """A predicted answer: its text and characters in the passage, and the model's beliefs."""

    text: str
    start_char: int
    end_char: int
    score: float  # start logit + end logit of the chosen span
    tokens: list[str]  # the passage's tokens, in order
    start_probs: np.ndarray  # P(answer starts at passage token i)
    end_probs: np.ndarray  # P(answer ends at passage token i)


def answer_question(
    model: BertForQuestionAnswering,
    tokenizer: BertTokenizer,
    question: str,
    passage: str,
    max_length: int = 128,
    max_answer_tokens: int = 30,
) -> Answer:
    """Ask a fine-tuned QA model one question about one passage; the answer is a passage span."""
    if not isinstance(model, BertForQuestionAnswering):
        raise TypeError(
            f"answer_question needs a BertForQuestionAnswering, got {type(model).__name__}"
        )
    if not question.strip() or not passage.strip():
        raise ValueError("both the question and the passage must hold some text")
    encoding = tokenizer.encode(question, passage, max_length=max_length)
    device = next(model.parameters()).device
    inputs = {name: _tensor([getattr(encoding, name)]).to(device) for name in MODEL_INPUTS}
    model.eval()
    with torch.no_grad():
        output = model(**inputs)  # start and end logits: (1, T) each
    allowed = torch.tensor(
        [t == 1 and o is not None for t, o in zip(encoding.token_type_ids, encoding.offsets,
                                                  strict=True)]
    )
    start_logits, end_logits = output.start_logits[0].cpu(), output.end_logits[0].cpu()  # (T,)
    start, end, score = best_span(start_logits, end_logits, allowed, max_answer_tokens)
    first, last = encoding.offsets[start], encoding.offsets[end]
    assert first is not None and last is not None  # best_span only picks passage tokens
    passage_tokens = [tok for tok, ok in zip(encoding.tokens, allowed.tolist(), strict=True) if ok]
    return Answer(
        text=passage[first[0] : last[1]],
        start_char=first[0],
        end_char=last[1],
        score=score,
        tokens=passage_tokens,
        start_probs=torch.softmax(start_logits[allowed], -1).numpy(),
        end_probs=torch.softmax(end_logits[allowed], -1).numpy(),
    )
