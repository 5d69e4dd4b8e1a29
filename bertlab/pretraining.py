"""MLM + NSP pretraining (chapter 05): from documents to a BERT that fills in blanks.

The data side follows google-research/bert's `create_pretraining_data.py`: `make_nsp_pairs`
cuts each document into segment pairs (half of them with a segment B from another document,
some of them short, truncated longest-first from a random end) and `mask_tokens` hides 15% of
the tokens (80% [MASK], 10% a random token, 10% unchanged, never [CLS]/[SEP]/[PAD], at most
`max_predictions` per sequence, optionally whole words). bertlab differs on purpose in three
places, each said where it happens: random replacements are never special tokens, a random
segment B always comes from another document, and masks can be drawn afresh every epoch
(dynamic masking, as RoBERTa does) instead of once (static, as the original).

Chapter 07 ablates the sentence-level task: `OBJECTIVES` are "nsp" (BERT, the default),
"sop" (ALBERT's sentence-order prediction, `make_sop_pairs`: two consecutive segments of one
document, swapped half the time) and "none" (RoBERTa's DOC-SENTENCES, `make_doc_sentences`:
one segment of whole sentences of one document, and only the MLM loss).

The training side is `Pretrainer`, the shared loop of `bertlab.train` told what a step trains
on: a global batch that is a function of the step (so a resumed run, or another process, sees
the same examples and masks), its MLM + NSP loss, and held-out evaluation. The MLM loss of one
optimizer step is the sum of cross-entropies over the masked tokens of the whole step divided
by their count, however the step is split into micro-batches or processes: so gradient
accumulation and two processes give the same update as one big batch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bertlab.model import IGNORE_INDEX, BertForPreTraining
from bertlab.sparse_mlm import SparseMlmPreTraining
from bertlab.tokenizer import CONTINUATION, BertTokenizer
from bertlab.train import Trainer, TrainingConfig

MASK_PROB = 0.15  # share of tokens the model must predict
MAX_PREDICTIONS = 20  # cap per sequence (the reference uses 20 for 128-token sequences)
SHORT_SEQ_PROB = 0.1  # share of pairs cut shorter, so the model also sees short inputs
NSP_NEXT, NSP_RANDOM = 0, 1  # next_sentence_label: 0 = B follows A, 1 = B is random
SOP_IN_ORDER, SOP_SWAPPED = 0, 1  # the same label under "sop": 1 = B and A were swapped
OBJECTIVES = ("nsp", "sop", "none")  # the sentence-level task beside MLM (BERT, ALBERT, RoBERTa)

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
    """Choose mask_prob (15%) of the positions to predict and hide them 80/10/10, as the reference.

    Same distribution as google-research/bert, not the same draws: the reference keeps the token
    when its second draw is below 0.5 and randomises it otherwise; bertlab does the reverse.

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
    """Two segments for next-sentence prediction, and where they came from.

    Also the unit of the other objectives: a sentence-order pair (is_random_next False,
    `swapped` True when B was in front of A in the document) and a single segment (tokens_b
    empty, objective "none").
    """

    tokens_a: list[int]
    tokens_b: list[int]
    is_random_next: bool
    document: int  # index of the document segment A came from
    b_document: int  # index of the document segment B came from
    swapped: bool = False  # sentence-order prediction: A and B trade places

    @property
    def label(self) -> int:
        """The sentence-level label: 1 when B is random (NSP) or came first (SOP), else 0."""
        return NSP_RANDOM if self.is_random_next or self.swapped else NSP_NEXT

    def encode(self, cls_id: int, sep_id: int) -> tuple[list[int], list[int]]:
        """[CLS] A [SEP] B [SEP] and its segment ids (0 for A's part, 1 for B's); [CLS] A [SEP]
        and all zeros when there is no B."""
        if not self.tokens_b:
            return [cls_id, *self.tokens_a, sep_id], [0] * (len(self.tokens_a) + 2)
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
    sop: bool = False,
) -> list[NspPair]:
    """google-research/bert's create_instances_from_document, on token ids; with sop=True,
    ALBERT's: B is always the text after A, and the two are swapped half the time."""
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
            swap = sop and rng.random() < 0.5
            is_random = not sop and (rng.random() < 0.5 or len(document) == 1)
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
            if swap:
                tokens_a, tokens_b = tokens_b, tokens_a
            truncate_pair(tokens_a, tokens_b, max_tokens, rng)
            pairs.append(NspPair(tokens_a, tokens_b, is_random, index, b_document, swap))
            chunk, length = [], 0
        i += 1
    return pairs


