"""MLM + NSP pretraining (chapter 05): from documents to a BERT that fills in blanks.

The data side follows google-research/bert's `create_pretraining_data.py`: `make_nsp_pairs`
cuts each document into segment pairs (half of them with a segment B from another document,
some of them short, truncated longest-first from a random end) and `mask_tokens` hides 15% of
the tokens (80% [MASK], 10% a random token, 10% unchanged, never [CLS]/[SEP]/[PAD], at most
`max_predictions` per sequence, optionally whole words). bertlab differs on purpose in three
places, each said where it happens: random replacements are never special tokens, a random
segment B always comes from another document, and masks can be drawn afresh every epoch
(dynamic masking, as RoBERTa does) instead of once (static, as the original).

The training side is `Pretrainer`: AdamW with warmup and linear decay, gradient clipping and
accumulation, periodic held-out evaluation, bf16 autocast on a GPU, DistributedDataParallel
under torchrun, and checkpoints (safetensors + JSON, nothing pickled) that resume to the exact
same numbers. Every random choice is a function of (seed, epoch, example) or of a saved RNG
state, so a run that stops and resumes equals a run that never stopped.

The MLM loss of one optimizer step is the sum of cross-entropies over the masked tokens of the
whole step divided by their count, however the step is split into micro-batches or processes:
so gradient accumulation and two processes give the same update as one big batch.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import Tensor, nn

from bertlab import hf
from bertlab.course_model import sha256
from bertlab.model import IGNORE_INDEX, BertConfig, BertForPreTraining
from bertlab.sparse_mlm import SparseMlmPreTraining
from bertlab.tokenizer import CONTINUATION, BertTokenizer

MASK_PROB = 0.15  # share of tokens the model must predict
MAX_PREDICTIONS = 20  # cap per sequence (the reference uses 20 for 128-token sequences)
SHORT_SEQ_PROB = 0.1  # share of pairs cut shorter, so the model also sees short inputs
NSP_NEXT, NSP_RANDOM = 0, 1  # next_sentence_label: 0 = B follows A, 1 = B is random
CHECKPOINT_DIR = "checkpoint"  # beside it, while one is being replaced: .partial and .old
PRETRAINED_MODEL_DIR = "tinybert"  # under artifacts_dir(): what chapter 06 loads
RUN_INFO = "pretraining.json"  # beside a saved model: preset, steps, metrics
MIN_NSP_SHARE = 0.05  # text whose pairs are almost all one NSP label cannot teach NSP

# ============================================================================ masking


@dataclass(frozen=True)
class MaskingScheme:
    """What masking needs to know about the vocabulary, and the rates it hides tokens at."""

    mask_id: int
    never_mask: frozenset[int]  # [CLS], [SEP], [PAD], [MASK]: structure, not text
    random_ids: tuple[int, ...]  # what the 10% "random token" case draws from
    continuation_ids: frozenset[int]  # "##" pieces: glued to the previous piece (whole words)
    mask_prob: float = MASK_PROB
    max_predictions: int = MAX_PREDICTIONS
    whole_word: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_prob < 1.0:
            raise ValueError(f"mask_prob must be between 0 and 1, got {self.mask_prob}")
        if self.max_predictions < 1:
            raise ValueError(f"max_predictions must be at least 1, got {self.max_predictions}")
        if not self.random_ids:
            raise ValueError("the vocabulary has no ordinary tokens to draw random replacements")

    @classmethod
    def for_tokenizer(
        cls,
        tokenizer: BertTokenizer,
        mask_prob: float = MASK_PROB,
        max_predictions: int = MAX_PREDICTIONS,
        whole_word: bool = False,
    ) -> MaskingScheme:
        """Read the special and continuation ids off a tokenizer's vocabulary."""
        vocab = tokenizer.vocab
        never = frozenset(vocab[t] for t in ("[CLS]", "[SEP]", "[PAD]", "[MASK]"))
        special = set(tokenizer.special_ids)
        random_ids = tuple(i for i in range(tokenizer.vocab_size) if i not in special)
        continuation = frozenset(
            i for i, t in enumerate(tokenizer.ids_to_tokens) if t.startswith(CONTINUATION)
        )
        return cls(
            tokenizer.mask_token_id, never, random_ids, continuation, mask_prob,
            max_predictions, whole_word,
        )


@dataclass(frozen=True)
class MaskedTokens:
    """A sequence after masking: what the model reads, and what it must predict where."""

    input_ids: list[int]
    labels: list[int]  # the original id at each selected position, IGNORE_INDEX elsewhere

    @property
    def positions(self) -> list[int]:
        """The selected positions (whatever replaced them: [MASK], random or unchanged)."""
        return [i for i, label in enumerate(self.labels) if label != IGNORE_INDEX]


def mask_tokens(ids: Sequence[int], scheme: MaskingScheme, rng: random.Random) -> MaskedTokens:
    """Choose ~15% of the positions to predict and hide them 80/10/10, as the reference does.

    The number to predict is round(len(ids) * mask_prob) (at least 1, at most
    max_predictions). With whole-word masking a word's pieces are chosen together, and a word
    that would overshoot the number is skipped. Each chosen piece is replaced by [MASK] with
    probability 0.8, by a random ordinary token with 0.1, and kept with 0.1: the model cannot
    tell which tokens it will be asked about, so it must keep a good vector for every token.
    """
    candidates: list[list[int]] = []
    for i, token in enumerate(ids):
        if token in scheme.never_mask:
            continue
        if scheme.whole_word and candidates and token in scheme.continuation_ids and (
            candidates[-1][-1] == i - 1
        ):
            candidates[-1].append(i)
        else:
            candidates.append([i])
    rng.shuffle(candidates)
    n_predict = min(scheme.max_predictions, max(1, round(len(ids) * scheme.mask_prob)))
    output = list(ids)
    labels = [IGNORE_INDEX] * len(ids)
    chosen = 0
    for word in candidates:
        if chosen >= n_predict:
            break
        if chosen + len(word) > n_predict:
            continue
        for i in word:
            if rng.random() < 0.8:
                output[i] = scheme.mask_id
            elif rng.random() < 0.5:
                output[i] = scheme.random_ids[rng.randrange(len(scheme.random_ids))]
            # else: keep the original token
            labels[i] = ids[i]
            chosen += 1
    return MaskedTokens(output, labels)


# ============================================================================ NSP pairs


@dataclass(frozen=True)
class NspPair:
    """Two segments for next-sentence prediction, and where they came from."""

    tokens_a: list[int]
    tokens_b: list[int]
    is_random_next: bool
    document: int  # index of the document segment A came from
    b_document: int  # index of the document segment B came from

    def encode(self, cls_id: int, sep_id: int) -> tuple[list[int], list[int]]:
        """[CLS] A [SEP] B [SEP] and its segment ids (0 for A's part, 1 for B's)."""
        ids = [cls_id, *self.tokens_a, sep_id, *self.tokens_b, sep_id]
        types = [0] * (len(self.tokens_a) + 2) + [1] * (len(self.tokens_b) + 1)
        return ids, types


def tokenize_documents(
    documents: Sequence[Sequence[str]], tokenizer: BertTokenizer
) -> list[list[list[int]]]:
    """Token ids of every sentence of every document; empty sentences and documents dropped."""
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise TypeError("documents must be a list of documents, each a list of sentence strings")
    tokenized = []
    for doc in documents:
        if isinstance(doc, str):
            raise TypeError("each document must be a list of sentences, not one string")
        sentences = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(s)) for s in doc]
        sentences = [s for s in sentences if s]
        if sentences:
            tokenized.append(sentences)
    return tokenized


