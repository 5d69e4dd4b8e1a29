"""The n-gram fill-in baseline: counts from context, honest held-out evaluation."""

from __future__ import annotations

import pytest

from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tinyworld.ngram import Blank, NgramFillIn, make_blanks


def test_predicts_from_two_sided_context() -> None:
    docs = [["the cat sat on the mat ."], ["the cat sat on the mat ."], ["the dog sat on a rug ."]]
    model = NgramFillIn().fit(docs)
    words = ("the", "cat", "sat", "on", "the", "mat", ".")
    assert model.predict(words, 1) == "cat"  # (the, _, sat, on) seen twice with cat
    assert model.predict(("the", "dog", "sat", "on", "a", "rug", "."), 4) == "a"


def test_backs_off_to_narrower_context() -> None:
    model = NgramFillIn().fit([["red apples are sweet ."]])
    # the right context 'are sweet' was seen; the left context never was
    assert model.predict(("green", "blue", "apples", "are", "sweet"), 2) == "apples"
    # nothing seen at all: fall back to the most frequent word
    assert model.predict(("zzz", "yyy", "xxx"), 1) in {"red", "apples", "are", "sweet"}


def test_accuracy_counts_exact_hits() -> None:
    model = NgramFillIn().fit([["a b c d ."]] * 3)
    hit = Blank(("a", "b", "c", "d", "."), 1, "b", 0, 0)
    miss = Blank(("a", "b", "c", "d", "."), 1, "x", 0, 0)
    assert model.accuracy([hit, miss]) == 0.5
    with pytest.raises(ValueError):
        model.accuracy([])


def test_unfitted_model_and_bad_position_fail_clearly() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        NgramFillIn().predict(("a",), 0)
    model = NgramFillIn().fit([["a b ."]])
    with pytest.raises(IndexError):
        model.predict(("a", "b"), 5)


def test_blanks_are_reproducible_and_skip_punctuation() -> None:
    docs = generate_corpus(50, seed=3).as_documents()
    first, again = make_blanks(docs, 200, seed=1), make_blanks(docs, 200, seed=1)
    assert first == again
    assert all(b.words[b.position] == b.answer and b.answer[0].isalnum() for b in first)


def test_baseline_beats_chance_but_not_perfect_on_held_out_tinyworld() -> None:
    world = generate_corpus(1500, seed=0)
    train, test = world.split(0.2)
    model = NgramFillIn().fit(train.as_documents())
    accuracy = model.accuracy(make_blanks(test.as_documents(), 1000, seed=0))
    assert 0.3 < accuracy < 0.8


def test_benchmark_blanks_come_from_held_out_documents() -> None:
    from bertlab.tinyworld.ngram import fill_in_benchmark

    world = generate_corpus(400, seed=2)
    train, blanks = fill_in_benchmark(world, n_blanks=300)
    held_out = world.documents[len(train.documents):]
    train_texts = {s.text for d in train.documents for s in d.sentences}
    for blank in blanks:
        sentence = held_out[blank.document].sentences[blank.sentence]
        assert blank.answer == blank.words[blank.position]
        assert sentence.text.lower().startswith(blank.words[0])
    assert len(train.documents) == 360 and train_texts


def test_left_only_reads_only_the_words_before_the_blank() -> None:
    docs = [["the cat sat ."], ["the cat sat ."], ["the dog ran ."]]
    both, left = NgramFillIn().fit(docs), NgramFillIn(left_only=True).fit(docs)
    assert all(right == 0 for _, right in left.tables)  # no window reaches right of the blank
    assert both.predict(("the", "dog", "ran", "."), 1) == "dog"  # 'ran' on the right decides
    assert left.predict(("the", "dog", "ran", "."), 1) == "cat"  # only 'the' is seen: the commoner
    # whatever follows the blank, a left-only guess is the same
    for right in (("sat", "."), ("ran", "."), ("zzz", "yyy")):
        assert left.predict_top(("the", "x", *right), 1, k=2) == ["cat", "dog"]
    assert NgramFillIn().windows[0] == (2, 2) and left.windows[0] == (2, 0)


def test_left_only_loses_to_both_sides_on_held_out_tinyworld() -> None:
    world = generate_corpus(600, seed=0)
    train, test = world.split(0.2)
    blanks = make_blanks(test.as_documents(), 600, seed=0)
    both = NgramFillIn().fit(train.as_documents()).accuracy(blanks)
    left = NgramFillIn(left_only=True).fit(train.as_documents()).accuracy(blanks)
    assert 0.1 < left < both - 0.05