def _check_cut(dupe_factor: int, max_seq_length: int, layout: str,
               short_seq_prob: float = 0.0) -> None:
    """Refuse settings no cut of the corpus can honour, naming the setting."""
    if not isinstance(dupe_factor, int) or dupe_factor < 1:
        raise ValueError(f"dupe_factor must be a positive integer, got {dupe_factor!r}")
    if max_seq_length < len(layout.split()):
        raise ValueError(f"max_seq_length must be at least {len(layout.split())} ({layout}), "
                         f"got {max_seq_length}")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}")


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
    _check_cut(dupe_factor, max_seq_length, "[CLS] a [SEP] b [SEP]", short_seq_prob)
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


def make_sop_pairs(
    documents: Sequence[Sequence[Sequence[int]]],
    max_seq_length: int,
    rng: random.Random,
    short_seq_prob: float = SHORT_SEQ_PROB,
    dupe_factor: int = 1,
) -> list[NspPair]:
    """ALBERT's sentence-order pairs: two consecutive segments of one document, half swapped.

    Documents are cut as make_nsp_pairs cuts them, but B is always the text that follows A,
    and with probability 0.5 the two trade places (label SOP_SWAPPED). Both segments come
    from one document, so the topic gives nothing away, only the order does. A document of
    one sentence makes no pair; `document` still indexes the list given.
    """
    _check_cut(dupe_factor, max_seq_length, "[CLS] a [SEP] b [SEP]", short_seq_prob)
    documents = [[s for s in doc if s] for doc in documents]
    if not any(len(doc) >= 2 for doc in documents):
        raise ValueError("sentence-order prediction needs a document of two or more sentences")
    pairs: list[NspPair] = []
    for _ in range(dupe_factor):
        for index, document in enumerate(documents):
            if len(document) >= 2:
                pairs.extend(_pairs_from_document(documents, index, max_seq_length - 3,
                                                  short_seq_prob, rng, sop=True))
    return pairs


def make_doc_sentences(
    documents: Sequence[Sequence[Sequence[int]]], max_seq_length: int, dupe_factor: int = 1
) -> list[NspPair]:
    """RoBERTa's DOC-SENTENCES inputs: one segment of consecutive whole sentences, up to full.

    Each document is read in order and cut into segments of whole sentences of at most
    max_seq_length - 2 tokens (room for [CLS] and [SEP]); a segment never crosses the end of
    its document, so a document's last one may be short, and a sentence longer than the
    room is cut to fit. There is no segment B and no sentence-level label. dupe_factor repeats
    the (deterministic) cut: with static masking each copy gets its own mask, as RoBERTa's
    static baseline duplicated its data.
    """
    _check_cut(dupe_factor, max_seq_length, "[CLS] a [SEP]")
    room = max_seq_length - 2
    segments: list[NspPair] = []
    for index, document in enumerate(documents):
        tokens: list[int] = []
        for sentence in (s[:room] for s in document if s):
            if tokens and len(tokens) + len(sentence) > room:
                segments.append(NspPair(tokens, [], False, index, index))
                tokens = []
            tokens = tokens + list(sentence)
        if tokens:
            segments.append(NspPair(tokens, [], False, index, index))
    if not segments:
        raise ValueError("pretraining needs at least one non-empty document")
    return segments * dupe_factor


# ============================================================================ dataset + collator


