"""Reference solutions for chapter 07's exercises (tests prove each check accepts them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from bertlab import probes
from bertlab.fill_in import fill_in_accuracy
from bertlab.linear_probes import ProbeTask, held_out_by_document, probe_accuracy


def measure_control_accuracy(task: ProbeTask) -> float:
    """The word-class control task's test accuracy at the embedding layer."""
    control = task.control_labels(0)
    test = held_out_by_document(task.documents)
    return probe_accuracy(task.features[0], control, len(task.classes), test)


def measure_copy_head_drop(model: Any, tokenizer: Any, blanks: Sequence[Any],
                           documents: Sequence[Sequence[str]], layer: int, head: int) -> float:
    """Name fill-in accuracy with every head minus with (layer, head) removed."""
    full = fill_in_accuracy(model, tokenizer, blanks, documents).accuracy
    with probes.heads_ablated(model, [(layer, head)]):
        without = fill_in_accuracy(model, tokenizer, blanks, documents).accuracy
    return full - without


def zero_head(context: torch.Tensor, head: int, head_size: int) -> torch.Tensor:
    """The heads' outputs side by side, with one head's slice set to zero (a copy)."""
    context = context.clone()
    context[..., head * head_size:(head + 1) * head_size] = 0.0
    return context


CONCEPT_ANSWERS = {"07": {1: "b", 2: "a", 3: "b", 4: "c", 5: "b"}}
