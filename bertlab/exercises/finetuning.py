"""Chapter 06 exercise checks: first-piece label alignment, entities from BIO tags, best span."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch

from bertlab.exercises import CheckResult, failed, passed, run_answer
from bertlab.finetuning import align_labels_to_tokens, best_span
from bertlab.metrics import bio_entities
from bertlab.model import IGNORE_INDEX

# [CLS] leo visit ##ed river ##gate ##s . [SEP] [PAD] [PAD]
_WORD_IDS: list[int | None] = [None, 0, 1, 1, 2, 2, 2, 3, None, None, None]
_WORD_LABELS = [1, 0, 3, 0]  # B-PER O B-LOC O


def check_align_labels(
    answer: Callable[[Sequence[int | None], Sequence[int]], list[int]],
) -> CheckResult:
    """Grade align_labels(word_ids, word_labels): first piece of a word labelled, the rest -100."""
    exercise = "Exercise 1 (first-piece labels)"
    hint = ("walk through word_ids keeping the previous word id; label a token only when its word "
            "id is not None and differs from the previous one, else use -100.")
    cases = [(_WORD_IDS, _WORD_LABELS)]
    rng = random.Random(6)
    for _ in range(20):  # random sentences: 1-8 words of 1-3 pieces, padding of 0-3
        n_words = rng.randint(1, 8)
        word_ids: list[int | None] = [None]
        for word in range(n_words):
            word_ids += [word] * rng.randint(1, 3)
        word_ids += [None] * rng.randint(1, 4)
        cases.append((word_ids, [rng.randrange(7) for _ in range(n_words)]))
    for word_ids, labels in cases:
        result = run_answer(exercise, hint, answer, list(word_ids), list(labels))
        if isinstance(result, CheckResult):
            return result
        expected = align_labels_to_tokens(word_ids, labels)
        if not isinstance(result, list | tuple) or len(result) != len(word_ids):
            return failed(exercise, f"return one label per token ({len(word_ids)} for word_ids "
                                    f"{word_ids}), got {result!r}")
        result = [int(r) for r in result]
        if result == expected:
            continue
        where = f"for word_ids {word_ids} and word labels {labels} you returned {result}"
        specials = [i for i, w in enumerate(word_ids) if w is None]
        if any(result[i] != IGNORE_INDEX for i in specials):
            return failed(exercise, f"{where}: [CLS], [SEP] and [PAD] (word id None) must get "
                                    f"{IGNORE_INDEX} so the loss skips them.")
        every_piece = [IGNORE_INDEX if w is None else labels[w] for w in word_ids]
        if result == every_piece:
            return failed(exercise, f"{where}: you labelled every piece of a split word; only "
                                    f"the first piece gets the word's label, the others "
                                    f"{IGNORE_INDEX}.")
        return failed(exercise, f"{where}; expected {expected}.")
    return passed(exercise, "one label per word, on its first piece: the loss now counts words.")


_BIO_CASES: list[list[str]] = [
    ["B-PER", "I-PER", "O", "B-LOC", "O"],
    ["B-LOC", "B-LOC", "I-LOC"],  # two entities side by side
    ["O", "I-PER", "I-PER", "O"],  # an I- with no B- still starts an entity (CoNLL's rule)
    ["B-PER", "I-ORG", "I-ORG"],  # a type switch ends one entity and starts another
    ["B-ORG", "I-ORG", "I-ORG"],  # an entity that runs to the end of the sentence
    ["O", "O", "O"],
]


def check_bio_entities(
    answer: Callable[[Sequence[str]], list[tuple[str, int, int]]],
) -> CheckResult:
    """Grade entities(tags) -> [(type, start, end)], end exclusive, seqeval's lenient rule."""
    exercise = "Exercise 2 (entities from BIO tags)"
    hint = ("keep the open entity (type, start); close it at O, at B-, or at an I- of another "
            "type; open one at B- or at an I- that does not continue the open entity.")
    rng = random.Random(2)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    cases = _BIO_CASES + [[rng.choice(tags) for _ in range(rng.randint(1, 10))] for _ in range(30)]
    for case in cases:
        result = run_answer(exercise, hint, answer, list(case))
        if isinstance(result, CheckResult):
            return result
        expected = bio_entities(case)
        try:
            got = sorted(((str(kind), int(start), int(end)) for kind, start, end in result),
                         key=lambda entity: entity[1:])
        except (TypeError, ValueError):
            return failed(exercise, f"return a list of (type, start, end) tuples, got {result!r}")
        if got == expected:
            continue
        where = f"for {case} you found {got}, expected {expected}"
        if [(k, s, e - 1) for k, s, e in expected] == got:
            return failed(exercise, f"{where}: make `end` exclusive (one past the last word), "
                                    "like Python slices.")
        if got == [entity for entity in expected if entity[2] < len(case)]:
            return failed(exercise, f"{where}: close the entity still open at the end of the "
                                    "tags (add a final 'O', or check after the loop).")
        if case in (_BIO_CASES[2], _BIO_CASES[3]):
            return failed(exercise, f"{where}: an I- tag that does not continue an entity of its "
                                    "own type starts a new entity (seqeval and conlleval agree).")
        return failed(exercise, f"{where}.")
    return passed(exercise, "your entities match seqeval's reading of BIO tags, edge cases too.")


