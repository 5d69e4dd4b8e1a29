"""Speed paths for bertlab.tokenizer: exactly the same results, many times faster.

Chapter 01 reads `bertlab.tokenizer`, where every word is normalized and split afresh and
training recounts every pair after every merge. That is the clearest way to write it, and
too slow for pretraining, which tokenizes millions of words and trains a vocabulary on every
run. This module changes no result, only the time it takes:

* `FastBertTokenizer` is a `BertTokenizer` that remembers each whitespace-separated word's
  pieces (running text repeats its words, so after a warm-up almost every word is one
  dictionary lookup), cleans and splits plain ASCII text with `str` methods and regular
  expressions instead of a loop over characters, and builds batches of ids without the
  offsets that `__call__` does not return.
* `incremental_wordpiece_merges` yields the same merges as `wordpiece_merges`, but after a
  merge it updates only the words that held the pair and rescores only the pairs whose
  counts or parts changed, keeping candidates in a heap.
* `train_wordpiece_fast` puts the two together with a faster word count.

tests/test_tokenizer_speedups.py proves each one against the plain path on generated input;
benchmarks/tokenizer.py times both paths against transformers.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

from bertlab.tokenizer import (
    CONTINUATION,
    BasicTokenizer,
    BertTokenizer,
    Merge,
    TokenSequence,
    _check_batch,
    _check_text,
    as_tensors,
    build_vocabulary,
    checked_texts,
    initial_alphabet,
    is_cjk,
    is_control,
    is_punctuation,
    split_words,
    truncation_lengths,
)

_ASCII_PUNCTUATION = r"!-/:-@\[-`{-~"  # printable ASCII that is not a letter, digit or space
_ASCII_PARTS_RE = re.compile(f"[{_ASCII_PUNCTUATION}]|[^{_ASCII_PUNCTUATION}]+")
_NOT_PLAIN_ASCII_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what cleaning drops
_WORD_RE = re.compile(r"\S+")

_KEEP, _DROP, _SPACE, _CJK = range(4)  # what cleaning does with a character


@cache
def _char_kind(char: str) -> int:
    """Classify a character for cleaning, as `split_words` does (remembered per character)."""
    if is_control(char):
        return _DROP
    if char.isspace():
        return _SPACE
    return _CJK if is_cjk(char) else _KEEP


class _CleaningTable(dict):
    """str.translate table for BERT's cleaning, filled in lazily one character at a time."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        value = {_KEEP: char, _DROP: None, _SPACE: " ", _CJK: f" {char} "}[_char_kind(char)]
        self[code] = value
        return value


_CLEANING = _CleaningTable()


def clean_text(text: str) -> str:
    """Drop control characters, turn every whitespace into a space and space out CJK ideographs."""
    return text.translate(_CLEANING)


def _is_plain_ascii(text: str) -> bool:
    """Printable ASCII, tabs and newlines: nothing to drop, no CJK (the common case)."""
    return text.isascii() and not _NOT_PLAIN_ASCII_RE.search(text)


@cache
def _first_chars(tokens: frozenset[str]) -> frozenset[str]:
    return frozenset(token[0] for token in tokens if token)


def _segments(basic: BasicTokenizer, text: str) -> Iterator[tuple[str, int, bool]]:
    """Text cut around special tokens, as `basic.words` cuts it: (piece, start, is_special).

    The regular expression only runs when a special token could start in the text.
    """
    if not any(char in text for char in _first_chars(basic.never_split)):
        if text:
            yield text, 0, False
        return
    start = 0
    for i, piece in enumerate(basic.special_re.split(text)):  # odd pieces: special tokens
        if piece:
            yield piece, start, i % 2 == 1
        start += len(piece)


def _words(basic: BasicTokenizer, text: str) -> Iterator[str]:
    """The words of `basic.words(text)` without their positions, split by str methods."""
    for segment, _, special in _segments(basic, text):
        if special:
            yield segment
        else:  # plain ASCII only needs splitting: str.split() already treats \t \n \r as spaces
            yield from (segment if _is_plain_ascii(segment) else clean_text(segment)).split()


