"""Chapter 01: each check accepts the reference solution, rejects wrong answers with specific
feedback, and reports 'not attempted' for the notebook's placeholder."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_solution

from bertlab.exercises import tokenization as ch01

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def solution() -> ModuleType:
    return load_solution("ch01_tokenization")


def placeholder(*_args: object) -> object:
    raise NotImplementedError


def test_normalize_check(solution: ModuleType) -> None:
    check = ch01.check_normalize
    assert check(solution.normalize).passed
    placeholder_result = check(placeholder)
    assert not placeholder_result.passed and not placeholder_result.attempted
    assert "accents are still there" in check(str.lower).message
    no_lower = check(lambda w: solution.normalize(w).upper() if w.isupper() else w)
    assert not no_lower.passed
    ascii_only = check(lambda w: solution.normalize(w).encode("ascii", "ignore").decode())
    assert not ascii_only.passed and "ß and œ are letters" in ascii_only.message
    nfc = check(
        lambda w: "".join(
            c for c in unicodedata.normalize("NFC", w.lower()) if unicodedata.category(c) != "Mn"
        )
    )
    assert not nfc.passed  # composed characters keep their accents: NFD is needed
    crashing = check(lambda w: w[100])
    assert not crashing.passed and "IndexError" in crashing.message


def test_greedy_wordpiece_check(solution: ModuleType) -> None:
    check = ch01.check_greedy_wordpiece
    assert check(solution.greedy_wordpiece).passed
    assert not check(placeholder).attempted

    def without_prefix(word: str, vocab: set[str]) -> list[str]:
        pieces = solution.greedy_wordpiece(word, vocab)
        return [p.removeprefix("##") for p in pieces]

    assert "'##'" in check(without_prefix).message

    def partial(word: str, vocab: set[str]) -> list[str]:
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    pieces.append(piece)
                    start = end
                    break
            else:
                pieces.append("[UNK]")
                break
        return pieces

    assert "whole word becomes" in check(partial).message

    def shortest_first(word: str, vocab: set[str]) -> list[str]:
        pieces, start = [], 0
        while start < len(word):
            for end in range(start + 1, len(word) + 1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    pieces.append(piece)
                    start = end
                    break
            else:
                return ["[UNK]"]
        return pieces

    assert "longest substring first" in check(shortest_first).message


def test_best_merge_check(solution: ModuleType) -> None:
    check = ch01.check_best_merge
    assert check(solution.best_merge).passed
    assert not check(placeholder).attempted

    def most_frequent(word_counts: dict[str, int]) -> tuple[str, str]:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in word_counts.items():
            split = [word[0]] + ["##" + c for c in word[1:]]
            for pair in zip(split, split[1:], strict=False):
                pairs[pair] += count
        return pairs.most_common(1)[0][0]

    assert "BPE's rule" in check(most_frequent).message

    def no_prefix(word_counts: dict[str, int]) -> tuple[str, str]:
        left, right = solution.best_merge(word_counts)
        return left.removeprefix("##"), right.removeprefix("##")

    assert "'##' prefix" in check(no_prefix).message
    assert "tuple" in check(lambda wc: "##g##s").message


def test_pair_inputs_check(solution: ModuleType) -> None:
    check = ch01.check_pair_inputs
    assert check(solution.pair_inputs).passed
    assert not check(placeholder).attempted

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

    def mask_on_padding(ids_a: list[int], ids_b: list[int], max_length: int) -> dict:
        out = solution.pair_inputs(ids_a, ids_b, max_length)
        out["attention_mask"] = [1] * max_length
        return out

    assert "0 on [PAD]" in check(mask_on_padding).message
    assert "return a dict" in check(lambda a, b, n: [2, *a, 3, *b, 3]).message
