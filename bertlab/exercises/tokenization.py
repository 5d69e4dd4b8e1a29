"""Chapter 01 exercise checks: normalization, greedy WordPiece, the merge score, pair inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bertlab.exercises import CheckResult, failed, passed, run_answer
from bertlab.tokenizer import (
    SPECIAL_TOKENS,
    BasicTokenizer,
    BertTokenizer,
    wordpiece_merges,
    wordpiece_tokenize,
)

NORMALIZE_WORDS = ["Café", "NAÏVE", "Ångström", "e\u0301cole", "Straße", "DOG", "Zoë", "œuvre"]


def check_normalize(answer: Callable[[str], str]) -> CheckResult:
    """Grade normalize(word) -> str: BERT's uncased normalization (lowercase, strip accents)."""
    exercise = "uncased normalization"
    hint = 'word.lower(), then unicodedata.normalize("NFD", ...) and drop category "Mn" characters'
    basic = BasicTokenizer(do_lower_case=True)
    for word in NORMALIZE_WORDS:
        result = run_answer(exercise, hint, answer, word)
        if isinstance(result, CheckResult):
            return result
        expected = basic.normalize(word)
        if result == expected:
            continue
        if not isinstance(result, str):
            return failed(exercise, f"return a str, got {type(result).__name__} for {word!r}")
        if result == word.lower():
            return failed(
                exercise,
                f"{word!r} gave {result!r}: lowercased, but the accents are still there. "
                "Decompose with NFD, then drop the combining marks (category Mn).",
            )
        if result.lower() == expected:
            return failed(exercise, f"{word!r} gave {result!r}: lowercase the word too.")
        if len(result) < len(expected):
            return failed(
                exercise,
                f"{word!r} gave {result!r} but BERT gives {expected!r}: drop only the combining "
                "marks (category Mn) after NFD, keep every other character (ß and œ are letters).",
            )
        return failed(exercise, f"{word!r} gave {result!r}; BERT gives {expected!r}.")
    return passed(exercise, f"all {len(NORMALIZE_WORDS)} words normalize as BERT's do.")


GREEDY_VOCAB = {
    "un", "unaff", "##aff", "##able", "##a", "##ble", "play", "##ing", "##s", "p", "##l",
    "##ay", "a", "ab", "##c", "##bc", "x", "##yz",
}  # fmt: skip
GREEDY_WORDS = ["unaffable", "playing", "plays", "abc", "ab", "xyz", "abd", "pl", "q"]


def check_greedy_wordpiece(answer: Callable[[str, set[str]], list[str]]) -> CheckResult:
    """Grade greedy_wordpiece(word, vocab) -> list[str]: longest match first, [UNK] if stuck."""
    exercise = "greedy WordPiece"
    hint = (
        "start = 0; while start < len(word): try the longest word[start:end] first (with '##' "
        "when start > 0), shrinking end until it is in the vocab"
    )
    for word in GREEDY_WORDS:
        result = run_answer(exercise, hint, answer, word, set(GREEDY_VOCAB))
        if isinstance(result, CheckResult):
            return result
        expected = wordpiece_tokenize(word, GREEDY_VOCAB)
        if result == expected:
            continue
        if not isinstance(result, list):
            return failed(exercise, f"return a list of str, got {type(result).__name__}")
        if [p.removeprefix("##") for p in result] == [p.removeprefix("##") for p in expected]:
            return failed(
                exercise,
                f"{word!r} gave {result}, expected {expected}: every piece after the first "
                "starts with '##' (and is looked up in the vocab with it).",
            )
        if expected == ["[UNK]"]:
            return failed(
                exercise,
                f"{word!r} gave {result}: when no vocabulary piece matches at some position, "
                "the whole word becomes ['[UNK]'] (no partial pieces).",
            )
        if result == ["[UNK]"]:
            return failed(
                exercise,
                f"{word!r} gave ['[UNK]'] but splits as {expected}: at each position try the "
                "longest substring first and shrink it until the vocab has it.",
            )
        if len(result) > len(expected):
            return failed(
                exercise,
                f"{word!r} gave {result}, expected {expected}: try the longest substring first "
                "and shrink it, not the shortest first.",
            )
        return failed(exercise, f"{word!r} gave {result}; greedy WordPiece gives {expected}.")
    return passed(exercise, f"all {len(GREEDY_WORDS)} words split as BERT splits them.")


MERGE_CORPORA = [
    {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5},
    {"low": 5, "lower": 2, "newest": 6, "widest": 3, "west": 4},
    {"dog": 8, "dogs": 3, "cat": 7, "cats": 2, "kit": 1},
]  # each has a single best pair (no ties), and its most frequent pair is a different one