def check_pick_span(
    answer: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], tuple[int, int]],
) -> CheckResult:
    """Grade pick_span(start_logits, end_logits, passage_mask, max_len) -> (start, end)."""
    exercise = "Exercise 3 (best answer span)"
    hint = ("score every (i, j) as start_logits[i] + end_logits[j]; keep i <= j < i + max_len "
            "with both tokens in the passage; return the argmax pair.")
    # a hand case whose unconstrained best pairs are illegal: [CLS], question, end < start, too long
    hand = (torch.tensor([9.0, 8.0, 0.0, 0.0, 5.0, 0.0, 0.0, 6.0]),
            torch.tensor([9.0, 0.0, 7.0, 3.0, 0.0, 2.0, 0.0, 0.0]),
            torch.tensor([False, False, True, True, True, True, True, True]), 3)
    generator = torch.Generator().manual_seed(6)
    cases = [hand]
    for _ in range(25):
        length = int(torch.randint(6, 20, (1,), generator=generator))
        passage_start = int(torch.randint(1, length - 2, (1,), generator=generator))
        mask = torch.zeros(length, dtype=torch.bool)
        mask[passage_start : length - 1] = True
        cases.append((torch.randn(length, generator=generator) * 3,
                      torch.randn(length, generator=generator) * 3, mask,
                      int(torch.randint(1, 6, (1,), generator=generator))))
    for start_logits, end_logits, mask, max_len in cases:
        result = run_answer(exercise, hint, answer, start_logits.clone(), end_logits.clone(),
                            mask.clone(), max_len)
        if isinstance(result, CheckResult):
            return result
        try:
            start, end = (int(x) for x in result)
        except (TypeError, ValueError):
            return failed(exercise, f"return a (start, end) pair of token indices, got {result!r}")
        expected = best_span(start_logits, end_logits, mask, max_len)[:2]
        if (start, end) == expected:
            continue
        where = f"you picked ({start}, {end}), expected {expected}"
        if end < start:
            return failed(exercise, f"{where}: the end comes before the start; "
                                    "require start <= end.")
        if not (bool(mask[start]) and bool(mask[end])):
            return failed(exercise, f"{where}: a token outside the passage ([CLS], the question or "
                                    "[SEP]) cannot be part of the answer.")
        if end - start + 1 > max_len:
            return failed(exercise, f"{where}: that span has {end - start + 1} tokens, more than "
                                    f"max_len={max_len}.")
        best = start_logits[expected[0]] + end_logits[expected[1]]
        if start_logits[start] + end_logits[end] < best:
            return failed(exercise, f"{where}: a legal span scores higher; score start + end.")
        return failed(exercise, f"{where}.")
    return passed(exercise, "you pick the best legal span, as BERT's SQuAD code does.")