def _positioned_words(text: str, base: int) -> Iterator[tuple[str, int | list[int]]]:
    """`split_words`, giving a plain-ASCII word's start instead of each character's position."""
    if _is_plain_ascii(text):
        for match in _WORD_RE.finditer(text):
            yield match.group(), base + match.start()
    else:
        yield from split_words(text, base)


_is_punctuation = cache(is_punctuation)  # remembered per character


def _split_word(basic: BasicTokenizer, word: str) -> list[str]:
    """`basic.split_punctuation(basic.normalize(word))`, by a regular expression for ASCII."""
    if not word.isascii():
        text = basic.normalize(word)
        if text in basic.never_split or (text and not any(map(_is_punctuation, text))):
            return [text]  # nothing to split (the common case)
        return basic.split_punctuation(text)
    if basic.do_lower_case and word not in basic.never_split:
        word = word.lower()
    return [word] if word in basic.never_split else _ASCII_PARTS_RE.findall(word)


def _alignment(basic: BasicTokenizer, word: str) -> list[tuple[int, int]]:
    """`basic.alignment(word)`; an ASCII word's characters map one to one."""
    return [(i, i + 1) for i in range(len(word))] if word.isascii() else basic.alignment(word)


def greedy_wordpiece_spans(
    word: str, vocab: Mapping[str, Any] | set[str], max_piece_chars: int
) -> list[tuple[int, int]] | None:
    """`wordpiece_tokenize` as [start, end) spans (None for [UNK]), trying no piece too long.

    `max_piece_chars` is the longest piece in the vocabulary ("##" excluded): a longer
    candidate cannot be found, so it is not looked up.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(word):
        end = min(len(word), start + max_piece_chars)
        while end > start:
            if (word[start:end] if start == 0 else CONTINUATION + word[start:end]) in vocab:
                break
            end -= 1
        if end == start:
            return None
        spans.append((start, end))
        start = end
    return spans


@dataclass(frozen=True)
class _Pieces:
    """A cleaned word's WordPiece ids, their spans in the normalized word, and their basic token."""

    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]
    words: tuple[int, ...]
    n_words: int


