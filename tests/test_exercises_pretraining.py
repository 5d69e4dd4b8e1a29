"""Chapter 05: each check accepts the reference solution and rejects wrong answers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_solution

from bertlab import fill_in
from bertlab.exercises import pretraining as ch05
from bertlab.pretrain import get_preset, prepare_data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    return load_solution("ch05_pretraining")


@pytest.fixture(scope="module")
def data():  # noqa: ANN201 - the quick-mode data of chapter 05 (a few seconds)
    return prepare_data(get_preset("tiny"))


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def _not_attempted(result) -> bool:  # noqa: ANN001
    return not result.passed and not result.attempted and "Hint" not in str(result)


def _failed_with(result, words: str) -> bool:  # noqa: ANN001
    """A wrong answer: attempted, failed, the message names the mistake, the hint shown."""
    return (result.attempted and not result.passed and words in result.message
            and "Hint" in str(result))


# ------------------------------------------------------------------ what masking changes


def test_changed_share_check(solution: ModuleType, data) -> None:  # noqa: ANN001
    check = ch05.check_changed_share
    prediction = solution.PREDICTED_CHANGED_SHARE
    right = check(prediction, solution.changed_share, data.train)
    assert right.passed and "you predicted 0.135" in right.message
    # any honest measurement passes: other epochs' masks, or fewer pairs
    assert check(0.2, lambda d: ch05.changed_shares(d, 2000, 3)["changed"][2], data.train).passed
    assert check(prediction, lambda d: solution.changed_share(d, 1500), data.train).passed
    # not attempted: no prediction, or the placeholder function; never a hint
    assert _not_attempted(check(None, solution.changed_share, data.train))
    assert _not_attempted(check(prediction, _placeholder, data.train))
    shares = ch05.changed_shares(data.train)

    def predicted_share(dataset):  # noqa: ANN001, ANN202 - counts the unchanged 10% too
        return sum(shares["predicted"]) / len(shares["predicted"])

    assert _failed_with(check(prediction, predicted_share, data.train), "chosen for prediction")

    def masks_only(dataset):  # noqa: ANN001, ANN202
        return sum(shares["mask"]) / len(shares["mask"])

    assert _failed_with(check(prediction, masks_only, data.train), "only the [MASK]s")

    def share_of_predicted(dataset):  # noqa: ANN001, ANN202
        return (sum(shares["changed"]) / sum(shares["predicted"]))

    assert _failed_with(check(prediction, share_of_predicted, data.train), "*predicted*")
    assert _failed_with(check(prediction, lambda d: 0.5, data.train), "this experiment gives")
    assert _failed_with(check(prediction, lambda d: "0.13x", data.train), "one number")


def test_changed_share_tolerance_separates_the_mistakes(data) -> None:  # noqa: ANN001
    shares = ch05.changed_shares(data.train)
    changed = sum(shares["changed"]) / len(shares["changed"])
    spread = max(shares["changed"]) - min(shares["changed"])
    tolerance = max(4 * (sum((s - changed) ** 2 for s in shares["changed"]) / 5) ** 0.5, 0.003)
    assert spread < tolerance  # every epoch's honest measurement passes
    for wrong in ("predicted", "mask"):
        assert abs(sum(shares[wrong]) / len(shares[wrong]) - changed) > 2 * tolerance


# ------------------------------------------------------------ where five minutes beat counting


def _results(bert_right: dict[str, int], ngram_right: dict[str, int]):  # noqa: ANN202
    """Two FillInResults on ten blanks of each kind, right on the given number of them."""
    words = {"function word": "the", "verb": "eats", "name": "mia", "animal": "cat"}
    assert all(fill_in.word_class(word) == kind for kind, word in words.items())

    class Blank:
        def __init__(self, answer: str) -> None:
            self.answer = answer

    blanks = [Blank(word) for word in words.values() for _ in range(10)]

    def guesses(right: dict[str, int]) -> list[str]:
        return [word if i < right[kind] else "wrong" for kind, word in words.items()
                for i in range(10)]

    return (fill_in.FillInResult(blanks, guesses(bert_right)),
            fill_in.FillInResult(blanks, guesses(ngram_right)))


def test_beats_ngram_check(solution: ModuleType) -> None:
    check = ch05.check_beats_ngram
    bert, ngram = _results({"function word": 9, "verb": 6, "name": 1, "animal": 1},
                           {"function word": 8, "verb": 5, "name": 1, "animal": 2})
    prediction = {"function word": True, "verb": True, "name": False, "animal": True}
    right = check(prediction, solution.accuracy_gap, bert, ngram)
    assert right.passed and "3 of 4 predictions right" in right.message
    assert "animal -0.10 (does not beat, not what you predicted)" in right.message
    assert _not_attempted(check(None, solution.accuracy_gap, bert, ngram))
    assert _not_attempted(check(prediction, _placeholder, bert, ngram))

    def flipped(b, n):  # noqa: ANN001, ANN202
        return {k: -v for k, v in solution.accuracy_gap(b, n).items()}

    assert _failed_with(check(prediction, flipped, bert, ngram), "wrong sign")

    def missing_one(b, n):  # noqa: ANN001, ANN202
        gaps = solution.accuracy_gap(b, n)
        del gaps["verb"]
        return gaps

    assert _failed_with(check(prediction, missing_one, bert, ngram), "no gap for ['verb']")

    def bert_only(b, n):  # noqa: ANN001, ANN202
        return {kind: accuracy for kind, (_, accuracy) in b.by_class().items()}

    assert _failed_with(check(prediction, bert_only, bert, ngram), "should be")
    assert _failed_with(check(prediction, lambda b, n: 0.1, bert, ngram), "return a dict")
    unknown = check({"nouns": True}, solution.accuracy_gap, bert, ngram)
    assert not unknown.passed and "unknown: ['nouns']" in unknown.message


# ------------------------------------------------------------------ the course model on names


def test_name_accuracy_check(solution: ModuleType, data) -> None:  # noqa: ANN001
    from bertlab.course_model import course_model

    course, course_tokenizer = course_model()
    blanks, documents = data.blanks, data.held_out_documents
    check = ch05.check_name_accuracy
    prediction = solution.PREDICTED_NAME_ACCURACY
    args = (course, course_tokenizer, blanks, documents)
    right = check(prediction, solution.name_accuracy, *args)
    assert right.passed and "you predicted 0.2" in right.message
    names = ch05.name_blanks(blanks)

    def half_of_them(model, tokenizer, blanks, documents):  # noqa: ANN001, ANN202
        return fill_in.fill_in_accuracy(model, tokenizer, names[::2], documents).accuracy

    assert check(0.5, half_of_them, *args).passed  # an honest smaller sample passes
    assert _not_attempted(check(None, solution.name_accuracy, *args))
    assert _not_attempted(check(prediction, _placeholder, *args))

    def every_blank(model, tokenizer, blanks, documents):  # noqa: ANN001, ANN202
        return fill_in.fill_in_accuracy(model, tokenizer, blanks[:300], documents).accuracy

    assert _failed_with(check(prediction, every_blank, *args), "this experiment gives")

    def share_of_names(model, tokenizer, blanks, documents):  # noqa: ANN001, ANN202
        return len(names) / len(blanks)

    assert _failed_with(check(prediction, share_of_names, *args), "share of blanks that hide")
    assert _failed_with(check(prediction, lambda *a: 0.05, *args), "this experiment gives")


# ------------------------------------------------------------------ NSP by the kind of document


def test_kind_reader_check(solution: ModuleType, data) -> None:  # noqa: ANN001
    from bertlab.tinyworld.corpus import generate_corpus
    from bertlab.tinyworld.ngram import HELD_OUT

    world = generate_corpus().split(HELD_OUT)[1]
    assert world.as_documents() == data.held_out_documents
    kinds = [document.kind for document in world.documents]
    pairs = data.held_out.pairs
    check = ch05.check_kind_reader
    right = check(solution.PREDICTED_KIND_READER, solution.kind_reader_accuracy, pairs, kinds)
    assert right.passed and "you predicted 0.8" in right.message
    assert 0.7 < ch05.kind_reader_share(pairs, kinds) < 0.9  # most pairs, not all
    assert _not_attempted(check(None, solution.kind_reader_accuracy, pairs, kinds))
    assert _not_attempted(check(0.8, _placeholder, pairs, kinds))

    def reversed_rule(pairs, kinds):  # noqa: ANN001, ANN202
        return 1 - solution.kind_reader_accuracy(pairs, kinds)

    assert _failed_with(check(0.8, reversed_rule, pairs, kinds), "reversed the rule")

    def true_pairs_only(pairs, kinds):  # noqa: ANN001, ANN202
        return sum(not p.is_random_next for p in pairs) / len(pairs)

    assert _failed_with(check(0.8, true_pairs_only, pairs, kinds), "share of IsNext pairs")
    assert _failed_with(check(0.8, lambda p, k: 0.5, pairs, kinds), "this experiment gives")


# ------------------------------------------------------------------ longest-first truncation


def test_truncate_pair_check(solution: ModuleType) -> None:
    check = ch05.check_truncate_pair
    assert check(solution.truncate).passed
    assert _not_attempted(check(_placeholder))

    def only_the_end(a, b, max_tokens, rng):  # noqa: ANN001
        while len(a) + len(b) > max_tokens:
            (a if len(a) > len(b) else b).pop()

    assert _failed_with(check(only_the_end), "wrong ends")

    def always_a(a, b, max_tokens, rng):  # noqa: ANN001
        while len(a) + len(b) > max_tokens and a:
            a.pop() if rng.random() >= 0.5 else a.pop(0)

    assert not check(always_a).passed

    def longer_a_on_ties(a, b, max_tokens, rng):  # noqa: ANN001
        while len(a) + len(b) > max_tokens:
            longer = a if len(a) >= len(b) else b
            if rng.random() < 0.5:
                del longer[0]
            else:
                longer.pop()

    assert not check(longer_a_on_ties).passed

    def returns_copies(a, b, max_tokens, rng):  # noqa: ANN001
        return a[: max_tokens // 2], b[: max_tokens // 2]

    assert _failed_with(check(returns_copies), "in place")


def test_checks_never_raise_on_a_crashing_answer(data) -> None:  # noqa: ANN001
    def crash(*_args: object) -> object:
        raise ValueError("boom")

    results = [ch05.check_truncate_pair(crash),
               ch05.check_changed_share(0.1, crash, data.train),
               ch05.check_kind_reader(0.1, crash, data.held_out.pairs,
                                      ["story"] * len(data.held_out_documents))]
    bert, ngram = _results({"function word": 9, "verb": 6, "name": 1, "animal": 1},
                           {"function word": 8, "verb": 5, "name": 1, "animal": 2})
    results.append(ch05.check_beats_ngram({"verb": True}, crash, bert, ngram))
    for result in results:
        assert not result.passed and "ValueError" in result.message and "Hint" in str(result)


def test_quiz_keys_match_the_notebooks() -> None:
    for key in ("05a", "05b"):
        notebook = next((ROOT / "notebooks").glob(f"{key}_*.ipynb"))
        assert f'QUIZZES[\\"{key}\\"]' in notebook.read_text()
