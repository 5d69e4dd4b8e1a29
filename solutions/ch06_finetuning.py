"""Reference solutions for chapter 06's exercises (tests prove each check accepts them)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """Label each word's first piece; every other position gets -100."""
    labels, previous = [], None
    for word in word_ids:
        labels.append(-100 if word is None or word == previous else word_labels[word])
        previous = word
    return labels


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, start, end) spans, end exclusive; an I- that continues nothing opens an entity."""
    found, open_type, open_start = [], None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, kind = (tag[0], tag[2:]) if tag != "O" else ("O", None)
        continues = prefix == "I" and kind == open_type
        if open_type is not None and not continues:
            found.append((open_type, open_start, i))
            open_type = None
        if prefix == "B" or (prefix == "I" and not continues):
            open_type, open_start = kind, i
    return found


def pick_span(
    start_logits: torch.Tensor, end_logits: torch.Tensor, passage_mask: torch.Tensor, max_len: int
) -> tuple[int, int]:
    """The legal (start, end) with the highest start + end score."""
    best, best_score = (0, 0), float("-inf")
    n = len(start_logits)
    for i in range(n):
        for j in range(i, min(n, i + max_len)):
            if passage_mask[i] and passage_mask[j]:
                score = float(start_logits[i] + end_logits[j])
                if score > best_score:
                    best, best_score = (i, j), score
    return best