class FastBertTokenizer(BertTokenizer):
    """A BertTokenizer that gives the same tokens, ids and offsets faster, by caching each word.

    Pure Python like its parent (not transformers' Rust `BertTokenizerFast`). Pretraining
    data preparation uses it; the cache holds at most `cache_limit` words.
    """

    cache_limit = 1 << 18

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._cache: dict[str, _Pieces] = {}
        self._longest_piece = max(len(t.removeprefix(CONTINUATION)) for t in self.ids_to_tokens)

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int, do_lower_case: bool = True
    ) -> FastBertTokenizer:
        """`BertTokenizer.train` with the fast trainer: the same vocabulary, sooner."""
        vocab = train_wordpiece_fast(texts, vocab_size, do_lower_case)
        return cls(vocab, do_lower_case=do_lower_case)

    def _word_pieces(self, word: str) -> _Pieces:
        """Tokenize one cleaned, whitespace-free word, once: later calls find it in the cache."""
        pieces = self._cache.get(word)
        if pieces is not None:
            return pieces
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        words: list[int] = []
        parts = _split_word(self.basic, word)
        position = 0  # where the current part starts in the normalized word
        for index, part in enumerate(parts):
            found = None
            if part in self.basic.never_split:
                found = [(0, len(part))]
            elif len(part) <= self.max_input_chars_per_word:
                found = greedy_wordpiece_spans(part, self.vocab, self._longest_piece)
            if found is None:  # too long, or greedy got stuck: the whole part is [UNK]
                ids.append(self.unk_token_id)
                spans.append((position, position + len(part)))
                words.append(index)
            else:
                for start, end in found:
                    piece = part[start:end] if start == 0 else CONTINUATION + part[start:end]
                    ids.append(self.vocab[piece])
                    spans.append((position + start, position + end))
                    words.append(index)
            position += len(part)
        pieces = _Pieces(tuple(ids), tuple(spans), tuple(words), len(parts))
        if len(self._cache) >= self.cache_limit:
            self._cache.clear()
        self._cache[word] = pieces
        return pieces

    def token_ids(self, text: str) -> list[int]:
        """A text's token ids without special tokens (no offsets: the fastest path)."""
        ids: list[int] = []
        cache = self._cache
        for word in _words(self.basic, text):
            ids += (cache.get(word) or self._word_pieces(word)).ids
        return ids

    def tokenize(self, text: str) -> list[str]:
        """The same tokens as `BertTokenizer.tokenize`."""
        _check_text(text, "text")
        return [self.ids_to_tokens[i] for i in self.token_ids(text)]

    def token_sequence(self, text: str) -> TokenSequence:
        """The same ids, offsets and word indices as `BertTokenizer.token_sequence`."""
        sequence = TokenSequence([], [], [])
        n_words = 0
        for segment, start, special in _segments(self.basic, text):
            if special:
                sequence.ids.append(self.vocab[segment])
                sequence.offsets.append((start, start + len(segment)))
                sequence.word_ids.append(n_words)
                n_words += 1
                continue
            for word, where in _positioned_words(segment, start):
                pieces = self._word_pieces(word)
                spans = _alignment(self.basic, word)
                for (a, b), w in zip(pieces.spans, pieces.words, strict=True):
                    a, b = spans[a][0], spans[b - 1][1]  # the piece's span in the cleaned word
                    if isinstance(where, int):  # the word's characters are contiguous in text
                        sequence.offsets.append((where + a, where + b))
                    else:
                        sequence.offsets.append((where[a], where[b - 1] + 1))
                    sequence.word_ids.append(n_words + w)
                sequence.ids += pieces.ids
                n_words += pieces.n_words
        return sequence

    def __call__(
        self,
        texts: str | Sequence[str],
        pairs: str | Sequence[str] | None = None,
        max_length: int | None = None,
        padding: bool | str = True,
        truncation: bool = True,
        return_tensors: str | None = "pt",
    ) -> dict[str, Any]:
        """The same model inputs as `BertTokenizer.__call__`, built from the ids alone."""
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")
        texts, pairs = _check_batch(texts, pairs)
        limit = self._checked_max_length(max_length, pairs is not None, truncation, padding)
        budget = limit - (3 if pairs is not None else 2)
        rows: list[list[int]] = []
        types: list[list[int]] = []
        for i, text in enumerate(texts):
            first = self.token_ids(text)
            second = self.token_ids(pairs[i]) if pairs is not None else None
            if truncation:
                keep_first, keep_second = truncation_lengths(
                    len(first), None if second is None else len(second), budget
                )
                first = first[:keep_first]
                second = None if second is None else second[:keep_second]
            row = [self.cls_token_id, *first, self.sep_token_id]
            type_row = [0] * len(row)
            if second is not None:
                row += [*second, self.sep_token_id]
                type_row += [1] * (len(second) + 1)
            rows.append(row)
            types.append(type_row)
        lengths = [len(row) for row in rows]
        target = self.padded_length(lengths, limit, padding)
        masks = [[1] * n + [0] * (target - n) for n in lengths]
        for row, type_row, n in zip(rows, types, lengths, strict=True):
            row += [self.pad_token_id] * (target - n)
            type_row += [0] * (target - n)
        batch = {"input_ids": rows, "token_type_ids": types, "attention_mask": masks}
        return batch if return_tensors is None else as_tensors(batch)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def count_words_fast(texts: Iterable[str], do_lower_case: bool = True) -> Counter[str]:
    """The same counts as `count_words`: count whole words first, then split each one once."""
    basic = BasicTokenizer(do_lower_case)
    raw: Counter[str] = Counter()
    for text in checked_texts(texts):
        raw.update(_words(basic, text))
    words: Counter[str] = Counter()
    for word, count in raw.items():
        for part in _split_word(basic, word):
            if part not in basic.never_split:
                words[part] += count
    return words


