"""Chapter 06's checks accept the reference solutions and reject wrong answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_solution

from bertlab.exercises import finetuning as checks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solutions():  # type: ignore[no-untyped-def]
    return load_solution("ch06_finetuning")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def test_align_labels_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_align_labels(solutions.align_labels).passed
    every_piece = checks.check_align_labels(
        lambda ids, labels: [-100 if w is None else labels[w] for w in ids]
    )
    assert not every_piece.passed and "every piece" in every_piece.message
    specials = checks.check_align_labels(
        lambda ids, labels: [0 if w is None else x for w, x in
                             zip(ids, solutions.align_labels(ids, labels), strict=True)]
    )
    assert not specials.passed and "[CLS]" in specials.message
    crashing = checks.check_align_labels(lambda ids, labels: labels[99])
    assert not crashing.passed and crashing.attempted and "IndexError" in crashing.message
    pending = checks.check_align_labels(_placeholder)
    assert not pending.passed and not pending.attempted


def test_bio_entities_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_bio_entities(solutions.entities).passed

    def inclusive(tags):  # type: ignore[no-untyped-def]
        return [(k, s, e - 1) for k, s, e in solutions.entities(tags)]

    wrong_end = checks.check_bio_entities(inclusive)
    assert not wrong_end.passed and "exclusive" in wrong_end.message

    def strict_b(tags):  # type: ignore[no-untyped-def]  # only B- opens an entity
        return [e for e in solutions.entities(tags) if tags[e[1]].startswith("B-")]

    lenient = checks.check_bio_entities(strict_b)
    assert not lenient.passed and "I- tag" in lenient.message

    def drops_last(tags):  # type: ignore[no-untyped-def]
        return [e for e in solutions.entities(tags) if e[2] < len(tags)]

    open_end = checks.check_bio_entities(drops_last)
    assert not open_end.passed and "end" in open_end.message
    assert not checks.check_bio_entities(_placeholder).attempted


def test_pick_span_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_pick_span(solutions.pick_span).passed

    def anywhere(start_logits, end_logits, mask, max_len):  # type: ignore[no-untyped-def]
        return int(start_logits.argmax()), int(end_logits.argmax())

    unconstrained = checks.check_pick_span(anywhere)
    assert not unconstrained.passed

    def ignores_mask(start_logits, end_logits, mask, max_len):  # type: ignore[no-untyped-def]
        import torch

        return solutions.pick_span(start_logits, end_logits, torch.ones_like(mask), max_len)

    outside = checks.check_pick_span(ignores_mask)
    assert not outside.passed and "passage" in outside.message

    def too_long(start_logits, end_logits, mask, max_len):  # type: ignore[no-untyped-def]
        return solutions.pick_span(start_logits, end_logits, mask, 100)

    long = checks.check_pick_span(too_long)
    assert not long.passed and "max_len" in long.message
    assert not checks.check_pick_span(_placeholder).attempted
