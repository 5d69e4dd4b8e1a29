"""Reference solutions for chapter 01's exercises (tests prove each check accepts them)."""

from __future__ import annotations

import unicodedata
from collections import Counter


def normalize(word: str) -> str:
    """BERT's uncased normalization: lowercase, decompose (NFD), drop combining marks (Mn)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def greedy_wordpiece(word: str, vocab: set[str]) -> list[str]:
    """Longest match first from the left; '##' marks continuation pieces; [UNK] when stuck."""
    pieces = []
    start = 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:  # nothing matched at this position: the whole word is unknown
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def best_merge(word_counts: dict[str, int]) -> tuple[str, str]:
    """The pair with the highest freq(pair) / (freq(left) * freq(right)) in the initial split."""
    symbols: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for word, count in word_counts.items():
        split = [word[0]] + ["##" + c for c in word[1:]]
        for symbol in split:
            symbols[symbol] += count
        for pair in zip(split, split[1:], strict=False):
            pairs[pair] += count
    return max(pairs, key=lambda p: pairs[p] / (symbols[p[0]] * symbols[p[1]]))


def pair_inputs(ids_a: list[int], ids_b: list[int], max_length: int) -> dict[str, list[int]]:
    """[CLS] a [SEP] b [SEP] padded to max_length, with segment ids and an attention mask."""
    cls, sep, pad = 2, 3, 0
    input_ids = [cls, *ids_a, sep, *ids_b, sep]
    token_type_ids = [0] * (len(ids_a) + 2) + [1] * (len(ids_b) + 1)
    attention_mask = [1] * len(input_ids)
    padding = max_length - len(input_ids)
    return {
        "input_ids": input_ids + [pad] * padding,
        "token_type_ids": token_type_ids + [0] * padding,
        "attention_mask": attention_mask + [0] * padding,
    }