def truncate_pair(a: list[int], b: list[int], max_tokens: int, rng: random.Random) -> None:
    """Cut a and b in place to max_tokens in all: always the longer one, from a random end.

    Cutting from either end (the reference's choice) keeps the model from learning that
    text near a [SEP] is always a sentence boundary.
    """
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _pairs_from_document(
    documents: Sequence[Sequence[Sequence[int]]],
    index: int,
    max_tokens: int,
    short_seq_prob: float,
    rng: random.Random,
) -> list[NspPair]:
    """google-research/bert's create_instances_from_document, on token ids."""
    document = documents[index]
    target = max_tokens
    if rng.random() < short_seq_prob:
        target = rng.randint(2, max_tokens)
    pairs: list[NspPair] = []
    chunk: list[Sequence[int]] = []
    length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        length += len(document[i])
        if i == len(document) - 1 or length >= target:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for sentence in chunk[:a_end] for t in sentence]
            tokens_b: list[int] = []
            is_random = rng.random() < 0.5 or len(document) == 1
            if not is_random and len(chunk) == 1:
                # the reference makes every one-sentence chunk a negative, which tips the
                # labels towards "random"; bertlab pairs it with a neighbouring sentence instead
                if i + 1 < len(document):
                    i += 1
                    tokens_b = list(document[i])
                else:
                    tokens_a, tokens_b = list(document[i - 1]), tokens_a
                b_document = index
            elif is_random:
                # a random B, from any other document (the reference may, rarely, pick its own)
                other = rng.randrange(len(documents) - 1)
                other += other >= index
                random_doc = documents[other]
                for sentence in random_doc[rng.randrange(len(random_doc)):]:
                    tokens_b.extend(sentence)
                    if len(tokens_b) >= target - len(tokens_a):
                        break
                i -= len(chunk) - a_end  # the unused sentences start the next chunk
                b_document = other
            else:
                tokens_b = [t for sentence in chunk[a_end:] for t in sentence]
                b_document = index
            truncate_pair(tokens_a, tokens_b, max_tokens, rng)
            pairs.append(NspPair(tokens_a, tokens_b, is_random, index, b_document))
            chunk, length = [], 0
        i += 1
    return pairs


def make_nsp_pairs(
    documents: Sequence[Sequence[Sequence[int]]],
    max_seq_length: int,
    rng: random.Random,
    short_seq_prob: float = SHORT_SEQ_PROB,
    dupe_factor: int = 1,
) -> list[NspPair]:
    """Cut tokenized documents into NSP pairs that fit max_seq_length with their 3 specials.

    Each document is read in chunks of about max_seq_length tokens; a chunk's first few
    sentences become segment A. Half the time B is the rest of the chunk (label 0); otherwise
    B is text from another document (label 1) and the sentences not used are kept for the
    next chunk. With probability short_seq_prob a document aims for a shorter random length.
    Unlike the reference, a chunk of one sentence is not always a negative: it borrows its
    neighbouring sentence for a true pair half the time, so the labels stay 50/50.

    dupe_factor is the reference's flag of that name: the corpus is cut this many times, each
    time with other splits and other random segments B. With one cut, a model trained for many
    epochs can memorize which pairs are negatives instead of learning to tell.
    """
    if not isinstance(dupe_factor, int) or dupe_factor < 1:
        raise ValueError(f"dupe_factor must be a positive integer, got {dupe_factor!r}")
    if max_seq_length < 5:
        raise ValueError(f"max_seq_length must be at least 5 ([CLS] a [SEP] b [SEP]), got "
                         f"{max_seq_length}")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}")
    documents = [doc for doc in documents if any(doc)]
    if len(documents) < 2:
        raise ValueError("next-sentence prediction needs at least two non-empty documents")
    documents = [[s for s in doc if s] for doc in documents]
    pairs: list[NspPair] = []
    for _ in range(dupe_factor):
        for index in range(len(documents)):
            pairs.extend(_pairs_from_document(documents, index, max_seq_length - 3,
                                              short_seq_prob, rng))
    return pairs


# ============================================================================ dataset + collator


class PretrainingDataset:
    """NSP pairs made once, masked on access: the same mask every epoch, or a fresh one.

    The mask of pair i in epoch e is drawn from an RNG seeded with (seed, e, i) (e = 0 when
    masking is static), so any example can be rebuilt at any time: a resumed run, or another
    process, sees exactly the masks the original run saw, with no RNG state to carry.
    """

    def __init__(
        self,
        pairs: Sequence[NspPair],
        scheme: MaskingScheme,
        cls_id: int,
        sep_id: int,
        seed: int = 0,
        dynamic: bool = True,
    ) -> None:
        if not pairs:
            raise ValueError("a pretraining dataset needs at least one NSP pair")
        self.pairs = list(pairs)
        self.scheme = scheme
        self.cls_id, self.sep_id = cls_id, sep_id
        self.seed = seed
        self.dynamic = dynamic

    @classmethod
    def from_documents(
        cls,
        documents: Sequence[Sequence[str]],
        tokenizer: BertTokenizer,
        max_seq_length: int,
        seed: int = 0,
        dynamic: bool = True,
        whole_word: bool = False,
        short_seq_prob: float = SHORT_SEQ_PROB,
        dupe_factor: int = 1,
    ) -> PretrainingDataset:
        """Tokenize documents, cut them into NSP pairs and set up masking, all from one seed."""
        tokenized = tokenize_documents(documents, tokenizer)
        pairs = make_nsp_pairs(tokenized, max_seq_length, random.Random(seed), short_seq_prob,
                               dupe_factor)
        scheme = MaskingScheme.for_tokenizer(tokenizer, whole_word=whole_word)
        return cls(pairs, scheme, tokenizer.cls_token_id, tokenizer.sep_token_id, seed, dynamic)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.example(index)

    def example(self, index: int, epoch: int = 0) -> dict[str, Any]:
        """Pair `index` as model inputs, masked as epoch `epoch` masks it."""
        pair = self.pairs[index]
        ids, types = pair.encode(self.cls_id, self.sep_id)
        mask_epoch = epoch if self.dynamic else 0
        masked = mask_tokens(ids, self.scheme, random.Random(f"{self.seed}:{mask_epoch}:{index}"))
        return {
            "input_ids": masked.input_ids,
            "token_type_ids": types,
            "labels": masked.labels,
            "next_sentence_label": NSP_RANDOM if pair.is_random_next else NSP_NEXT,
        }


def collate(examples: Sequence[dict[str, Any]], pad_id: int = 0) -> dict[str, Tensor]:
    """Pad examples to the longest of the batch and stack them into model inputs."""
    if not examples:
        raise ValueError("cannot collate an empty batch")
    length = max(len(e["input_ids"]) for e in examples)

    def padded(key: str, value: int) -> Tensor:
        rows = [list(e[key]) + [value] * (length - len(e[key])) for e in examples]
        return torch.tensor(rows, dtype=torch.long)  # (B, T)

    return {
        "input_ids": padded("input_ids", pad_id),
        "token_type_ids": padded("token_type_ids", 0),
        "attention_mask": torch.tensor(
            [[1] * len(e["input_ids"]) + [0] * (length - len(e["input_ids"])) for e in examples],
            dtype=torch.long,
        ),
        "labels": padded("labels", IGNORE_INDEX),
        "next_sentence_label": torch.tensor(
            [e["next_sentence_label"] for e in examples], dtype=torch.long
        ),
    }


def epoch_order(n: int, epoch: int, seed: int) -> list[int]:
    """The shuffled order of examples in an epoch: a function of (seed, epoch) alone."""
    order = list(range(n))
    random.Random(f"order:{seed}:{epoch}").shuffle(order)
    return order


LENGTH_GROUP = 50  # batches whose examples are sorted by length together


def epoch_batches(
    lengths: Sequence[int], batch_size: int, epoch: int, seed: int
) -> list[list[int]]:
    """The batches of an epoch: shuffled, then grouped by length so little is padding.

    The shuffled order is cut into groups of LENGTH_GROUP batches; each group is sorted by
    length and cut into batches, and the batches are shuffled. A batch pads to its longest
    pair, so mixing a 12-token pair with a 61-token one wastes most of a row: on TinyWorld
    grouping removes about a third of the work. A function of (seed, epoch) alone; the last
    incomplete batch is dropped.
    """
    order = epoch_order(len(lengths), epoch, seed)
    order = order[:len(order) - len(order) % batch_size]
    group = batch_size * LENGTH_GROUP
    batches = []
    for start in range(0, len(order), group):
        chunk = sorted(order[start:start + group], key=lambda i: lengths[i])
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    random.Random(f"batches:{seed}:{epoch}").shuffle(batches)
    return batches


# ============================================================================ the objective


