"""Chapter 07: each check accepts the reference solution and rejects wrong answers."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
import torch
from conftest import load_solution

from bertlab.exercises import what_bert_learned as ch07
from bertlab.linear_probes import ProbeTask
from bertlab.tinyworld.ngram import HELD_OUT, fill_in_benchmark


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    return load_solution("ch07_what_bert_learned")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def _not_attempted(result) -> bool:  # noqa: ANN001
    return not result.passed and not result.attempted and "Hint" not in str(result)


def _task() -> ProbeTask:
    rng = np.random.default_rng(0)
    types = rng.integers(0, 30, 600)
    features = torch.tensor(rng.normal(size=(2, 600, 8)), dtype=torch.float32)
    features[0, :, :5] += torch.tensor(np.eye(30)[types][:, :5] * 4, dtype=torch.float32)
    return ProbeTask("toy", features, types % 3, [f"w{t}" for t in types],
                     rng.integers(0, 40, 600), ("a", "b", "c"))


def test_control_accuracy_check(solution: ModuleType) -> None:
    task = _task()
    measured = solution.measure_control_accuracy(task)
    assert ch07.check_control_accuracy(0.5, solution.measure_control_accuracy, task).passed
    assert _not_attempted(ch07.check_control_accuracy(None, solution.measure_control_accuracy,
                                                      task))
    assert _not_attempted(ch07.check_control_accuracy(0.5, _placeholder, task))
    from bertlab.linear_probes import held_out_by_document, probe_accuracy

    real = probe_accuracy(task.features[0], task.labels, 3, held_out_by_document(task.documents))
    assert abs(real - measured) > 0.005  # the mistake below is detectable
    wrong = ch07.check_control_accuracy(0.5, lambda t: real, task)
    assert not wrong.passed and "check what your code measures" in wrong.message
    assert "control_labels" in str(wrong)  # the hint, after a wrong try


@pytest.fixture(scope="module")
def fill_in_setup(world):  # type: ignore[no-untyped-def]
    from bertlab.course_model import course_model

    model, tokenizer = course_model()
    _, blanks = fill_in_benchmark(world, n_blanks=80)
    return model.eval(), tokenizer, blanks, world.split(HELD_OUT)[1].as_documents()


def test_copy_head_drop_check(solution: ModuleType, fill_in_setup) -> None:  # noqa: ANN001
    model, tokenizer, blanks, documents = fill_in_setup
    args = (model, tokenizer, blanks, documents, 3, 1)
    measured = solution.measure_copy_head_drop(*args)
    assert ch07.check_copy_head_drop(0.1, solution.measure_copy_head_drop, *args).passed
    assert _not_attempted(ch07.check_copy_head_drop(None, solution.measure_copy_head_drop, *args))
    assert _not_attempted(ch07.check_copy_head_drop(0.1, _placeholder, *args))
    full = ch07.fill_in_accuracy(model, tokenizer, blanks, documents).accuracy
    assert full > 0.3 and abs(full - measured) > 0.005
    wrong = ch07.check_copy_head_drop(0.1, lambda *a: full, *args)  # accuracy, not the drop
    assert not wrong.passed and "heads_ablated" in str(wrong)
    unit = ch07.check_copy_head_drop("a lot", solution.measure_copy_head_drop, *args)
    assert not unit.passed and "prediction as a number" in unit.message


def test_zero_head_check(solution: ModuleType) -> None:
    assert ch07.check_zero_head(solution.zero_head).passed
    assert _not_attempted(ch07.check_zero_head(_placeholder))

    def keep_only(context, head, size):  # noqa: ANN001, ANN202
        kept = torch.zeros_like(context)
        kept[..., head * size:(head + 1) * size] = context[..., head * size:(head + 1) * size]
        return kept

    result = ch07.check_zero_head(keep_only)
    assert not result.passed and "kept only the head" in result.message

    def off_by_one(context, head, size):  # noqa: ANN001, ANN202
        context = context.clone()
        context[..., head * size + 1:(head + 1) * size + 1] = 0.0
        return context

    result = ch07.check_zero_head(off_by_one)
    assert not result.passed and "owns features" in result.message and "Hint" in str(result)

    def in_place(context, head, size):  # noqa: ANN001, ANN202
        context[..., head * size:(head + 1) * size] = 0.0
        return context

    result = ch07.check_zero_head(in_place)
    assert not result.passed and "in place" in result.message
