"""Task metrics (chapter 06): accuracy and F1, entity-level F1, SQuAD's exact match and F1.

Each is the standard definition written out (seqeval's rule for BIO entities, SQuAD's answer
normalization), with clear errors for inputs that would be silently miscounted.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


def check_pairs(gold: Sequence[Any], predicted: Sequence[Any]) -> None:
    """Refuse to score lists of different lengths, or nothing at all."""
    if len(gold) != len(predicted):
        raise ValueError(f"got {len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("cannot score zero examples")


def _check_classes(gold: Sequence[int], predicted: Sequence[int], num_classes: int) -> None:
    """Refuse labels outside 0..num_classes-1 (e.g. an ignored -1), which would be miscounted."""
    check_pairs(gold, predicted)
    for name, labels in (("gold", gold), ("predicted", predicted)):
        bad = [label for label in labels if not 0 <= label < num_classes]
        if bad:
            raise ValueError(f"{name} labels must be classes 0..{num_classes - 1}, got e.g. "
                             f"{bad[:5]}: drop ignored positions (-1 or -100) before scoring")


def accuracy(gold: Sequence[int], predicted: Sequence[int]) -> float:
    """Share of examples whose predicted class is the gold one."""
    check_pairs(gold, predicted)
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def f1_score(gold: Sequence[int], predicted: Sequence[int], label: int = 1) -> float:
    """F1 of one class: the harmonic mean of its precision and recall (0 when it never occurs)."""
    check_pairs(gold, predicted)
    true_pos = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
    pred_pos = sum(p == label for p in predicted)
    gold_pos = sum(g == label for g in gold)
    return 2 * true_pos / (pred_pos + gold_pos) if pred_pos + gold_pos else 0.0


def macro_f1(gold: Sequence[int], predicted: Sequence[int], num_classes: int) -> float:
    """The mean of every class's F1, so a rare class counts as much as a common one."""
    _check_classes(gold, predicted, num_classes)
    return sum(f1_score(gold, predicted, c) for c in range(num_classes)) / num_classes


def confusion_matrix(gold: Sequence[int], predicted: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = gold class, column = predicted class."""
    _check_classes(gold, predicted, num_classes)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for g, p in zip(gold, predicted, strict=True):
        matrix[g, p] += 1
    return matrix


def bio_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Read entities (type, start, end) with `end` exclusive from BIO tags, as seqeval does.

    An entity starts at a B- tag, or at an I- tag that does not continue an entity of its
    type (CoNLL's lenient rule), and runs while I- tags of the same type follow.
    """
    entities: list[tuple[str, int, int]] = []
    current: tuple[str, int] | None = None  # (type, start) of the open entity
    for index, tag in enumerate([*tags, "O"]):
        if tag == "O":
            prefix, kind = "O", ""
        elif len(tag) > 2 and tag[:2] in ("B-", "I-"):
            prefix, kind = tag[0], tag[2:]
        else:
            raise ValueError(f"tag {index} is {tag!r}: BIO tags are 'O', 'B-TYPE' or 'I-TYPE'")
        continues = prefix == "I" and current is not None and current[0] == kind
        if current is not None and not continues:
            entities.append((current[0], current[1], index))
            current = None
        if prefix == "B" or (prefix == "I" and not continues):
            current = (kind, index)
    return entities


def entity_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Micro precision, recall and F1 over entities: a hit needs the exact span and type."""
    check_pairs(gold, predicted)
    true_pos = n_pred = n_gold = 0
    for index, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {index}: {len(g)} gold tags but {len(p)} predicted tags")
        gold_set, pred_set = set(bio_entities(g)), set(bio_entities(p))
        true_pos += len(gold_set & pred_set)
        n_pred += len(pred_set)
        n_gold += len(gold_set)
    precision = true_pos / n_pred if n_pred else 0.0
    recall = true_pos / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalization: lowercase, drop punctuation and articles, squeeze whitespace."""
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return " ".join(_ARTICLES_RE.sub(" ", text).split())


def exact_match(predicted: str, gold: str) -> float:
    """1.0 when the answers are equal after SQuAD normalization, else 0.0."""
    return float(normalize_answer(predicted) == normalize_answer(gold))


def token_f1(predicted: str, gold: str) -> float:
    """SQuAD's partial credit: F1 of the shared words (a bag, after normalization)."""
    pred_tokens = normalize_answer(predicted).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)
