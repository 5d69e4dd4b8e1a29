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


# ------------------------------------------------------- predict, then measure (the measuring)


def random_init_accuracy(model_dir, train, validation, test, settings) -> float:  # type: ignore[no-untyped-def]
    """Test accuracy of a classifier fine-tuned from random weights (the config, no checkpoint)."""
    from bertlab import finetuning as ft
    from bertlab.environment import set_seed
    from bertlab.model import BertConfig, BertForSequenceClassification

    set_seed(settings.seed)
    model = BertForSequenceClassification(BertConfig.from_pretrained(model_dir, num_labels=2))
    ft.fine_tune(model, train, validation, settings, progress=False)
    return test.evaluate(model)["accuracy"]


def bert_base_rate_f1(model_dir, train, validation, test, settings) -> float:  # type: ignore[no-untyped-def]
    """Entity F1 on unseen names of the course model fine-tuned at 3e-5."""
    from dataclasses import replace

    from bertlab import finetuning as ft
    from bertlab.environment import set_seed
    from bertlab.model import BertForTokenClassification

    set_seed(settings.seed)
    tagger = BertForTokenClassification.from_pretrained(model_dir, num_labels=len(ft.NER_LABELS))
    ft.fine_tune(tagger, train, validation, replace(settings, learning_rate=3e-5), progress=False)
    return test.evaluate(tagger)["f1"]


def single_token_share(questions) -> float:  # type: ignore[no-untyped-def]
    """The share of answers inside the window whose start token is their end token."""
    starts, ends = questions.features["start_positions"], questions.features["end_positions"]
    inside = [i for i, kept in enumerate(questions.answer_in_window) if kept]
    return sum(starts[i] == ends[i] for i in inside) / len(inside)


def positive_share(model_dir, train, validation, test, settings) -> float:  # type: ignore[no-untyped-def]
    """The share of test reviews a random-init classifier fine-tuned on `train` calls positive."""
    import numpy as np

    from bertlab import finetuning as ft
    from bertlab.environment import set_seed
    from bertlab.model import BertConfig, BertForSequenceClassification

    set_seed(settings.seed)
    model = BertForSequenceClassification(BertConfig.from_pretrained(model_dir, num_labels=2))
    ft.fine_tune(model, train, validation, settings, progress=False)
    return float(np.mean(test.predict(model)))


# Answers to the concept questions (QUIZZES in bertlab/exercises/finetuning.py).
CONCEPT_ANSWERS = {
    "06a": {1: "b", 2: "a", 3: "d", 4: "c"},
    "06b": {1: "c", 2: "b", 3: "a", 4: "d"},
}
