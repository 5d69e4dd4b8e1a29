"""bertlab.linear_probes: probes find planted signals, controls catch memorised word types."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bertlab import linear_probes as lp
from bertlab.fill_in import word_class
from bertlab.tinyworld.lexicon import FEMALE_NAMES, MALE_NAMES


def _synthetic(signal: str, n: int = 1200, types: int = 200, seed: int = 0) -> lp.ProbeTask:
    """Three balanced classes; layer 0 holds nothing, layer 1 holds `signal` ('label' or
    'type'); labels are a function of the word type when signal is 'type'."""
    rng = np.random.default_rng(seed)
    word_types = rng.integers(0, types, n)
    if signal == "type":
        labels = word_types % 3
        table = rng.normal(size=(types, 16)) * 3
        informative = table[word_types]
    else:
        labels = rng.integers(0, 3, n)
        informative = np.eye(3)[labels] * 3
    noise = rng.normal(size=(2, n, 16))
    informative = np.pad(informative, ((0, 0), (0, 16 - informative.shape[1])))
    features = torch.tensor(np.stack([noise[0], informative + 0.5 * noise[1]]), dtype=torch.float32)
    return lp.ProbeTask("synthetic", features, labels, [f"w{t}" for t in word_types],
                        rng.integers(0, 60, n), ("a", "b", "c"))


def test_a_probe_finds_a_planted_signal_that_its_control_cannot_memorise():
    result = lp.probe_layers(_synthetic("label"), seeds=(0, 1))
    assert result.accuracy[1] > 0.95  # the signal is linear in layer 1
    assert result.accuracy[0] < 0.5  # layer 0 is noise: three classes, chance 1/3
    assert result.control[1] < 0.5  # control labels follow word types, which no layer holds
    assert result.selectivity[1] > 0.45
    assert result.accuracies.shape == (2, 2) and result.selectivity_spread.shape == (2,)


def test_word_identity_alone_scores_on_the_task_and_on_its_control():
    result = lp.probe_layers(_synthetic("type", types=12))  # 12 types: separable in 16-d
    assert result.accuracy[1] > 0.9 and result.control[1] > 0.75  # both memorise the types
    assert result.selectivity[1] < result.accuracy[1] - 0.7


def test_control_labels_are_one_label_per_word_type_with_the_task_distribution():
    task = _synthetic("label", n=6000, types=2000)
    control = task.control_labels(seed=3)
    by_type: dict[str, set[int]] = {}
    for word, label in zip(task.word_types, control, strict=True):
        by_type.setdefault(word, set()).add(int(label))
    assert all(len(labels) == 1 for labels in by_type.values())
    shares = np.bincount(control, minlength=3) / len(control)
    assert np.allclose(shares, np.bincount(task.labels) / len(task.labels), atol=0.06)
    assert not np.array_equal(control, task.control_labels(seed=4))


def test_held_out_examples_are_whole_documents():
    documents = np.repeat(np.arange(40), 5)
    test = lp.held_out_by_document(documents, share=0.25, seed=1)
    assert set(documents[test]).isdisjoint(documents[~test])
    assert len(set(documents[test])) == 10


def test_a_task_must_have_one_entry_per_example():
    with pytest.raises(ValueError, match="one entry per example"):
        lp.ProbeTask("bad", torch.zeros(2, 3, 4), np.zeros(2, dtype=int), ["a", "b"],
                     np.zeros(2), ("x",))


def test_expected_layer_is_where_accuracy_is_gained():
    result = lp.LayerProbes("x", np.array([[0.5, 0.5, 0.9], [0.9, 0.9, 0.9]]), np.zeros((2, 3)),
                            majority=0.5, test_examples=10)
    assert np.allclose(result.expected_layers(), [2.0, 0.0])


@pytest.fixture(scope="module")
def encoded(world, tokenizer):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    from bertlab.model import BertConfig, BertForPreTraining

    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=48)
    model = BertForPreTraining(config).eval()
    return model, lp.encode_documents(model, tokenizer, world.documents[:60])


def test_encoded_word_vectors_are_their_pieces_averaged(encoded, tokenizer):
    model, result = encoded
    assert result.words.shape[0] == 3 and result.cls.shape[:2] == (3, 60)
    window = result.windows[2]
    ids = torch.tensor([window.ids])
    with torch.no_grad():
        states = model.bert(ids, output_hidden_states=True).hidden_states
    start, end = window.spans[4]
    row = int(result.first_word[2]) + 4
    for layer in range(3):
        torch.testing.assert_close(result.words[layer, row], states[layer][0, start:end].mean(0),
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(result.cls[layer, 2], states[layer][0, 0], atol=1e-5,
                                   rtol=1e-5)
    assert result.word_text[row] == window.words[4]


def test_tasks_carry_the_generator_ground_truth(encoded):
    _, result = encoded
    tasks = {task.name: task for task in lp.probe_tasks(result, max_words=500)}
    classes = tasks["word class"]
    assert len(classes.labels) <= 500
    assert all(classes.classes[label] == word_class(word)
               for label, word in zip(classes.labels, classes.word_types, strict=True))
    entities = tasks["entity type"]
    names = {n.lower() for n in FEMALE_NAMES + MALE_NAMES}
    person = entities.classes.index("PER")
    assert any(w in names for w, y in zip(entities.word_types, entities.labels, strict=True)
               if y == person)
    referents = tasks["pronoun's referent"]
    female = {n.lower() for n in FEMALE_NAMES}
    for pronoun, label in zip(referents.word_types, referents.labels, strict=True):
        assert (referents.classes[label] in female) == (pronoun in {"she", "her"})
    assert set(tasks["subject of the verb"].classes) == set(lp.SUBJECT_OFFSETS)
    kinds = tasks["document kind"]
    assert len(kinds.labels) == 60 and len(set(kinds.word_types)) == 60
    assert len(tasks["review sentiment"].labels) == sum(
        d.kind == "review" for d in result.documents)


def test_offset_classes():
    assert lp._offset_class(5, 4) == "1 left" and lp._offset_class(9, 5) == "4-5 left"
    assert lp._offset_class(9, 1) == "6+ left" and lp._offset_class(2, 4) == "right"