class PretrainingDataset:
    """NSP pairs made once, masked on access: the same mask every epoch, or a fresh one.

    The mask of pair i in epoch e is drawn from an RNG seeded with (seed, e, i) (e = 0 when
    masking is static), so any example can be rebuilt at any time: a resumed run, or another
    process, sees exactly the masks the original run saw, with no RNG state to carry.
    `objective` says what the pairs are for (one of OBJECTIVES); under "none" an example has
    no next_sentence_label.
    """

    def __init__(
        self,
        pairs: Sequence[NspPair],
        scheme: MaskingScheme,
        cls_id: int,
        sep_id: int,
        seed: int = 0,
        dynamic: bool = True,
        objective: str = "nsp",
    ) -> None:
        if not pairs:
            raise ValueError("a pretraining dataset needs at least one NSP pair")
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")
        self.pairs = list(pairs)
        self.scheme = scheme
        self.cls_id, self.sep_id = cls_id, sep_id
        self.seed = seed
        self.dynamic = dynamic
        self.objective = objective

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
        objective: str = "nsp",
        mask_prob: float = MASK_PROB,
    ) -> PretrainingDataset:
        """Tokenize documents, cut them into pairs for `objective` and set up masking, all from
        one seed.

        The cap on predictions grows with mask_prob so that it never binds: the reference's
        20 per 128 tokens would hold 40% masking of 64 tokens down to 31%.
        """
        tokenized = tokenize_documents(documents, tokenizer)
        rng = random.Random(seed)
        if objective == "sop":
            pairs = make_sop_pairs(tokenized, max_seq_length, rng, short_seq_prob, dupe_factor)
        elif objective == "none":
            pairs = make_doc_sentences(tokenized, max_seq_length, dupe_factor)
        else:
            pairs = make_nsp_pairs(tokenized, max_seq_length, rng, short_seq_prob, dupe_factor)
        cap = max(MAX_PREDICTIONS, math.ceil(mask_prob * max_seq_length))
        scheme = MaskingScheme.for_tokenizer(tokenizer, mask_prob, cap, whole_word)
        return cls(pairs, scheme, tokenizer.cls_token_id, tokenizer.sep_token_id, seed, dynamic,
                   objective)

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
        example = {"input_ids": masked.input_ids, "token_type_ids": types, "labels": masked.labels}
        if self.objective != "none":
            example["next_sentence_label"] = pair.label
        return example