def pretraining_loss_sums(
    model: nn.Module, batch: dict[str, Tensor]
) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Summed MLM and NSP cross-entropies of a batch (sums, so a caller can normalize globally).

    MLM logits come from bertlab's sparse head: only the labelled rows (N, vocab), never the
    (B, T, vocab) tensor. Returns (mlm_sum, nsp_sum, counts) with counts of correct guesses.
    """
    if isinstance(model, BertForPreTraining):
        model = SparseMlmPreTraining(model)
    output = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        token_type_ids=batch["token_type_ids"],
        labels=batch["labels"],
    )
    targets = batch["labels"][output.prediction_mask]  # (N,)
    logits = output.prediction_logits.float()  # (N, V)
    nsp_logits = output.seq_relationship_logits.float()  # (B, 2)
    mlm_sum = F.cross_entropy(logits, targets, reduction="sum")
    nsp_sum = F.cross_entropy(nsp_logits, batch["next_sentence_label"], reduction="sum")
    counts = {
        "mlm_correct": (logits.argmax(-1) == targets).sum().detach(),
        "nsp_correct": (nsp_logits.argmax(-1) == batch["next_sentence_label"]).sum().detach(),
    }
    return mlm_sum, nsp_sum, counts


def linear_warmup_decay(step: int, warmup_steps: int, total_steps: int) -> float:
    """The learning-rate multiplier: 0 -> 1 over warmup, then linearly back to 0 at the end.

    Warmup keeps Adam's first, badly estimated updates small; the decay lets the last steps
    settle. `step` counts optimizer steps already taken (LambdaLR's convention).
    """
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def adamw_param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay matrices only: biases and LayerNorm weights (1-D) are left alone, as BERT does."""
    decay, no_decay = [], []
    for _, parameter in model.named_parameters():
        if parameter.requires_grad:
            (decay if parameter.dim() >= 2 else no_decay).append(parameter)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


# ============================================================================ training


@dataclass
class TrainingConfig:
    """Every knob of a pretraining run (saved in checkpoints; a resume reuses it)."""

    steps: int
    batch_size: int = 64  # sequences per optimizer step, over all processes and micro-batches
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    accumulation_steps: int = 1
    eval_every: int = 100  # 0: only at the end
    eval_examples: int = 512  # held-out pairs scored at each evaluation
    checkpoint_every: int = 0  # 0: only at the end and on interruption
    seed: int = 0
    mixed_precision: bool = True  # bf16 autocast when training on a GPU

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "accumulation_steps", "eval_examples"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainingConfig.{name} must be a positive integer, got {value!r}")
        for name in ("eval_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainingConfig.{name} must be >= 0")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")

    @property
    def warmup_steps(self) -> int:
        """Optimizer steps spent warming up the learning rate."""
        return round(self.steps * self.warmup_fraction)


@dataclass(frozen=True)
class StepLog:
    """One optimizer step: the losses over its whole global batch, and the learning rate used."""

    step: int
    loss: float
    mlm_loss: float
    nsp_loss: float
    learning_rate: float
    grad_norm: float


@dataclass(frozen=True)
class EvalResult:
    """Held-out scores: masked-token loss and accuracy, next-sentence loss and accuracy.

    `seconds` is the training time spent so far (evaluations not counted), and `fill_in` the
    fill-in accuracy on chapter 00's blanks, overall and per word class, when they were scored.
    """

    step: int
    mlm_loss: float
    mlm_accuracy: float
    nsp_loss: float
    nsp_accuracy: float
    masked_tokens: int
    pairs: int
    seconds: float = field(default=0.0, compare=False)  # a timing, not a result
    fill_in: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainingHistory:
    """Everything logged so far; saved with checkpoints so plots continue after a resume."""

    steps: list[StepLog] = field(default_factory=list)
    evals: list[EvalResult] = field(default_factory=list)

    def losses(self) -> list[float]:
        """The total loss of every step, in order."""
        return [s.loss for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """Plain lists of plain dicts, for JSON."""
        return {"steps": [asdict(s) for s in self.steps], "evals": [asdict(e) for e in self.evals]}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingHistory:
        """Read what to_dict wrote."""
        return cls([StepLog(**s) for s in values["steps"]],
                   [EvalResult(**e) for e in values["evals"]])


Callback = Callable[["Pretrainer", StepLog | EvalResult], None]


class _Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    def __init__(self) -> None:
        dist = torch.distributed
        self.active = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.active else 0
        self.world = dist.get_world_size() if self.active else 1

    def sum(self, tensor: Tensor) -> Tensor:
        """Sum a tensor over processes (a no-op alone)."""
        if self.active:
            torch.distributed.all_reduce(tensor)
        return tensor

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()


class _StopRequest:
    """Turn Ctrl-C (SIGINT) into "stop after this step": the run then saves and returns.

    A second Ctrl-C restores the default behaviour and interrupts at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = True
        print("\nInterrupt received: finishing this step, then saving a checkpoint "
              "(press again to stop at once).", flush=True)

    @contextmanager
    def installed(self) -> Iterator[None]:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, self._previous)


class Pretrainer:
    """Run MLM + NSP pretraining: steps, evaluation, callbacks, checkpoints and exact resume."""

    def __init__(
        self,
        model: BertForPreTraining,
        train_data: PretrainingDataset,
        config: TrainingConfig,
        eval_data: PretrainingDataset | None = None,
        *,
        tokenizer: BertTokenizer | None = None,
        output_dir: str | Path | None = None,
        device: str | torch.device | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
        fill_in: FillInTask | None = None,
    ) -> None:
        if not isinstance(model, BertForPreTraining):
            raise TypeError(f"Pretrainer trains a bertlab BertForPreTraining, got "
                            f"{type(model).__name__}")
        self.dist = _Distributed()
        per_process = config.batch_size / (self.dist.world * config.accumulation_steps)
        if per_process != int(per_process):
            raise ValueError(
                f"batch_size={config.batch_size} must split evenly over {self.dist.world} "
                f"process(es) x {config.accumulation_steps} accumulation step(s)"
            )
        if len(train_data) < config.batch_size:
            raise ValueError(f"the training data has {len(train_data)} pairs, fewer than one "
                             f"batch of {config.batch_size}: use a smaller batch or more text")
        self.config = config
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device)
        self.train_data, self.eval_data = train_data, eval_data
        self.tokenizer = tokenizer
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.callbacks = list(callbacks)
        self.progress = progress and self.dist.rank == 0
        self.pad_id = tokenizer.pad_token_id if tokenizer is not None else 0
        self.fill_in = fill_in
        self.step = 0
        self.seconds = 0.0  # training time so far, over every resume
        self.history = TrainingHistory()
        self.interrupted = False
        self.run_info: dict[str, Any] = {}  # what pretrain() records, to check a resume against
        self.steps_per_epoch = len(train_data) // config.batch_size
        self.optimizer = torch.optim.AdamW(
            adamw_param_groups(model, config.weight_decay), lr=config.learning_rate,
            betas=(0.9, 0.999), eps=1e-6,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda step: linear_warmup_decay(step, config.warmup_steps, config.steps),
        )
        self.trained_model: nn.Module = SparseMlmPreTraining(self.model)
        if self.dist.active:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.trained_model = nn.parallel.DistributedDataParallel(self.trained_model,
                                                                     device_ids=ids)
        # the dropout stream of this process, owned by the trainer: other code that draws
        # random numbers between or during train() calls (callbacks included) cannot shift it
        with self._own_rng():
            torch.manual_seed(config.seed * 1009 + self.dist.rank)
            self.rng_state = self._rng_state()
        self._training = False
        self._lengths = [len(p.tokens_a) + len(p.tokens_b) + 3 for p in train_data.pairs]
        self._batches: tuple[int, list[list[int]]] | None = None
        self._in_step = self._optimizer_stepping = False
        self._step_start_rng: dict[str, Tensor] = {}

    # -- one step ---------------------------------------------------------------------------

    def _autocast(self) -> Any:
        if self.device.type == "cuda" and self.config.mixed_precision:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _global_batch(self, step: int) -> tuple[int, list[int]]:
        """The epoch and example indices of a step: a function of the step alone."""
        epoch, offset = divmod(step, self.steps_per_epoch)
        if self._batches is None or self._batches[0] != epoch:
            lengths = self._lengths
            self._batches = (epoch, epoch_batches(lengths, self.config.batch_size, epoch,
                                                  self.config.seed))
        return epoch, self._batches[1][offset]

    def _train_step(self) -> StepLog:
        config = self.config
        epoch, indices = self._global_batch(self.step)
        examples = [self.train_data.example(i, epoch) for i in indices]
        # normalize by the whole step's counts, so any split of the batch gives the same update
        n_masked = sum(sum(label != IGNORE_INDEX for label in e["labels"]) for e in examples)
        per_process = config.batch_size // self.dist.world
        mine = examples[self.dist.rank * per_process:(self.dist.rank + 1) * per_process]
        micro = per_process // config.accumulation_steps
        self.trained_model.train()
        totals = torch.zeros(2, device=self.device)
        for k in range(config.accumulation_steps):
            batch = collate(mine[k * micro:(k + 1) * micro], self.pad_id)
            batch = {name: t.to(self.device) for name, t in batch.items()}
            last = k == config.accumulation_steps - 1
            no_sync = self.dist.active and not last
            with self.trained_model.no_sync() if no_sync else nullcontext(), self._autocast():
                mlm_sum, nsp_sum, _ = pretraining_loss_sums(self.trained_model, batch)
            # DDP averages gradients over processes; multiplying by world undoes that average
            loss = (mlm_sum / n_masked + nsp_sum / config.batch_size) * self.dist.world
            loss.backward()
            totals += torch.stack([mlm_sum.detach(), nsp_sum.detach()])
        totals = self.dist.sum(totals)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.max_grad_norm)
        learning_rate = self.scheduler.get_last_lr()[0]
        self._optimizer_stepping = True
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self._in_step = self._optimizer_stepping = False
        mlm_loss = float(totals[0]) / n_masked
        nsp_loss = float(totals[1]) / config.batch_size
        return StepLog(self.step, mlm_loss + nsp_loss, mlm_loss, nsp_loss, learning_rate,
                       float(grad_norm))

    def _rng_state(self) -> dict[str, Tensor]:
        """The RNG streams a step draws from (dropout): CPU, and the GPU when training on one."""
        state = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def _own_rng(self) -> Any:
        """Run a block on a fork of the global RNG, which is restored afterwards."""
        devices = [self.device] if self.device.type == "cuda" else []
        return torch.random.fork_rng(devices=devices)

    def _set_rng_state(self, state: dict[str, Tensor]) -> None:
        torch.set_rng_state(state["cpu"])
        if "cuda" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda"], self.device)

    def _rewind_step(self) -> None:
        """Undo a step interrupted before its update: drop its gradients, rewind its RNG."""
        self.optimizer.zero_grad(set_to_none=True)
        self._set_rng_state(self._step_start_rng)
        self._in_step = False

    # -- evaluation -------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, batch_size: int | None = None,
                 model: BertForPreTraining | None = None) -> EvalResult:
        """Score the held-out pairs (the first eval_examples of them, masked once), and the
        fill-in blanks when the trainer has them; `model` scores another model the same way."""
        if self.eval_data is None:
            raise ValueError("no eval_data was given to the Pretrainer")
        model = model if model is not None else self.model
        result = evaluate_pretraining(
            model, self.eval_data, self.config.eval_examples,
            batch_size or self.config.batch_size, self.pad_id, self.step, self._autocast(),
        )
        fill_in: dict[str, float] = {}
        if self.fill_in is not None:
            task = self.fill_in
            scored = fill_in_accuracy(model, task.tokenizer, task.blanks, task.documents)
            fill_in = {"overall": scored.accuracy,
                       **{kind: accuracy for kind, (_, accuracy) in scored.by_class().items()}}
        return replace(result, seconds=round(self.seconds, 2), fill_in=fill_in)

    # -- the loop ---------------------------------------------------------------------------

    def _emit(self, record: StepLog | EvalResult) -> None:
        if isinstance(record, StepLog):
            self.history.steps.append(record)
        else:
            self.history.evals.append(record)
        if self.dist.rank == 0:
            with self._own_rng():
                for callback in self.callbacks:
                    callback(self, record)

    def _stop_everywhere(self, stop: bool) -> bool:
        """Agree across processes on stopping, so every process stops after the same step."""
        if not self.dist.active:
            return stop
        flag = torch.tensor([float(stop)], device=self.device)
        return bool(self.dist.sum(flag) > 0)

    def train(self, until: int | None = None) -> TrainingHistory:
        """Train from the current step to `until` (default: config.steps), then save.

        Ctrl-C (or a KeyboardInterrupt raised by a callback) stops the run after the current
        step and saves a checkpoint to output_dir, so it can resume with nothing lost.
        """
        end = self.config.steps if until is None else min(until, self.config.steps)
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.config.steps, initial=self.step, desc="pretraining",
                       unit="step", dynamic_ncols=True)
        self.interrupted = False
        stop = _StopRequest()
        try:
            with self._own_rng(), stop.installed():
                self._set_rng_state(self.rng_state)
                self._training = True
                try:
                    while self.step < end and not self.interrupted:
                        self._run_step(bar)
                        self.interrupted = self._stop_everywhere(stop.requested)
                except KeyboardInterrupt:
                    if self._optimizer_stepping:
                        raise  # the weights are half-updated: keep the last checkpoint
                    if self._in_step:
                        self._rewind_step()
                    self.interrupted = True
                finally:
                    self.rng_state = self._rng_state()
                    self._training = False
        finally:
            if bar is not None:
                bar.close()
        if self.interrupted:
            where = self.save_checkpoint() if self.output_dir is not None else None
            if self.dist.rank == 0:
                saved = f"; checkpoint saved to {where}" if where else ""
                print(f"Stopped after step {self.step} of {self.config.steps}{saved}.")
        elif self.output_dir is not None:
            self.save_checkpoint()
        return self.history

    def _run_step(self, bar: Any) -> None:
        """One optimizer step, then its log, evaluation and checkpoint when they are due."""
        self._step_start_rng = self._rng_state()
        self._in_step = True
        started = time.perf_counter()
        record = self._train_step()
        self.seconds += time.perf_counter() - started
        self._emit(record)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{record.loss:.3f}", refresh=False)
        every, last = self.config.eval_every, self.step == self.config.steps
        if self.eval_data is not None and self.dist.rank == 0 and (
            (every and self.step % every == 0) or last
        ):
            with self._own_rng():
                result = self.evaluate()
            self._emit(result)
        every = self.config.checkpoint_every
        if every and self.step % every == 0 and self.output_dir is not None and not last:
            self.save_checkpoint()

    # -- checkpoints ------------------------------------------------------------------------

    def checkpoint_dir(self) -> Path:
        """Where this run's checkpoint lives: output_dir/checkpoint."""
        if self.output_dir is None:
            raise ValueError("this Pretrainer has no output_dir to save checkpoints in")
        return self.output_dir / CHECKPOINT_DIR

    def save_checkpoint(self, directory: str | Path | None = None) -> Path:
        """Save weights, optimizer, schedule, data position and RNG state; tensors only.

        Everything is written and synced to checkpoint.partial, trainer_state.json last (with
        the sha256 of every other file), and then swapped in, so a crash at any instant leaves
        a complete checkpoint that recover_checkpoint finds. Every process saves its own RNG
        state (its dropout stream).
        """
        target = Path(directory) if directory is not None else self.checkpoint_dir()
        partial = target.with_name(target.name + ".partial")
        if self.dist.rank == 0:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            self.model.save_pretrained(partial, tokenizer=self.tokenizer)
            save_file(_optimizer_tensors(self.optimizer), partial / "optimizer.safetensors")
        self.dist.barrier()
        rng_state = self._rng_state() if self._training else self.rng_state
        save_file(rng_state, partial / f"rng_state_{self.dist.rank}.safetensors")
        self.dist.barrier()
        if self.dist.rank == 0:
            state = {
                "step": self.step,
                "world_size": self.dist.world,
                "training_config": asdict(self.config),
                "optimizer_param_groups": _param_groups_json(self.optimizer),
                "scheduler": self.scheduler.state_dict(),
                "seconds": self.seconds,
                "history": self.history.to_dict(),
                "run": self.run_info,
                "files": {path.name: _synced_sha256(path) for path in sorted(partial.iterdir())},
            }
            _write_synced(partial / "trainer_state.json", json.dumps(state, indent=1) + "\n")
            _swap_in(partial, target)
        self.dist.barrier()
        return target

    def load_checkpoint(self, directory: str | Path | None = None) -> None:
        """Restore everything save_checkpoint wrote; the next step is the one that was next.

        Without a directory, the newest complete checkpoint in output_dir is used (a crash
        while saving may have left it beside checkpoint/). Every file must match its digest.
        """
        if directory is None:
            if self.dist.rank == 0:
                recover_checkpoint(self.checkpoint_dir().parent)
            self.dist.barrier()
        source = Path(directory) if directory is not None else self.checkpoint_dir()
        state_file = source / "trainer_state.json"
        if not state_file.is_file():
            raise FileNotFoundError(f"no trainer_state.json in {source}: not a checkpoint")
        state = json.loads(state_file.read_text())
        saved = TrainingConfig(**state["training_config"])
        schedule = ("steps", "batch_size", "learning_rate", "warmup_fraction", "seed")
        changed = [n for n in schedule if getattr(saved, n) != getattr(self.config, n)]
        if changed:
            raise ValueError(
                f"the checkpoint was trained with a different {', '.join(changed)} "
                f"({', '.join(f'{n}={getattr(saved, n)}' for n in changed)}): resume with the "
                "saved TrainingConfig (Pretrainer.saved_config(directory))"
            )
        verify_checkpoint_files(source, state)
        hf.load_pretrained_weights(self.model, source, strict=True)
        groups = state["optimizer_param_groups"]
        self.optimizer.load_state_dict(
            {"state": _optimizer_state(hf.load_safetensors(source / "optimizer.safetensors")),
             "param_groups": [_param_group_from_json(g) for g in groups]}
        )
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = state["step"]
        self.seconds = state.get("seconds", 0.0)
        self.history = TrainingHistory.from_dict(state["history"])
        self.run_info = state.get("run", {})
        rng_file = source / f"rng_state_{self.dist.rank}.safetensors"
        if not rng_file.is_file():
            warnings.warn(f"{rng_file.name} is missing (the run had {state['world_size']} "
                          "process(es)): dropout will not repeat the original run", stacklevel=2)
            rng_file = source / "rng_state_0.safetensors"
        self.rng_state = hf.load_safetensors(rng_file)

    @staticmethod
    def saved_config(directory: str | Path) -> TrainingConfig:
        """The TrainingConfig a checkpoint was trained with."""
        state = json.loads((Path(directory) / "trainer_state.json").read_text())
        return TrainingConfig(**state["training_config"])


def _synced_sha256(path: Path) -> str:
    """Flush a file to disk, then return its sha256 (what resume checks it against)."""
    with path.open("r+b") as file:
        os.fsync(file.fileno())
    return sha256(path)


def _write_synced(path: Path, text: str) -> None:
    """Write a text file and flush it to disk before going on."""
    with path.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _sync_directory(directory: Path) -> None:
    """Make renames inside a directory durable (POSIX; Windows has no directory handles)."""
    if os.name == "posix":
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _swap_in(new: Path, target: Path) -> None:
    """Replace target by new; at every instant one complete checkpoint exists on disk.

    The old checkpoint is renamed aside (target.old), new is renamed into place, and only
    then is the old one removed. recover_checkpoint sorts out whatever a crash leaves.
    """
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    _sync_directory(new)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    _sync_directory(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _checkpoint_step(directory: Path) -> int | None:
    """The step of a complete checkpoint in directory; None when absent or half-written."""
    try:
        state = json.loads((directory / "trainer_state.json").read_text())
    except (OSError, ValueError):  # missing, or cut short by a crash
        return None
    if not all((directory / name).is_file() for name in state.get("files", {})):
        return None  # being removed when the crash came
    return int(state["step"])


def recover_checkpoint(output_dir: str | Path) -> Path | None:
    """Move the newest complete checkpoint into output_dir/checkpoint and remove the others.

    A crash while saving can leave checkpoint.partial (the new one, complete or not),
    checkpoint (new or old) and checkpoint.old (the old one, whole or half-removed). Returns
    output_dir/checkpoint, or None when no complete checkpoint is there.
    """
    target = Path(output_dir) / CHECKPOINT_DIR
    newest_first = [target.with_name(target.name + ".partial"), target,
                    target.with_name(target.name + ".old")]  # the order they were written in
    complete = [(step, -i) for i, path in enumerate(newest_first)
                if (step := _checkpoint_step(path)) is not None]
    if not complete:
        return None
    best = newest_first[-max(complete)[1]]
    if best != target:
        shutil.rmtree(target, ignore_errors=True)
        os.replace(best, target)
        _sync_directory(target.parent)
    for path in newest_first:
        if path != target:
            shutil.rmtree(path, ignore_errors=True)
    return target


def verify_checkpoint_files(directory: Path, state: dict[str, Any]) -> None:
    """Refuse a checkpoint whose files differ from the sha256 digests saved with it."""
    if "files" not in state:
        warnings.warn(f"{directory} has no file digests (saved by an older bertlab): its files "
                      "cannot be checked for corruption", stacklevel=3)
    for name, digest in state.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the checkpoint")
        if sha256(path) != digest:
            raise ValueError(
                f"{path} does not match the sha256 digest saved in trainer_state.json: it was "
                "truncated or corrupted after saving. Restore it, or start over (--overwrite)"
            )


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, Tensor]:
    """AdamW's per-parameter state as flat named tensors ('state.3.exp_avg', ...)."""
    tensors = {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            if not isinstance(value, Tensor):
                raise TypeError(f"optimizer state {key!r} is not a tensor; cannot save it safely")
            tensors[f"state.{index}.{key}"] = value.detach().contiguous().cpu()
    return tensors


def _optimizer_state(tensors: dict[str, Tensor]) -> dict[int, dict[str, Tensor]]:
    state: dict[int, dict[str, Tensor]] = {}
    for name, tensor in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = tensor
    return state


def _param_groups_json(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    return [dict(group) for group in optimizer.state_dict()["param_groups"]]


def _param_group_from_json(group: dict[str, Any]) -> dict[str, Any]:
    group = dict(group)
    if "betas" in group:
        group["betas"] = tuple(group["betas"])
    return group


@torch.no_grad()
def evaluate_pretraining(
    model: nn.Module,
    data: PretrainingDataset,
    max_examples: int | None = None,
    batch_size: int = 64,
    pad_id: int = 0,
    step: int = 0,
    autocast: Any = None,
) -> EvalResult:
    """Held-out MLM loss/accuracy over masked tokens and NSP loss/accuracy over pairs.

    Uses each pair's epoch-0 mask, so scores from different steps are comparable.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n = len(data) if max_examples is None else min(max_examples, len(data))
    sums = torch.zeros(4, dtype=torch.float64)
    masked = 0
    for start in range(0, n, batch_size):
        batch = collate([data.example(i) for i in range(start, min(n, start + batch_size))],
                        pad_id)
        batch = {name: t.to(device) for name, t in batch.items()}
        with autocast if autocast is not None else nullcontext():
            mlm_sum, nsp_sum, counts = pretraining_loss_sums(model, batch)
        sums += torch.tensor([float(mlm_sum), float(nsp_sum), float(counts["mlm_correct"]),
                              float(counts["nsp_correct"])], dtype=torch.float64)
        masked += int((batch["labels"] != IGNORE_INDEX).sum())
    model.train(was_training)
    return EvalResult(step, float(sums[0]) / masked, float(sums[2]) / masked, float(sums[1]) / n,
                      float(sums[3]) / n, masked, n)


# ============================================================================ fill-in benchmark


@cache
def _word_class_table() -> dict[str, str]:
    """Lexicon word -> class, for breaking fill-in accuracy down by what kind of word is hidden."""
    from bertlab.tinyworld import lexicon as lx

    verbs = [lx.EAT, lx.GO, lx.GROW, lx.LIVE, *lx.COOK_VERBS, *lx.BAKE_VERBS, *lx.LIKE_VERBS,
             *lx.OBJECT_VERBS, *lx.SOCIAL_VERBS, *lx.SEE_VERBS, *lx.MOTION_VERBS,
             *lx.INTRANSITIVE, *lx.ANIMAL_MOTION.values(), *lx.ANIMAL_SOUNDS.values()]
    groups: list[tuple[str, list[str]]] = [
        ("name", lx.FEMALE_NAMES + lx.MALE_NAMES + lx.SURNAMES),
        ("town or venue", lx.TOWNS + [w for pair in lx.VENUES for w in pair]),
        ("food", [f for food in lx.FOODS for f in (food.name, food.plural)]),
        ("animal", [a for animal in lx.ANIMALS for a in (animal.name, animal.plural)]),
        ("person noun", [r for role in lx.ROLES + lx.STAFF for r in (role, lx.pluralize(role))]),
        ("thing or place", [t for pair in lx.THINGS for t in pair] + lx.FURNITURE + lx.PLACES
         + lx.VENUE_KINDS),
        ("adjective", lx.EMOTIONS + lx.DESCRIPTIVE + lx.COLORS + lx.POSITIVE + lx.NEGATIVE
         + lx.WEATHER + [f for forms in lx.COMPARATIVES.values() for f in forms]),
        ("verb", [f for v in verbs for f in (v.base, v.third, v.past, v.participle, v.ing)]),
        ("number or time", lx.NUMBERS + lx.DAYS + lx.TIMES),
    ]
    table: dict[str, str] = {}
    for name, words in groups:
        for word in words:
            table.setdefault(word.lower(), name)
    return table


def word_class(word: str) -> str:
    """The lexicon class of a TinyWorld word ('name', 'food', 'verb', ...; else 'function word')."""
    return _word_class_table().get(word.lower(), "function word")


@dataclass(frozen=True)
class FillInTask:
    """Chapter 00's fill-in blanks with what scoring them needs, for a trainer to score."""

    tokenizer: BertTokenizer
    blanks: list[Any]  # bertlab.tinyworld.ngram.Blank
    documents: list[list[str]]  # the held-out documents the blanks index into


@dataclass(frozen=True)
class FillInResult:
    """A model's guesses on the fill-in blanks, and how many were exactly the hidden word."""

    blanks: list[Any]  # bertlab.tinyworld.ngram.Blank
    predictions: list[str]

    @property
    def accuracy(self) -> float:
        """Share of blanks guessed exactly (the metric chapter 00's n-gram reports)."""
        return self.hits / len(self.blanks)

    @property
    def hits(self) -> int:
        return sum(p == b.answer for p, b in zip(self.predictions, self.blanks, strict=True))

    def by_class(self) -> dict[str, tuple[int, float]]:
        """Accuracy per word class of the answer: {class: (blanks, accuracy)}, largest first."""
        totals: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        for prediction, blank in zip(self.predictions, self.blanks, strict=True):
            kind = word_class(blank.answer)
            totals[kind] += 1
            hits[kind] += prediction == blank.answer
        return {kind: (n, hits[kind] / n) for kind, n in totals.most_common()}


def _word_ids(tokenizer: BertTokenizer, word: str) -> list[int]:
    return tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))


def fill_in_input(
    blank: Any, document: Sequence[str], tokenizer: BertTokenizer, max_seq_length: int
) -> tuple[list[int], list[int], list[int], list[int]]:
    """The model input for one blank: its sentence with the word's pieces masked, in context.

    The sentences around it (nearest first, alternating before and after) are added while they
    fit; sentences before the blank's sentence form segment A and the rest segment B, the
    layout the model saw in pretraining. Returns (ids, token types, masked positions, the
    answer's piece ids).
    """
    answer = _word_ids(tokenizer, blank.answer)
    target: list[int] = []
    masked: list[int] = []
    for i, word in enumerate(blank.words):
        if i == blank.position:
            masked = list(range(len(target), len(target) + len(answer)))
            target.extend([tokenizer.mask_token_id] * len(answer))
        else:
            target.extend(_word_ids(tokenizer, word))
    budget = max_seq_length - 3
    if len(target) > budget:  # a very long sentence: keep a window around the blank
        start = max(0, min(masked[0] - budget // 2, len(target) - budget))
        target = target[start:start + budget]
        masked = [m - start for m in masked]
    sentences = {blank.sentence: target}
    used = len(target)
    before, after = blank.sentence - 1, blank.sentence + 1
    while before >= 0 or after < len(document):
        for index in (before, after):
            if 0 <= index < len(document) and index not in sentences:
                ids = _word_ids(tokenizer, document[index])
                if used + len(ids) <= budget:
                    sentences[index] = ids
                    used += len(ids)
        if used >= budget:
            break
        before, after = before - 1, after + 1
    order = sorted(sentences)
    n_first = sum(i < blank.sentence for i in order) or 1  # sentences in segment A
    ids, types = [tokenizer.cls_token_id], [0]
    positions: list[int] = []
    for n, index in enumerate(order):
        if n == n_first:
            ids.append(tokenizer.sep_token_id)  # end of segment A
            types.append(0)
        if index == blank.sentence:
            positions = [len(ids) + m for m in masked]
        ids.extend(sentences[index])
        types.extend([int(n >= n_first)] * len(sentences[index]))
    ids.append(tokenizer.sep_token_id)
    types.append(int(len(order) > n_first))
    return ids, types, positions, answer


@torch.no_grad()
def fill_in_accuracy(
    model: BertForPreTraining,
    tokenizer: BertTokenizer,
    blanks: Sequence[Any],
    documents: Sequence[Sequence[str]],
    max_seq_length: int = 128,
    batch_size: int = 64,
) -> FillInResult:
    """Score a model on chapter 00's held-out blanks: mask the word, read the context, guess.

    `documents` are the held-out documents the blanks index into (TinyWorld.split's second
    part). A guess is the best non-special token at each masked piece, glued into a word; it
    counts when it is exactly the hidden word, as for the n-gram baseline.
    """
    if not blanks:
        raise ValueError("fill_in_accuracy needs at least one blank")
    max_seq_length = min(max_seq_length, model.config.max_position_embeddings)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    special = sorted(tokenizer.special_ids)
    predictions: list[str] = []
    for start in range(0, len(blanks), batch_size):
        group = blanks[start:start + batch_size]
        inputs = [fill_in_input(b, documents[b.document], tokenizer, max_seq_length)
                  for b in group]
        examples = []
        for ids, types, positions, answer in inputs:
            labels = [IGNORE_INDEX] * len(ids)
            for p, a in zip(positions, answer, strict=True):
                labels[p] = a
            examples.append({"input_ids": ids, "token_type_ids": types, "labels": labels,
                             "next_sentence_label": 0})
        batch = {k: t.to(device) for k, t in collate(examples, tokenizer.pad_token_id).items()}
        output = SparseMlmPreTraining(model)(batch["input_ids"], batch["attention_mask"],
                                             batch["token_type_ids"], batch["labels"])
        logits = output.prediction_logits.float()  # (N, V): masked pieces, row-major
        logits[:, special] = float("-inf")
        guesses = logits.argmax(-1).tolist()
        row = 0
        for _, _, positions, _ in inputs:
            pieces = tokenizer.convert_ids_to_tokens(guesses[row:row + len(positions)])
            row += len(positions)
            predictions.append("".join(p.removeprefix(CONTINUATION) if i else p
                                       for i, p in enumerate(pieces)))
    model.train(was_training)
    return FillInResult(list(blanks), predictions)


# ============================================================================ presets + runs


@dataclass(frozen=True)
class Preset:
    """A model size and a training budget, chosen by measurement for a laptop CPU."""

    name: str
    vocab_size: int  # WordPiece vocabulary trained on the corpus
    max_seq_length: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    batch_size: int
    learning_rate: float
    steps: int
    eval_every: int
    dropout: float = 0.1
    warmup_fraction: float = 0.06
    dupe_factor: int = 1  # cuts of the corpus into NSP pairs (the reference's flag)

    def model_config(self, vocab_size: int) -> BertConfig:
        """The BertConfig of this preset for a tokenizer of `vocab_size` tokens."""
        return BertConfig(
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_seq_length,
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.dropout,
        )

    def training_config(self, steps: int | None = None, seed: int = 0,
                        **overrides: Any) -> TrainingConfig:
        """The TrainingConfig of this preset (steps and other fields can be overridden)."""
        settings = {"batch_size": self.batch_size, "learning_rate": self.learning_rate,
                    "warmup_fraction": self.warmup_fraction, "eval_every": self.eval_every}
        settings.update(overrides)
        return TrainingConfig(steps=steps or self.steps, seed=seed, **settings)


# Chosen by measurement on the 2-core CPU (2 threads, 0.14-0.15 s per default step; chapter
# 05's appendix lists what else was tried). "default" fills the five-minute budget: 1,800 steps. A
# learning rate of 5e-3 collapses to the unigram solution, 1e-3 learns slower than 2e-3, and
# batch 32, 2-3 layers or hidden 64-96 are no better per second. The NSP pairs are cut ten
# times (the reference's dupe_factor), else the model memorizes which pairs are negatives.
# "long" is the same model for 8,000 steps (13-25 minutes): only after ~5,000 steps does it
# start to copy names and facts from elsewhere in the document, and beat counting clearly. The
# course model (bertlab.course_model) is a "long" run.
# "tiny" is for quick mode and tests: a few seconds, and it still learns.
_DEFAULT = Preset("default", vocab_size=4000, max_seq_length=64, hidden_size=128, num_layers=4,
                  num_heads=4, intermediate_size=512, batch_size=64, learning_rate=2e-3,
                  steps=1800, eval_every=150, dropout=0.0, dupe_factor=10)
PRESETS: dict[str, Preset] = {  # smallest first: a later preset may stand in for an earlier one
    "tiny": Preset("tiny", vocab_size=1000, max_seq_length=64, hidden_size=64, num_layers=2,
                   num_heads=2, intermediate_size=256, batch_size=32, learning_rate=2e-3,
                   steps=250, eval_every=50, dropout=0.0),
    "default": _DEFAULT,
    "long": replace(_DEFAULT, name="long", steps=8000, eval_every=500),
}


def get_preset(name: str | Preset) -> Preset:
    """Look a preset up by name, with the list of names in the error."""
    if isinstance(name, Preset):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


@dataclass
class PretrainingData:
    """A corpus made ready for pretraining: tokenizer, pair datasets, and held-out material."""

    tokenizer: BertTokenizer
    train: PretrainingDataset
    held_out: PretrainingDataset
    train_documents: list[list[str]]
    held_out_documents: list[list[str]]
    blanks: list[Any] | None  # chapter 00's fill-in blanks (TinyWorld only)


def load_corpus(corpus: Any = None) -> tuple[list[list[str]], list[list[str]], list[Any] | None]:
    """Training documents, held-out documents and (for TinyWorld) the fill-in blanks.

    `corpus` is None or "tinyworld" (the default TinyWorld, the one chapter 00 scores on), a
    TinyWorld, or the path of a text file in BERT's format (one sentence a line, blank line
    between documents), whose last 10% of documents are held out.
    """
    from bertlab.tinyworld.corpus import TinyWorld, generate_corpus, read_bert_text
    from bertlab.tinyworld.ngram import HELD_OUT, fill_in_benchmark

    if corpus is None or corpus == "tinyworld" or isinstance(corpus, TinyWorld):
        world = generate_corpus() if corpus is None else corpus
        train, blanks = fill_in_benchmark(world)
        return train.as_documents(), world.split(HELD_OUT)[1].as_documents(), blanks
    path = Path(corpus)
    if not path.is_file():
        raise FileNotFoundError(f"no corpus file at {path}: give 'tinyworld' or a text file in "
                                "BERT format (one sentence per line, blank line between documents)")
    documents = read_bert_text(path)
    if len(documents) < 4:
        raise ValueError(f"{path} holds {len(documents)} document(s); pretraining needs several "
                         "(separate documents with a blank line)")
    cut = len(documents) - max(2, round(len(documents) * HELD_OUT))
    return documents[:cut], documents[cut:], None


def prepare_data(
    preset: str | Preset = "default",
    corpus: Any = None,
    seed: int = 0,
    tokenizer: BertTokenizer | None = None,
) -> PretrainingData:
    """Train a WordPiece vocabulary on the training documents (unless given one), make pairs."""
    preset = get_preset(preset)
    train_docs, held_out_docs, blanks = load_corpus(corpus)
    if tokenizer is None:
        sentences = [s for doc in train_docs for s in doc]
        tokenizer = BertTokenizer.train(sentences, preset.vocab_size)
    train = PretrainingDataset.from_documents(train_docs, tokenizer, preset.max_seq_length, seed,
                                              dupe_factor=preset.dupe_factor)
    _check_nsp_labels(train.pairs, "the corpus" if corpus is None else str(corpus))
    held_out = PretrainingDataset.from_documents(held_out_docs, tokenizer, preset.max_seq_length,
                                                 seed + 1, dynamic=False)
    return PretrainingData(tokenizer, train, held_out, train_docs, held_out_docs, blanks)


def _check_nsp_labels(pairs: Sequence[NspPair], source: str) -> None:
    """Refuse text that makes (almost) only one kind of NSP pair: its NSP accuracy means nothing."""
    negatives = sum(pair.is_random_next for pair in pairs)
    if min(negatives, len(pairs) - negatives) < MIN_NSP_SHARE * len(pairs):
        raise ValueError(
            f"{source} makes {len(pairs) - negatives} true-next and {negatives} random-next "
            f"pairs out of {len(pairs)}: next-sentence prediction needs plenty of both. A "
            "true pair needs documents of two or more sentences: write one sentence per line "
            "and a blank line only between documents (a double-spaced file, or one sentence "
            "per document, makes every sentence a document of its own)"
        )


def build_model(preset: str | Preset, vocab_size: int, seed: int = 0) -> BertForPreTraining:
    """A freshly initialized BertForPreTraining of a preset's size; the seed fixes the weights."""
    torch.manual_seed(seed)
    return BertForPreTraining(get_preset(preset).model_config(vocab_size))


@dataclass
class PretrainingRun:
    """What `pretrain` returns: the model, its tokenizer and data, and how training went."""

    model: BertForPreTraining
    tokenizer: BertTokenizer
    trainer: Pretrainer
    data: PretrainingData
    preset: Preset
    seconds: float

    @property
    def history(self) -> TrainingHistory:
        return self.trainer.history

    @property
    def finished(self) -> bool:
        """Whether every step of the schedule ran (not stopped early or interrupted)."""
        return self.trainer.step == self.trainer.config.steps


def pretrain(
    preset: str | Preset | None = None,
    output_dir: str | Path | None = None,
    *,
    steps: int | None = None,
    corpus: Any = None,
    seed: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    device: str | None = None,
    data: PretrainingData | None = None,
    until: int | None = None,
    score_fill_in: bool = True,
    weights_dtype: torch.dtype = torch.float32,
    **training_overrides: Any,
) -> PretrainingRun:
    """Pretrain a BERT of a preset's size on a corpus; save it to output_dir when finished.

    Defaults: preset "default", TinyWorld, seed 0. An output_dir that holds a run already is
    refused, unless overwrite=True (start over) or resume=True: continue from its checkpoint
    (same tokenizer, same config) to the numbers an uninterrupted run would have given;
    settings left out are the saved run's, and settings that contradict it are an error.
    `data` reuses what prepare_data(preset, corpus, seed) already built. `until` stops after
    that step of the schedule (a checkpoint is saved; resume finishes the run). Every
    evaluation also scores chapter 00's fill-in blanks when the corpus has them and
    `score_fill_in` is on. `weights_dtype` is how the finished model's weights are stored.
    """
    if resume and overwrite:
        raise ValueError("resume=True continues the saved run, overwrite=True replaces it: "
                         "choose one")
    state = None
    if output_dir is not None:
        output_dir = Path(output_dir)
        state = _prepare_output_dir(output_dir, resume, overwrite)
    if state is not None:
        preset, corpus, config = _resumed_settings(state, output_dir, preset, corpus, seed,
                                                   steps, training_overrides)
    else:
        preset = get_preset(preset or "default")
        config = preset.training_config(steps, seed or 0, **training_overrides)
    checkpoint = output_dir / CHECKPOINT_DIR if state is not None else None
    if data is None:
        tokenizer = BertTokenizer.from_pretrained(checkpoint) if checkpoint else None
        data = prepare_data(preset, corpus, config.seed, tokenizer)
    if checkpoint:
        model = BertForPreTraining(BertConfig.from_pretrained(checkpoint))
    else:
        model = build_model(preset, data.tokenizer.vocab_size, config.seed)
    fill_in = None
    if score_fill_in and data.blanks:
        fill_in = FillInTask(data.tokenizer, data.blanks, data.held_out_documents)
    trainer = Pretrainer(model, data.train, config, data.held_out, tokenizer=data.tokenizer,
                         output_dir=output_dir, device=device, callbacks=callbacks,
                         progress=progress, fill_in=fill_in)
    trainer.run_info = {"preset": asdict(preset), "corpus": _describe_corpus(corpus)}
    if checkpoint:
        trainer.load_checkpoint()
    started = time.perf_counter()
    trainer.train(until)
    seconds = time.perf_counter() - started
    run = PretrainingRun(model, data.tokenizer, trainer, data, preset, seconds)
    if output_dir is not None and run.finished and trainer.dist.rank == 0:
        save_run(run, output_dir, weights_dtype)
    return run


def existing_run(output_dir: str | Path) -> list[str]:
    """The files of an earlier run in output_dir (checkpoints, a finished model); [] if none."""
    names = [CHECKPOINT_DIR, CHECKPOINT_DIR + ".partial", CHECKPOINT_DIR + ".old", RUN_INFO,
             "model.safetensors"]
    return [name for name in names if (Path(output_dir) / name).exists()]


def _prepare_output_dir(output_dir: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """Check output_dir before any training, clear it (overwrite) or recover its checkpoint
    (resume); the saved trainer state when resuming one, else None."""
    found = existing_run(output_dir)
    if found and not (resume or overwrite):
        raise FileExistsError(
            f"{output_dir} already holds a pretraining run ({', '.join(found)}): resume=True "
            "(--resume) continues it, overwrite=True (--overwrite) starts over, or choose "
            "another output directory"
        )
    try:  # fail now, not after training, when nothing could be saved there
        output_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=output_dir).close()
    except OSError as error:
        raise PermissionError(f"cannot write to the output directory {output_dir} "
                              f"({error.strerror}): choose another") from None
    dist = _Distributed()
    dist.barrier()  # every process has looked before the first one changes anything
    if dist.rank == 0 and overwrite:
        for name in found:
            path = output_dir / name
            if name != "model.safetensors":  # replaced when the new run saves
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    if dist.rank == 0 and resume:
        recover_checkpoint(output_dir)
    dist.barrier()
    if not resume:
        return None
    state_file = output_dir / CHECKPOINT_DIR / "trainer_state.json"
    if state_file.is_file():
        return json.loads(state_file.read_text())
    if found:
        raise FileNotFoundError(f"{output_dir} holds {', '.join(found)} but no complete "
                                "checkpoint to resume from: overwrite=True (--overwrite) starts "
                                "over")
    print(f"No checkpoint in {output_dir}: starting from scratch.")
    return None


_RESUME_FREE = ("accumulation_steps", "eval_every", "checkpoint_every")  # change no number


def _describe_corpus(corpus: Any) -> dict[str, Any]:
    """What a checkpoint records of its corpus: a name, and a file's sha256 (its contents)."""
    if corpus is None or corpus == "tinyworld":
        return {"name": "tinyworld"}
    if not isinstance(corpus, str | Path):  # a TinyWorld
        return {"name": f"TinyWorld(seed={corpus.seed}, {len(corpus.documents)} documents)"}
    path = Path(corpus).resolve()
    return {"name": str(path), "sha256": sha256(path) if path.is_file() else None}


def _conflict(flag: str, requested: Any, saved: Any, output_dir: Path,
              advice: str = "") -> ValueError:
    return ValueError(
        f"--{flag.replace('_', '-')} {requested} contradicts the run saved in {output_dir}, "
        f"which has {flag} {saved}: {advice or 'leave the flag out to continue that run'}, or "
        "start a new run with overwrite=True (--overwrite) or in another directory"
    )


def _resumed_settings(
    state: dict[str, Any], output_dir: Path, preset: str | Preset | None, corpus: Any,
    seed: int | None, steps: int | None, overrides: dict[str, Any],
) -> tuple[Preset, Any, TrainingConfig]:
    """The saved run's preset, corpus and TrainingConfig, after checking each requested
    setting against it: a resume continues the same run or refuses, it never relabels it."""
    config = TrainingConfig(**state["training_config"])
    run = state.get("run", {})
    saved_preset = Preset(**run["preset"]) if "preset" in run else None
    if preset is not None and saved_preset is not None and get_preset(preset) != saved_preset:
        raise _conflict("preset", get_preset(preset).name, saved_preset.name, output_dir)
    preset = saved_preset or get_preset(preset or "default")
    if seed is not None and seed != config.seed:
        raise _conflict("seed", seed, config.seed, output_dir)
    if steps is not None and steps != config.steps:
        raise _conflict("steps", steps, config.steps, output_dir,
                        f"its learning rate decays to zero at step {config.steps}, so that "
                        "schedule cannot be stretched or cut")
    for name, value in overrides.items():
        if name not in TrainingConfig.__dataclass_fields__:
            raise TypeError(f"pretrain() got an unknown training setting {name!r}")
        if name not in _RESUME_FREE and value != getattr(config, name):
            raise _conflict(name, value, getattr(config, name), output_dir)
    config = replace(config, **{n: v for n, v in overrides.items() if n in _RESUME_FREE})
    saved_corpus = run.get("corpus")
    if saved_corpus is not None:
        if corpus is None and saved_corpus["name"] != "tinyworld":
            if saved_corpus.get("sha256") is None:
                raise ValueError(f"the run in {output_dir} trained on {saved_corpus['name']}: "
                                 "pass that corpus again to resume it")
            corpus = Path(saved_corpus["name"])
        requested = _describe_corpus(corpus)
        same = (requested["sha256"] == saved_corpus["sha256"] if "sha256" in saved_corpus
                and "sha256" in requested else requested["name"] == saved_corpus["name"])
        if not same:
            changed = " (its contents changed)" if requested["name"] == saved_corpus["name"] else ""
            raise _conflict("corpus", requested["name"] + changed, saved_corpus["name"],
                            output_dir)
    return preset, corpus, config


def save_run(run: PretrainingRun, directory: str | Path,
             weights_dtype: torch.dtype = torch.float32) -> Path:
    """Save the model with its vocab.txt, plus pretraining.json (preset, steps, final scores).

    Weights stored in a smaller dtype (float16 halves the file) are loaded back and scored
    again, so pretraining.json says what the rounding cost ("held_out_as_saved").
    """
    directory = Path(directory)
    run.model.save_pretrained(directory, tokenizer=run.tokenizer, dtype=weights_dtype)
    last_eval = run.history.evals[-1] if run.history.evals else None
    info = {
        "preset": run.preset.name,
        "steps": run.trainer.step,
        "seconds": round(run.seconds, 1),
        "weights_dtype": str(weights_dtype).removeprefix("torch."),
        "held_out": asdict(last_eval) if last_eval else None,
        "preset_settings": asdict(run.preset),
    }
    if last_eval is not None and weights_dtype != torch.float32:
        saved = BertForPreTraining.from_pretrained(directory).to(run.trainer.device)
        info["held_out_as_saved"] = asdict(run.trainer.evaluate(model=saved))
    (directory / RUN_INFO).write_text(json.dumps(info, indent=1) + "\n")
    return directory


def _saved_preset(directory: Path) -> str | None:
    """The preset of a finished model saved in `directory`, or None when there is none."""
    needed = ("config.json", "model.safetensors", "vocab.txt", RUN_INFO)
    if not all((directory / name).is_file() for name in needed):
        return None
    return json.loads((directory / RUN_INFO).read_text()).get("preset")


def _rank(preset: str | None) -> int:
    return list(PRESETS).index(preset) if preset in PRESETS else -1


def pretrained_model_dir(preset: str | Preset = "default") -> Path:
    """Where a run of `preset` should save for chapter 06: artifacts/tinybert, unless a bigger
    preset's model lives there already (then artifacts/tinybert-<preset>, leaving it alone)."""
    from bertlab.environment import artifacts_dir

    name = get_preset(preset).name
    main = artifacts_dir() / PRETRAINED_MODEL_DIR
    if _rank(_saved_preset(main)) > _rank(name):
        return artifacts_dir() / f"{PRETRAINED_MODEL_DIR}-{name}"
    return main


def load_or_pretrain(
    preset: str | Preset | None = None,
    directory: str | Path | None = None,
    progress: bool = True,
) -> tuple[BertForPreTraining, BertTokenizer]:
    """The pretrained TinyWorld BERT for chapter 06: load it, or pretrain one if it is missing.

    Loads artifacts/tinybert when it holds a model of `preset` or a bigger one (default
    preset: "default", or "tiny" in quick mode); otherwise pretrains and saves one there.
    """
    from bertlab.environment import artifacts_dir, pick

    name = get_preset(preset).name if preset is not None else str(pick("default", "tiny"))
    where = Path(directory) if directory is not None else artifacts_dir() / PRETRAINED_MODEL_DIR
    if _rank(_saved_preset(where)) >= _rank(name):
        model = BertForPreTraining.from_pretrained(where)
        return model, BertTokenizer.from_pretrained(where)
    print(f"No pretrained model of preset {name!r} in {where}: pretraining one now.")
    run = pretrain(name, where, progress=progress, overwrite=True)  # no finished model is lost
    return run.model.eval(), run.tokenizer