def incremental_wordpiece_merges(word_counts: Mapping[str, int]) -> Iterator[Merge]:
    """The same merges as `wordpiece_merges`, without recounting the corpus after each one.

    A merge touches only the words holding the pair, and only the pairs whose counts or
    parts changed are rescored; candidates wait in a heap whose stale entries are skipped.
    """
    words = sorted(w for w, c in word_counts.items() if c > 0)
    counts = [word_counts[w] for w in words]
    names = initial_alphabet({w: 1 for w in words})
    ids = {name: i for i, name in enumerate(names)}
    symbols = [[ids[w[0]]] + [ids[CONTINUATION + c] for c in w[1:]] for w in words]

    freq = [0] * len(names)  # freq[s]: occurrences of symbol s in the corpus
    pair_count: Counter[tuple[int, int]] = Counter()
    where: dict[tuple[int, int], set[int]] = {}  # pair -> words that may hold it
    pairs_of: dict[int, set[tuple[int, int]]] = {}  # symbol -> pairs it may be part of
    for w, (syms, count) in enumerate(zip(symbols, counts, strict=True)):
        for s in syms:
            freq[s] += count
        for pair in pairwise(syms):
            pair_count[pair] += count
            where.setdefault(pair, set()).add(w)
    for a, b in pair_count:
        pairs_of.setdefault(a, set()).add((a, b))
        pairs_of.setdefault(b, set()).add((a, b))

    heap: list[tuple[float, int, str, str, int, int]] = []

    def push(pair: tuple[int, int]) -> None:
        n = pair_count.get(pair, 0)
        if n > 0:
            a, b = pair
            heapq.heappush(heap, (-n / (freq[a] * freq[b]), -n, names[a], names[b], a, b))

    for pair in sorted(pair_count):
        push(pair)

    while heap:
        neg_score, neg_n, _, _, a, b = heapq.heappop(heap)
        n = pair_count.get((a, b), 0)
        if n == 0 or n != -neg_n or -n / (freq[a] * freq[b]) != neg_score:
            continue  # stale: the pair or one of its parts changed since this entry was pushed
        name = names[a] + names[b].removeprefix(CONTINUATION)
        merge = Merge(names[a], names[b], name, n, freq[a], freq[b])
        if name not in ids:  # two different merges can spell the same token: share its symbol
            ids[name] = len(names)
            names.append(name)
            freq.append(0)
        new = ids[name]
        changed: set[tuple[int, int]] = set()
        for w in sorted(where.pop((a, b), ())):
            syms, count = symbols[w], counts[w]
            merged: list[int] = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(syms[i])
                    i += 1
            if len(merged) == len(syms):
                continue
            for pair in pairwise(syms):
                pair_count[pair] -= count
                changed.add(pair)
            for pair in pairwise(merged):
                pair_count[pair] += count
                where.setdefault(pair, set()).add(w)
                changed.add(pair)
            joined = (len(syms) - len(merged)) * count
            freq[a] -= joined
            freq[b] -= joined
            freq[new] += joined
            symbols[w] = merged
        for pair in changed:
            if pair_count[pair] <= 0:
                del pair_count[pair]
            else:
                pairs_of.setdefault(pair[0], set()).add(pair)
                pairs_of.setdefault(pair[1], set()).add(pair)
        for s in (a, b, new):  # their frequencies changed, so every pair holding them rescores
            changed.update(pairs_of.get(s, ()))
        for pair in sorted(changed):
            push(pair)
        yield merge


def train_wordpiece_fast(
    texts: Iterable[str], vocab_size: int, do_lower_case: bool = True
) -> list[str]:
    """The same vocabulary as `train_wordpiece`, from the fast word count and merges."""
    word_counts = count_words_fast(texts, do_lower_case)
    return build_vocabulary(word_counts, incremental_wordpiece_merges(word_counts), vocab_size)
