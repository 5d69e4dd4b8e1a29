"""bertlab.metrics: each metric on hand-counted cases; clear errors on what it would miscount."""

from __future__ import annotations

import numpy as np
import pytest

from bertlab import metrics


def test_metrics_refuse_labels_outside_the_classes() -> None:
    with pytest.raises(ValueError, match=r"gold labels must be classes 0..1, got e.g. \[-1\]"):
        metrics.confusion_matrix([0, -1, 1], [0, 1, 1], 2)  # -1 was counted as the last class
    with pytest.raises(ValueError, match=r"predicted labels must be classes 0..1, got e.g. \[5\]"):
        metrics.macro_f1([0, 1, 1], [0, 5, 1], 2)


def test_classification_metrics_by_hand() -> None:
    gold = [1, 1, 1, 0, 0, 0, 0, 1]
    pred = [1, 1, 0, 0, 1, 0, 0, 0]
    assert metrics.accuracy(gold, pred) == 5 / 8
    # class 1: tp=2, predicted 3, gold 4 -> P=2/3, R=1/2, F1=4/7
    assert metrics.f1_score(gold, pred, 1) == pytest.approx(4 / 7)
    # class 0: tp=3, predicted 5, gold 4 -> F1 = 6/9
    assert metrics.f1_score(gold, pred, 0) == pytest.approx(2 / 3)
    assert metrics.macro_f1(gold, pred, 2) == pytest.approx((4 / 7 + 2 / 3) / 2)
    np.testing.assert_array_equal(metrics.confusion_matrix(gold, pred, 2), [[3, 1], [2, 2]])
    with pytest.raises(ValueError, match="4 gold labels but 3"):
        metrics.accuracy([0, 1, 1, 0], [0, 1, 1])


def test_bio_entities_by_hand() -> None:
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-ORG", "O", "I-PER"]
    assert metrics.bio_entities(tags) == [
        ("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6), ("ORG", 6, 7), ("PER", 8, 9),
    ]
    assert metrics.bio_entities(["B-PER", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 2)]
    assert metrics.bio_entities(["O", "O"]) == []
    with pytest.raises(ValueError, match="BIO"):
        metrics.bio_entities(["PER"])


def test_entity_scores_by_hand() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "I-ORG", "B-PER"]]
    # gold: PER(0,2) LOC(3,4) ORG(0,2) = 3; pred: PER(0,1) LOC ORG PER(2,3) = 4; hits: LOC, ORG
    scores = metrics.entity_scores(gold, pred)
    assert scores["precision"] == pytest.approx(2 / 4)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))
    # a span with the right words but the wrong type is a miss
    assert metrics.entity_scores([["B-PER"]], [["B-LOC"]])["f1"] == 0.0
    assert metrics.entity_scores(gold, gold)["f1"] == 1.0


def test_squad_answer_metrics_by_hand() -> None:
    assert metrics.normalize_answer("The  Big, Dog!") == "big dog"
    assert metrics.normalize_answer("an apple a day") == "apple day"
    assert metrics.exact_match("the twelve swans.", "Twelve swans") == 1.0
    assert metrics.exact_match("twelve swan", "twelve swans") == 0.0
    # "big brown dog" vs "a dog": shared {dog}; P = 1/3, R = 1/1 -> F1 = 0.5
    assert metrics.token_f1("big brown dog", "a dog") == pytest.approx(0.5)
    # repeated words count as a bag: pred "dog dog", gold "dog" -> P=1/2, R=1 -> 2/3
    assert metrics.token_f1("dog dog", "dog") == pytest.approx(2 / 3)
    assert metrics.token_f1("cat", "dog") == 0.0
    assert metrics.token_f1("the", "a") == 1.0  # both normalize to nothing