def check_best_merge(answer: Callable[[dict[str, int]], tuple[str, str]]) -> CheckResult:
    """Grade best_merge(word_counts) -> (left, right): the pair WordPiece merges first."""
    exercise = "WordPiece merge score"
    hint = (
        "split words into ['h', '##u', '##g'], count every symbol and every adjacent pair "
        "(times the word's count), score = freq(pair) / (freq(left) * freq(right))"
    )
    for corpus in MERGE_CORPORA:
        result = run_answer(exercise, hint, answer, dict(corpus))
        if isinstance(result, CheckResult):
            return result
        best = next(wordpiece_merges(corpus))
        if isinstance(result, list):
            result = tuple(result)
        if result == (best.left, best.right):
            continue
        if not (isinstance(result, tuple) and len(result) == 2):
            return failed(
                exercise, f"return a (left, right) tuple like ('##g', '##s'), got {result!r}"
            )
        pairs = _pair_counts(corpus)
        if pairs.get(result) == max(pairs.values()):
            return failed(
                exercise,
                f"{result} is the most frequent pair: that is BPE's rule. WordPiece divides the "
                "pair's count by freq(left) * freq(right): parts that rarely occur apart win.",
            )
        if result == (best.left.removeprefix("##"), best.right.removeprefix("##")):
            return failed(exercise, f"got {result}: symbols inside a word carry the '##' prefix.")
        return failed(
            exercise,
            f"for {corpus} you chose {result}; the best pair is ({best.left!r}, {best.right!r}): "
            f"{best.pair_count} / ({best.left_count} * {best.right_count}) = {best.score:.4f}.",
        )
    return passed(
        exercise, f"you found WordPiece's first merge in all {len(MERGE_CORPORA)} corpora."
    )


def _pair_counts(word_counts: dict[str, int]) -> dict[tuple[str, str], int]:
    """Count adjacent symbol pairs of the initial split (the BPE criterion, for feedback)."""
    counts: dict[tuple[str, str], int] = {}
    for word, count in word_counts.items():
        symbols = [word[0]] + ["##" + c for c in word[1:]]
        for pair in zip(symbols, symbols[1:], strict=False):
            counts[pair] = counts.get(pair, 0) + count
    return counts


PAIR_CASES = [([7, 8, 9], [10, 11], 10), ([12], [13, 14, 15], 8), ([16, 17], [18], 6)]
_PAIR_VOCAB = [*SPECIAL_TOKENS] + [f"w{i}" for i in range(len(SPECIAL_TOKENS), 30)]


def check_pair_inputs(answer: Callable[[list[int], list[int], int], dict[str, Any]]) -> CheckResult:
    """Grade pair_inputs(ids_a, ids_b, max_length): BERT's pair layout, segments, mask, padding."""
    exercise = "sentence-pair inputs"
    hint = (
        "[CLS]=2 a [SEP]=3 b [SEP]=3, then [PAD]=0 up to max_length; token types 0 up to and "
        "including the first [SEP], 1 after it; attention 1 on real tokens, 0 on padding"
    )
    tokenizer = BertTokenizer(_PAIR_VOCAB)  # token "wN" has id N: ids in, ids out
    for ids_a, ids_b, max_length in PAIR_CASES:
        result = run_answer(exercise, hint, answer, list(ids_a), list(ids_b), max_length)
        if isinstance(result, CheckResult):
            return result
        expected = tokenizer.encode(
            " ".join(f"w{i}" for i in ids_a),
            " ".join(f"w{i}" for i in ids_b),
            max_length=max_length,
            padding="max_length",
        )
        if not isinstance(result, dict) or not {
            "input_ids",
            "token_type_ids",
            "attention_mask",
        } <= set(result):
            return failed(
                exercise, "return a dict with input_ids, token_type_ids and attention_mask"
            )
        got = {key: list(result[key]) for key in ("input_ids", "token_type_ids", "attention_mask")}
        case = f"a={ids_a}, b={ids_b}, max_length={max_length}"
        if got["input_ids"] != expected.input_ids:
            if len(got["input_ids"]) != max_length:
                return failed(exercise, f"{case}: pad input_ids to exactly max_length={max_length}")
            return failed(
                exercise, f"{case}: input_ids {got['input_ids']}, expected {expected.input_ids}"
            )
        if got["token_type_ids"] != expected.token_type_ids:
            types = got["token_type_ids"]
            sep = len(ids_a) + 1
            if types[sep] == 1:
                return failed(
                    exercise, f"{case}: the first [SEP] closes segment A, so its type is 0"
                )
            if types[sep + len(ids_b) + 1] == 0:
                return failed(exercise, f"{case}: the final [SEP] belongs to segment B: type 1")
            return failed(
                exercise, f"{case}: token_type_ids {types}, expected {expected.token_type_ids}"
            )
        if got["attention_mask"] != expected.attention_mask:
            return failed(
                exercise,
                f"{case}: attention_mask {got['attention_mask']}, expected "
                f"{expected.attention_mask} (1 on every real token, specials too; 0 on [PAD])",
            )
    return passed(exercise, "ids, segments and masks match BERT's layout for every pair.")