def collate(examples: Sequence[dict[str, Any]], pad_id: int = 0) -> dict[str, Tensor]:
    """Pad examples to the longest of the batch and stack them into model inputs.

    The one batching path of bertlab (fine-tuning batches with it too): token lists are padded,
    input_ids with pad_id, labels with IGNORE_INDEX (padding costs no loss) and the rest with 0,
    and attention_mask marks the real tokens; per-example values (the NSP label, a class, an
    answer position) are stacked.
    """
    if not examples:
        raise ValueError("cannot collate an empty batch")
    lengths = [len(e["input_ids"]) for e in examples]
    length = max(lengths)
    padding = {"input_ids": pad_id, "labels": IGNORE_INDEX}
    batch = {}
    for key, first in examples[0].items():
        if isinstance(first, list | tuple):
            rows = [list(e[key]) + [padding.get(key, 0)] * (length - len(e[key])) for e in examples]
            batch[key] = torch.tensor(rows, dtype=torch.long)  # (B, T)
        else:
            batch[key] = torch.tensor([e[key] for e in examples], dtype=torch.long)  # (B,)
        if key == "input_ids":
            mask = [[1] * n + [0] * (length - n) for n in lengths]
            batch["attention_mask"] = torch.tensor(mask, dtype=torch.long)  # (B, T)
    return batch


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
) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
    """Summed MLM and NSP cross-entropies of a batch (sums, so a caller can normalize globally).

    MLM logits come from bertlab's sparse head: only the labelled rows (N, vocab), never the
    (B, T, vocab) tensor. Returns (mlm_sum, nsp_sum, counts) with counts of correct guesses;
    nsp_sum is the sentence-order loss for SOP pairs, and None when the batch has no
    next_sentence_label (objective "none").
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
    counts = {"mlm_correct": (logits.argmax(-1) == targets).sum().detach()}
    if "next_sentence_label" not in batch:
        return mlm_sum, None, counts
    nsp_sum = F.cross_entropy(nsp_logits, batch["next_sentence_label"], reduction="sum")
    counts["nsp_correct"] = (nsp_logits.argmax(-1) == batch["next_sentence_label"]).sum().detach()
    return mlm_sum, nsp_sum, counts


@dataclass(frozen=True)
class StepLog:
    """One optimizer step: the losses over its whole global batch, and the learning rate used.

    The sentence-level loss is nsp_loss or sop_loss, whichever the objective trains (None
    for the other, and both None under "none").
    """

    step: int
    loss: float
    mlm_loss: float
    nsp_loss: float | None
    learning_rate: float
    grad_norm: float
    sop_loss: float | None = None


@dataclass(frozen=True)
class EvalResult:
    """Held-out scores: masked-token loss and accuracy, next-sentence loss and accuracy.

    `seconds` is the training time spent so far (evaluations not counted), and `fill_in` the
    fill-in accuracy on chapter 00's blanks, overall and per word class, when they were scored.
    A model trained with sentence-order prediction has sop_* scores and nsp_* None; one
    trained without a sentence-level task (objective "none") has None for all four.
    """

    step: int
    mlm_loss: float
    mlm_accuracy: float
    nsp_loss: float | None
    nsp_accuracy: float | None
    masked_tokens: int
    pairs: int
    seconds: float = field(default=0.0, compare=False)  # a timing, not a result
    fill_in: dict[str, float] = field(default_factory=dict)
    sop_loss: float | None = None
    sop_accuracy: float | None = None


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

    Uses each pair's epoch-0 mask, so scores from different steps are comparable. `model` is
    what `pretraining_loss_sums` calls (Pretrainer.wrap of a BertForPreTraining).
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
        sums += torch.tensor([float(mlm_sum), float(nsp_sum or 0.0), float(counts["mlm_correct"]),
                              float(counts.get("nsp_correct", 0))], dtype=torch.float64)
        masked += int((batch["labels"] != IGNORE_INDEX).sum())
    model.train(was_training)
    result = EvalResult(step, float(sums[0]) / masked, float(sums[2]) / masked,
                        float(sums[1]) / n, float(sums[3]) / n, masked, n)
    if data.objective == "sop":  # the same head and loss, under its own name
        return replace(result, nsp_loss=None, nsp_accuracy=None, sop_loss=result.nsp_loss,
                       sop_accuracy=result.nsp_accuracy)
    if data.objective == "none":
        return replace(result, nsp_loss=None, nsp_accuracy=None)
    return result


# ============================================================================ training


class Pretrainer(Trainer):
    """MLM + NSP pretraining in the shared loop (bertlab.train): steps, evaluation, callbacks,
    checkpoints and exact resume, for a BertForPreTraining.

    A step's global batch is a function of the step: the batches of epoch e come from
    `epoch_batches` and pair i is masked as epoch e masks it. Each evaluation scores the
    held-out pairs and, when `fill_in` is given (a callable: model -> {word class: accuracy}),
    chapter 00's fill-in blanks too.
    """

    step_record, eval_record = StepLog, EvalResult

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
        callbacks: Sequence[Callable[[Any, Any], None]] = (),
        progress: bool = True,
        fill_in: Callable[[nn.Module], dict[str, float]] | None = None,
    ) -> None:
        if not isinstance(model, BertForPreTraining):
            raise TypeError(f"Pretrainer trains a bertlab BertForPreTraining, got "
                            f"{type(model).__name__}")
        if eval_data is not None and eval_data.objective != train_data.objective:
            raise ValueError(f"the held-out data is made for {eval_data.objective!r}, the "
                             f"training data for {train_data.objective!r}")
        if len(train_data) < config.batch_size:
            raise ValueError(f"the training data has {len(train_data)} pairs, fewer than one "
                             f"batch of {config.batch_size}: use a smaller batch or more text")
        self.train_data, self.eval_data, self.fill_in = train_data, eval_data, fill_in
        self.pad_id = tokenizer.pad_token_id if tokenizer is not None else 0
        self.steps_per_epoch = len(train_data) // config.batch_size
        self._lengths = [len(p.tokens_a) + len(p.tokens_b) + (3 if p.tokens_b else 2)
                         for p in train_data.pairs]
        # the name of the sentence-level loss term, if the objective has one
        self.pair_loss = {"nsp": "nsp_loss", "sop": "sop_loss"}.get(train_data.objective)
        if self.pair_loss is None:  # nothing trains the pooler and NSP head: freeze them, so
            # that the optimizer and DistributedDataParallel do not wait for their gradients
            model.bert.pooler.requires_grad_(False)
            model.nsp.requires_grad_(False)
        self._batches: tuple[int, list[list[int]]] | None = None
        evaluate = Pretrainer.evaluate_held_out if eval_data is not None else None
        super().__init__(model, config, evaluate=evaluate, callbacks=callbacks,
                         tokenizer=tokenizer, output_dir=output_dir, device=device,
                         progress=progress, desc="pretraining")

    def wrap(self, model: nn.Module) -> nn.Module:
        """What the loss calls: MLM logits at the labelled positions only, (N, vocab)."""
        return SparseMlmPreTraining(model)  # sparse MLM path

    def examples(self, step: int) -> list[dict[str, Any]]:
        """The pairs of optimizer step `step`, masked as their epoch masks them."""
        epoch, offset = divmod(step, self.steps_per_epoch)
        if self._batches is None or self._batches[0] != epoch:
            batches = epoch_batches(self._lengths, self.config.batch_size, epoch, self.config.seed)
            self._batches = (epoch, batches)
        return [self.train_data.example(i, epoch) for i in self._batches[1][offset]]

    def collate(self, examples: Sequence[dict[str, Any]]) -> dict[str, Tensor]:
        """Pad a micro-batch of pairs (bertlab's one collate)."""
        return collate(examples, self.pad_id)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The summed MLM and NSP (or SOP) cross-entropies of a micro-batch."""
        mlm_sum, nsp_sum, _ = pretraining_loss_sums(self.module, batch)
        if self.pair_loss is None:  # objective "none": MLM alone
            return {"mlm_loss": mlm_sum}
        return {"mlm_loss": mlm_sum, self.pair_loss: nsp_sum}

    def divisors(self, examples: Sequence[dict[str, Any]]) -> dict[str, int]:
        """The step's masked tokens (for the MLM sum) and its pairs (for the NSP sum)."""
        n_masked = sum(sum(label != IGNORE_INDEX for label in e["labels"]) for e in examples)
        if self.pair_loss is None:
            return {"mlm_loss": n_masked}
        return {"mlm_loss": n_masked, self.pair_loss: len(examples)}

    def step_log(self, step: int, losses: dict[str, float], learning_rate: float,
                 grad_norm: float) -> StepLog:
        """MLM and NSP (or SOP) losses of the step, and their sum."""
        mlm_loss, nsp_loss, sop_loss = (losses["mlm_loss"], losses.get("nsp_loss"),
                                        losses.get("sop_loss"))
        pair_loss = nsp_loss if nsp_loss is not None else sop_loss
        total = mlm_loss if pair_loss is None else mlm_loss + pair_loss
        return StepLog(step, total, mlm_loss, nsp_loss, learning_rate, grad_norm, sop_loss)

    @torch.no_grad()
    def evaluate_held_out(self, model: BertForPreTraining | None = None,
                          batch_size: int | None = None) -> EvalResult:
        """Score the held-out pairs (the first eval_examples of them, masked once), and the
        fill-in blanks when the trainer has them; `model` scores another model the same way."""
        if self.eval_data is None:
            raise ValueError("no eval_data was given to the Pretrainer")
        model = model if model is not None else self.model
        result = evaluate_pretraining(
            self.wrap(model), self.eval_data, self.config.eval_examples,
            batch_size or self.config.batch_size, self.pad_id, self.step, self.autocast(),
        )
        fill_in = self.fill_in(model) if self.fill_in is not None else {}
        return replace(result, seconds=round(self.seconds, 2), fill_in=fill_in)
