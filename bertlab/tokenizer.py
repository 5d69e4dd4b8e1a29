"""BERT's tokenizer from scratch: normalization, WordPiece training and encoding, special tokens.

The behaviour follows google-research/bert's `tokenization.py` as transformers' pure-Python
`BertTokenizer` implements it today (`BertTokenizerLegacy` in transformers 5), so that for
the same `vocab.txt` and casing `tokenize` and the ids are identical. Two steps happen per
text: a *basic* tokenizer cleans the text and splits it into words and punctuation, and
*WordPiece* splits each word greedily into the longest pieces the vocabulary holds.

bertlab is faster than the reference because it works one whitespace-separated word at a
time and remembers each word's pieces: running text repeats its words, so after a warm-up
almost every word is a dictionary lookup. Every piece also carries the span of characters
it came from in the original text (chapter 06 needs them for NER and question answering).
"""

from __future__ import annotations

import heapq
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, CLS, SEP, MASK)
CONTINUATION = "##"
VOCAB_FILE = "vocab.txt"
CONFIG_FILE = "tokenizer_config.json"

_NOT_PLAIN_ASCII_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_PUNCT = r"!-/:-@\[-`{-~"
_ASCII_WORD_SPLIT_RE = re.compile(f"[{_ASCII_PUNCT}]|[^{_ASCII_PUNCT}]+")
_WORD_RE = re.compile(r"\S+")

# Character kinds seen by the cleaning step.
_KEEP, _DROP, _SPACE, _CJK = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------
# Character classes (BERT's definitions, read from Python's unicodedata like the reference)
# ---------------------------------------------------------------------------------------------


def is_cjk(char: str) -> bool:
    """Tell whether a character is a CJK ideograph, which BERT treats as a word on its own."""
    cp = ord(char)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


@cache
def is_punctuation(char: str) -> bool:
    """Tell whether BERT splits a character off as a token (any ASCII symbol, Unicode P*)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


@cache
def _char_kind(char: str) -> int:
    """Classify a character for cleaning: dropped (control, NUL, U+FFFD), space, CJK or kept."""
    if char in "\t\n\r":
        return _SPACE
    if char in "\x00\ufffd" or unicodedata.category(char).startswith("C"):
        return _DROP
    if char.isspace():  # Zs, and U+2028/U+2029 that the reference's str.split() splits on
        return _SPACE
    return _CJK if is_cjk(char) else _KEEP


def strip_accents(text: str) -> str:
    """Remove accents the way BERT does: decompose (NFD) and drop the combining marks (Mn)."""
    text = unicodedata.normalize("NFD", text)
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


# ---------------------------------------------------------------------------------------------
# The basic tokenizer: clean, space out CJK, NFC, split on whitespace, lowercase, strip accents,
# split punctuation. Tokens come from whole-string operations (fast); where each token came
# from in the original text is worked out separately, only when offsets are asked for.
# ---------------------------------------------------------------------------------------------


class _CleaningTable(dict):
    """str.translate table for BERT's cleaning, filled in lazily one character at a time."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        kind = _char_kind(char)
        value = {_KEEP: char, _DROP: None, _SPACE: " ", _CJK: f" {char} "}[kind]
        self[code] = value
        return value


_CLEANING = _CleaningTable()


def clean_text(text: str) -> str:
    """Drop control characters, turn every whitespace into a space and space out CJK ideographs."""
    return text.translate(_CLEANING)


def _is_plain_ascii(text: str) -> bool:
    """Printable ASCII, tabs and newlines: nothing to drop, no CJK (the common, fast case)."""
    return text.isascii() and not _NOT_PLAIN_ASCII_RE.search(text)


def _positioned_words(text: str, base: int = 0) -> Iterator[tuple[str, int | list[int]]]:
    """Yield the words of cleaned text with where their characters came from in `text`.

    The second item is the word's offset (plus `base`) when its characters are contiguous
    in `text`, else the list of each character's position (cleaning dropped some between).
    """
    if _is_plain_ascii(text):
        for match in _WORD_RE.finditer(text):
            yield match.group(), base + match.start()
        return
    chars: list[str] = []
    positions: list[int] = []
    for i, char in enumerate(text):
        kind = _char_kind(char)
        if kind == _KEEP:
            chars.append(char)
            positions.append(base + i)
        elif kind != _DROP:  # a space or a CJK character ends the current word
            if chars:
                yield "".join(chars), positions
                chars, positions = [], []
            if kind == _CJK:
                yield char, [base + i]
    if chars:
        yield "".join(chars), positions


@dataclass(frozen=True)
class WordToken:
    """One output of the basic tokenizer: its text and the [start, end) span of its source chars."""

    text: str
    start: int
    end: int


class BasicTokenizer:
    """Split text into normalized words and punctuation: the step before WordPiece."""

    def __init__(self, do_lower_case: bool = True, never_split: Iterable[str] = SPECIAL_TOKENS):
        self.do_lower_case = do_lower_case
        self.never_split = frozenset(never_split)
        longest_first = sorted(self.never_split, key=len, reverse=True)
        self._split_re = (
            re.compile("|".join(map(re.escape, longest_first))) if longest_first else None
        )
        self._first_chars = {token[0] for token in self.never_split if token}

    def segments(self, text: str) -> Iterator[tuple[str, int, bool]]:
        """Cut raw text around never-split tokens: yield (piece, start, is_special) in order."""
        if self._split_re is None or not any(c in text for c in self._first_chars):
            if text:
                yield text, 0, False
            return
        position = 0
        for match in self._split_re.finditer(text):
            if match.start() > position:
                yield text[position : match.start()], position, False
            yield match.group(), match.start(), True
            position = match.end()
        if position < len(text):
            yield text[position:], position, False

    def words(self, text: str) -> Iterator[str]:
        """Yield the whitespace-separated words of text after cleaning, specials whole."""
        for segment, _, special in self.segments(text):
            if special:
                yield segment
            else:  # plain ASCII only needs splitting: str.split() already treats \t \n \r as spaces
                yield from (segment if _is_plain_ascii(segment) else clean_text(segment)).split()

    def tokenize(self, text: str) -> list[str]:
        """Return the words and punctuation marks of `text`, normalized (BERT's BasicTokenizer)."""
        _check_text(text, "text")
        return [part for word in self.words(text) for part in self.split_word(word)]

    def tokenize_with_offsets(self, text: str) -> list[WordToken]:
        """Return the basic tokens of `text` with the character span each one came from."""
        _check_text(text, "text")
        tokens: list[WordToken] = []
        for segment, start, special in self.segments(text):
            if special:
                tokens.append(WordToken(segment, start, start + len(segment)))
                continue
            for word, where in _positioned_words(segment, start):
                starts, ends = self.alignment(word)
                position = 0
                for part in self.split_word(word):
                    a, b = starts[position], ends[position + len(part) - 1]
                    position += len(part)
                    tokens.append(WordToken(part, *_source_span(where, a, b)))
        return tokens

    def normalize(self, word: str) -> str:
        """Normalize one cleaned word: NFC, then (uncased) lowercase and strip accents."""
        if word.isascii():
            if self.do_lower_case and word not in self.never_split:
                return word.lower()
            return word
        text = unicodedata.normalize("NFC", word)
        if self.do_lower_case and text not in self.never_split:
            return strip_accents(text.lower())
        return text

    def split_word(self, word: str) -> list[str]:
        """Normalize one cleaned word and split it before and after every punctuation mark."""
        text = self.normalize(word)
        if text in self.never_split:
            return [text]
        if text.isascii():
            return _ASCII_WORD_SPLIT_RE.findall(text)
        parts: list[str] = []
        run_start = 0
        for i, char in enumerate(text):
            if is_punctuation(char):
                if run_start < i:
                    parts.append(text[run_start:i])
                parts.append(char)
                run_start = i + 1
        if run_start < len(text):
            parts.append(text[run_start:])
        return parts

    def alignment(self, word: str) -> tuple[list[int], list[int]]:
        """Map each character of `normalize(word)` to the [start, end) of `word` it came from."""
        if word.isascii():
            return list(range(len(word))), list(range(1, len(word) + 1))
        text, starts, ends = _compose(word)
        if self.do_lower_case and text not in self.never_split:
            starts, ends = _lower_and_strip(text, starts, ends)
        return starts, ends


def _source_span(where: int | list[int], start: int, end: int) -> tuple[int, int]:
    """Turn a [start, end) span of a cleaned word into one of the original text."""
    if isinstance(where, int):  # the word's characters are contiguous in the text
        return where + start, where + end
    return where[start], where[end - 1] + 1


def _spread(
    pieces: list[str], spans: list[tuple[int, int]], total: int
) -> tuple[list[int], list[int]]:
    """Give each piece's characters its source span (one span for all when lengths disagree)."""
    if sum(map(len, pieces)) != total:  # a context-dependent change: fall back to the whole word
        return [spans[0][0]] * total, [spans[-1][1]] * total
    starts: list[int] = []
    ends: list[int] = []
    for piece, (start, end) in zip(pieces, spans, strict=True):
        starts += [start] * len(piece)
        ends += [end] * len(piece)
    return starts, ends


def _compose(word: str) -> tuple[str, list[int], list[int]]:
    """NFC-compose a word, mapping each output character to the input characters it covers."""
    text = unicodedata.normalize("NFC", word)
    # A character with the combining marks after it composes on its own in almost every
    # script; _spread falls back to the whole word where that is not so.
    units: list[tuple[int, int]] = []
    for i, char in enumerate(word):
        if units and unicodedata.combining(char):
            units[-1] = (units[-1][0], i + 1)
        else:
            units.append((i, i + 1))
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    for a, b in units:
        composed = unicodedata.normalize("NFC", word[a:b])
        if composed == word[a:b]:  # unchanged: keep character-level spans
            pieces += composed
            spans += [(i, i + 1) for i in range(a, b)]
        else:
            pieces.append(composed)
            spans.append((a, b))
    return (text, *_spread(pieces, spans, len(text)))


def _lower_and_strip(text: str, starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
    """Carry each character's source span through lowercasing and accent stripping."""
    out = strip_accents(text.lower())
    if out == text:
        return starts, ends
    pieces = [strip_accents(c.lower()) for c in text]
    return _spread(pieces, list(zip(starts, ends, strict=True)), len(out))


def _check_text(text: Any, name: str) -> None:
    """Refuse non-text input where it enters, naming what was passed instead."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}: {text!r:.60}")


# ---------------------------------------------------------------------------------------------
# WordPiece: greedy longest-match-first encoding
# ---------------------------------------------------------------------------------------------


def greedy_wordpiece_spans(
    word: str, vocab: Mapping[str, Any] | set[str], max_piece_chars: int | None = None
) -> list[tuple[int, int]] | None:
    """Split a word into the longest vocabulary pieces from the left; None when a part has no match.

    Pieces after the first are looked up with the "##" prefix. `max_piece_chars` (the longest
    piece in the vocabulary, prefix excluded) only skips lookups that cannot succeed.
    """
    limit = max_piece_chars or len(word)
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(word):
        end = min(len(word), start + limit)
        while end > start:
            piece = word[start:end] if start == 0 else CONTINUATION + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return None
        spans.append((start, end))
        start = end
    return spans


def wordpiece_tokenize(
    word: str,
    vocab: Mapping[str, Any] | set[str],
    unk_token: str = UNK,
    max_input_chars_per_word: int = 100,
) -> list[str]:
    """Encode one word greedily, longest match first; [UNK] when too long or not coverable."""
    if len(word) > max_input_chars_per_word:
        return [unk_token]
    spans = greedy_wordpiece_spans(word, vocab)
    if spans is None:
        return [unk_token]
    return [word[a:b] if a == 0 else CONTINUATION + word[a:b] for a, b in spans]


# ---------------------------------------------------------------------------------------------
# WordPiece training: merge the pair with the best freq(ab) / (freq(a) * freq(b))
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merge:
    """One WordPiece training step: two symbols joined into a new vocabulary entry."""

    left: str
    right: str
    token: str
    pair_count: int
    left_count: int
    right_count: int

    @property
    def score(self) -> float:
        """How much more often the pair occurs than its parts would by chance."""
        return self.pair_count / (self.left_count * self.right_count)


def count_words(texts: Iterable[str], do_lower_case: bool = True) -> Counter[str]:
    """Count the basic tokens (normalized words and punctuation) of a corpus; specials excluded."""
    basic = BasicTokenizer(do_lower_case)
    raw: Counter[str] = Counter()
    for i, text in enumerate(texts):
        _check_text(text, f"texts[{i}]")
        raw.update(basic.words(text))
    words: Counter[str] = Counter()
    for word, count in raw.items():
        for part in basic.split_word(word):
            if part not in basic.never_split:
                words[part] += count
    return words


def initial_alphabet(word_counts: Mapping[str, int]) -> list[str]:
    """List the one-character symbols training starts from: first letters, "##" + the rest."""
    symbols = set()
    for word in word_counts:
        symbols.add(word[0])
        symbols.update(CONTINUATION + c for c in word[1:])
    return sorted(symbols)


def wordpiece_merges(word_counts: Mapping[str, int]) -> Iterator[Merge]:
    """Yield WordPiece merges in training order, each time the pair with the best score.

    Score = freq(ab) / (freq(a) * freq(b)); ties go to the more frequent pair, then to the
    alphabetically first (left, right), so training is deterministic. Counts are updated
    incrementally: a merge touches only the words holding the pair, and only the pairs
    whose counts or parts changed are rescored (a heap whose stale entries are skipped).
    Stops when every word is a single symbol.
    """
    words = sorted(w for w, c in word_counts.items() if c > 0 and w)
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
        name = names[a] + names[b][len(CONTINUATION) :]
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


def train_wordpiece(texts: Iterable[str], vocab_size: int, do_lower_case: bool = True) -> list[str]:
    """Learn a WordPiece vocabulary of at most `vocab_size` tokens from a corpus.

    Returns the tokens in id order: the special tokens first ([PAD] is id 0), then the
    alphabet, then one token per merge. Training stops early when every word has become a
    single token, so a small corpus can give a smaller vocabulary than asked for.
    """
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    if isinstance(texts, str):
        raise TypeError(
            "texts must be an iterable of strings (e.g. a list of sentences), not one str"
        )
    word_counts = count_words(texts, do_lower_case)
    vocab = list(SPECIAL_TOKENS) + initial_alphabet(word_counts)
    if vocab_size < len(vocab):
        raise ValueError(
            f"vocab_size={vocab_size} is too small: the {len(SPECIAL_TOKENS)} special tokens and "
            f"the {len(vocab) - len(SPECIAL_TOKENS)} characters of the corpus need {len(vocab)}"
        )
    known = set(vocab)
    for merge in wordpiece_merges(word_counts):
        if len(vocab) >= vocab_size:
            break
        if merge.token not in known:
            known.add(merge.token)
            vocab.append(merge.token)
    return vocab


# ---------------------------------------------------------------------------------------------
# The full tokenizer
# ---------------------------------------------------------------------------------------------


@dataclass
class Encoding:
    """One encoded text (or text pair): the model inputs plus where each token came from."""

    input_ids: list[int]
    token_type_ids: list[int]
    attention_mask: list[int]
    tokens: list[str]
    word_ids: list[int | None]
    offsets: list[tuple[int, int] | None]
    special_tokens_mask: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class _Pieces:
    """A word's WordPiece tokens: ids, spans in the normalized word, and basic-token index."""

    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]
    words: tuple[int, ...]
    n_words: int


@dataclass
class _Sequence:
    """One text's tokens before special tokens are added (what truncation cuts)."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    word_ids: list[int]


class BertTokenizer:
    """BERT's WordPiece tokenizer; same tokens and ids as transformers' for the same vocab.txt."""

    model_max_length = 512
    _CACHE_LIMIT = 1 << 18

    def __init__(
        self,
        vocab: str | Path | Sequence[str],
        do_lower_case: bool = True,
        max_input_chars_per_word: int = 100,
    ):
        if isinstance(vocab, Mapping) or not isinstance(vocab, str | Path | Sequence):
            raise TypeError(
                "vocab must be a vocab.txt path or a list of tokens in id order, "
                f"got {type(vocab).__name__}"
            )
        if not isinstance(do_lower_case, bool):
            raise TypeError(f"do_lower_case must be True or False, got {do_lower_case!r}")
        tokens = _read_vocab(vocab) if isinstance(vocab, str | Path) else list(vocab)
        _check_vocab(tokens)
        if not isinstance(max_input_chars_per_word, int) or max_input_chars_per_word < 1:
            raise ValueError(
                f"max_input_chars_per_word must be a positive int, got {max_input_chars_per_word!r}"
            )
        self.ids_to_tokens: list[str] = tokens
        self.vocab: dict[str, int] = {token: i for i, token in enumerate(tokens)}
        self.do_lower_case = do_lower_case
        self.max_input_chars_per_word = max_input_chars_per_word
        self.basic = BasicTokenizer(do_lower_case)
        self.unk_token_id = self.vocab[UNK]
        self.pad_token_id = self.vocab[PAD]
        self.cls_token_id = self.vocab[CLS]
        self.sep_token_id = self.vocab[SEP]
        self.mask_token_id = self.vocab[MASK]
        self.special_ids = frozenset(self.vocab[t] for t in SPECIAL_TOKENS)
        self._max_piece = max(
            (len(t) - len(CONTINUATION) if t.startswith(CONTINUATION) else len(t) for t in tokens),
            default=1,
        )
        self._cache: dict[str, _Pieces] = {}

    # -- construction, saving, loading ------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> BertTokenizer:
        """Load from a directory holding vocab.txt (and tokenizer_config.json), or a vocab file."""
        path = Path(path)
        if path.is_dir():
            config_file = path / CONFIG_FILE
            if config_file.is_file():
                config = json.loads(config_file.read_text(encoding="utf-8"))
                if "do_lower_case" in config:
                    kwargs.setdefault("do_lower_case", bool(config["do_lower_case"]))
            path = path / VOCAB_FILE
        return cls(path, **kwargs)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write vocab.txt and tokenizer_config.json, loadable by bertlab and transformers."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / VOCAB_FILE).write_text(
            "".join(t + "\n" for t in self.ids_to_tokens), encoding="utf-8"
        )
        config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.do_lower_case,
            "model_max_length": self.model_max_length,
            "unk_token": UNK,
            "sep_token": SEP,
            "pad_token": PAD,
            "cls_token": CLS,
            "mask_token": MASK,
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int, do_lower_case: bool = True
    ) -> BertTokenizer:
        """Train a WordPiece vocabulary on `texts` and return a tokenizer that uses it."""
        return cls(train_wordpiece(texts, vocab_size, do_lower_case), do_lower_case=do_lower_case)

    # -- vocabulary ----------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """The number of tokens (the size of the model's embedding table)."""
        return len(self.ids_to_tokens)

    def __len__(self) -> int:
        return self.vocab_size

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Look tokens up in the vocabulary; unknown ones become the [UNK] id."""
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        """Turn ids back into vocabulary tokens, refusing ids outside the vocabulary."""
        if isinstance(ids, int):
            return self._token(ids)
        return [self._token(i) for i in _as_id_list(ids)]

    def _token(self, index: int) -> str:
        if not 0 <= index < len(self.ids_to_tokens):
            raise ValueError(
                f"token id {index} is outside the vocabulary (ids 0..{self.vocab_size - 1})"
            )
        return self.ids_to_tokens[index]

    # -- tokenizing ----------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        """Split text into WordPiece tokens (strings), as transformers' BertTokenizer does."""
        _check_text(text, "text")
        return [self.ids_to_tokens[i] for i in self._ids(text)]

    def _word_pieces(self, word: str) -> _Pieces:
        """Tokenize one cleaned, whitespace-free word (cached: running text repeats its words)."""
        pieces = self._cache.get(word)
        if pieces is not None:
            return pieces
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        words: list[int] = []
        parts = self.basic.split_word(word)
        position = 0  # where the current part starts in the normalized word
        for index, part in enumerate(parts):
            found = None
            if part in self.basic.never_split:
                found = [(0, len(part))]
            elif len(part) <= self.max_input_chars_per_word:
                found = greedy_wordpiece_spans(part, self.vocab, self._max_piece)
            if found is None:
                ids.append(self.unk_token_id)
                spans.append((position, position + len(part)))
                words.append(index)
            else:
                for s, e in found:
                    ids.append(self.vocab[part[s:e] if s == 0 else CONTINUATION + part[s:e]])
                    spans.append((position + s, position + e))
                    words.append(index)
            position += len(part)
        pieces = _Pieces(tuple(ids), tuple(spans), tuple(words), len(parts))
        if len(self._cache) >= self._CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = pieces
        return pieces

    def _ids(self, text: str) -> list[int]:
        """Token ids of one text, without special tokens (the fast path: no offsets)."""
        ids: list[int] = []
        cache = self._cache
        for word in self.basic.words(text):
            pieces = cache.get(word) or self._word_pieces(word)
            ids += pieces.ids
        return ids

    def _sequence(self, text: str) -> _Sequence:
        """Token ids of one text with each token's character span and word index."""
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        word_ids: list[int] = []
        n_words = 0
        for segment, start, special in self.basic.segments(text):
            if special:
                ids.append(self.vocab[segment])
                offsets.append((start, start + len(segment)))
                word_ids.append(n_words)
                n_words += 1
                continue
            for word, where in _positioned_words(segment, start):
                pieces = self._word_pieces(word)
                ids += pieces.ids
                word_ids += [n_words + w for w in pieces.words]
                n_words += pieces.n_words
                starts, ends = self.basic.alignment(word)
                offsets += [_source_span(where, starts[s], ends[e - 1]) for s, e in pieces.spans]
        return _Sequence(ids, offsets, word_ids)

    # -- encoding --------------------------------------------------------------------------------

    def encode(
        self,
        text: str,
        pair: str | None = None,
        max_length: int | None = None,
        truncation: bool = True,
        padding: bool | str = False,
    ) -> Encoding:
        """Encode a text (or a pair) as [CLS] text [SEP] (pair [SEP]) with segments and a mask.

        With truncation, the longer sequence loses tokens from its end first (longest-first);
        padding="max_length" pads up to max_length (padding=True alone pads nothing: one text
        is already the longest of its batch).
        """
        _check_text(text, "text")
        if pair is not None:
            _check_text(pair, "pair")
        limit = self._checked_max_length(max_length, pair is not None, truncation, padding)
        first = self._sequence(text)
        second = self._sequence(pair) if pair is not None else None
        if truncation:
            _truncate(first, second, limit - (3 if second is not None else 2))
        encoding = self._with_specials(first, second)
        if padding == "max_length":
            self._pad(encoding, limit)
        return encoding

    def _checked_max_length(
        self, max_length: int | None, is_pair: bool, truncation: bool, padding: bool | str
    ) -> int:
        """Validate max_length against the special tokens a sequence (pair) needs."""
        if padding not in (True, False, "longest", "max_length", "do_not_pad"):
            raise ValueError(
                f"padding must be True, False, 'longest' or 'max_length', got {padding!r}"
            )
        if truncation not in (True, False):
            raise ValueError(f"truncation must be True or False, got {truncation!r}")
        limit = self.model_max_length if max_length is None else max_length
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise TypeError(f"max_length must be an int, got {type(limit).__name__}")
        need = 5 if is_pair else 3
        if limit < need and (truncation or padding == "max_length"):
            layout = "[CLS] x [SEP] y [SEP]" if is_pair else "[CLS] x [SEP]"
            raise ValueError(
                f"max_length={limit} is too short for {layout}: it needs at least {need} positions "
                f"({need - (2 if is_pair else 1)} special tokens and one token from each text)"
            )
        return limit

    def _with_specials(self, first: _Sequence, second: _Sequence | None) -> Encoding:
        """Lay out [CLS] first [SEP] (second [SEP]) with token types 0 then 1."""
        ids = [self.cls_token_id, *first.ids, self.sep_token_id]
        types = [0] * len(ids)
        offsets: list[tuple[int, int] | None] = [None, *first.offsets, None]
        word_ids: list[int | None] = [None, *first.word_ids, None]
        if second is not None:
            ids += [*second.ids, self.sep_token_id]
            types += [1] * (len(second.ids) + 1)
            offsets += [*second.offsets, None]
            word_ids += [*second.word_ids, None]
        special = [0] * len(ids)
        special[0] = special[len(first.ids) + 1] = special[-1] = 1
        return Encoding(
            input_ids=ids,
            token_type_ids=types,
            attention_mask=[1] * len(ids),
            tokens=[self.ids_to_tokens[i] for i in ids],
            word_ids=word_ids,
            offsets=offsets,
            special_tokens_mask=special,
        )

    def _pad(self, encoding: Encoding, length: int) -> None:
        """Append [PAD] positions (masked out, segment 0) up to `length`."""
        extra = length - len(encoding.input_ids)
        if extra <= 0:
            return
        encoding.input_ids += [self.pad_token_id] * extra
        encoding.token_type_ids += [0] * extra
        encoding.attention_mask += [0] * extra
        encoding.tokens += [PAD] * extra
        encoding.word_ids += [None] * extra
        encoding.offsets += [None] * extra
        encoding.special_tokens_mask += [1] * extra

    def encode_batch(
        self,
        texts: Sequence[str],
        pairs: Sequence[str] | None = None,
        max_length: int | None = None,
        padding: bool | str = True,
        truncation: bool = True,
    ) -> list[Encoding]:
        """Encode many texts (or pairs), padded to the longest (or to max_length)."""
        texts, pairs = _check_batch(texts, pairs)
        encodings = [
            self.encode(t, p, max_length=max_length, truncation=truncation)
            for t, p in zip(texts, pairs or [None] * len(texts), strict=True)
        ]
        target = self._padded_length([len(e) for e in encodings], max_length, padding)
        for encoding in encodings:
            self._pad(encoding, target)
        return encodings

    def _padded_length(
        self, lengths: list[int], max_length: int | None, padding: bool | str
    ) -> int:
        """The length a batch is padded to: 0 (no padding), the longest, or max_length."""
        if padding is False or padding == "do_not_pad" or not lengths:
            return 0
        if padding == "max_length":
            return self.model_max_length if max_length is None else max_length
        return max(lengths)

    def __call__(
        self,
        texts: str | Sequence[str],
        pairs: str | Sequence[str] | None = None,
        max_length: int | None = None,
        padding: bool | str = True,
        truncation: bool = True,
        return_tensors: str | None = "pt",
    ) -> dict[str, Any]:
        """Encode a batch into model inputs: input_ids, token_type_ids, attention_mask (like HF)."""
        texts, pairs = _check_batch(texts, pairs)
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")
        is_pair = pairs is not None
        limit = self._checked_max_length(max_length, is_pair, truncation, padding)
        rows: list[list[int]] = []
        types: list[list[int]] = []
        budget = limit - (3 if is_pair else 2)
        for i, text in enumerate(texts):
            first = self._ids(text)
            second = self._ids(pairs[i]) if pairs is not None else None
            if truncation:
                first, second = _truncated_ids(first, second, budget)
            row = [self.cls_token_id, *first, self.sep_token_id]
            type_row = [0] * len(row)
            if second is not None:
                row += [*second, self.sep_token_id]
                type_row += [1] * (len(second) + 1)
            rows.append(row)
            types.append(type_row)
        lengths = [len(r) for r in rows]
        target = self._padded_length(lengths, max_length, padding)
        masks = [[1] * n + [0] * (target - n) for n in lengths]
        for row, type_row, n in zip(rows, types, lengths, strict=True):
            row += [self.pad_token_id] * (target - n)
            type_row += [0] * (target - n)
        batch: dict[str, Any] = {
            "input_ids": rows,
            "token_type_ids": types,
            "attention_mask": masks,
        }
        if return_tensors is None:
            return batch
        if len({len(row) for row in rows}) > 1:
            raise ValueError(
                f"rows of {min(lengths)} to {max(lengths)} tokens cannot form one tensor: pass "
                "padding=True (pad to the longest), or truncation=True with padding='max_length'"
            )
        import numpy as np
        import torch

        # via NumPy: several times faster than torch.tensor on nested Python lists
        return {
            name: torch.from_numpy(np.array(value, dtype=np.int64)) for name, value in batch.items()
        }

    # -- decoding --------------------------------------------------------------------------------

    def decode(self, ids: Sequence[int] | Any, skip_special_tokens: bool = True) -> str:
        """Turn ids back into text: rejoin "##" pieces and tidy spaces before punctuation."""
        tokens = self.convert_ids_to_tokens(_as_id_list(ids))
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in SPECIAL_TOKENS]
        text = " ".join(tokens).replace(" " + CONTINUATION, "").strip()
        for before, after in _DECODE_CLEANUP:
            text = text.replace(before, after)
        return text


# transformers' clean_up_tokenization: what " ".join(tokens) gets wrong in English
_DECODE_CLEANUP = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
    (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)  # fmt: skip


def _truncate(first: _Sequence, second: _Sequence | None, budget: int) -> None:
    """Cut sequences in place to `budget` tokens in all, longest first (as transformers does)."""
    keep_first, keep_second = _truncation_lengths(
        len(first.ids), len(second.ids) if second else None, budget
    )
    for sequence, keep in ((first, keep_first), (second, keep_second)):
        if sequence is not None:
            del sequence.ids[keep:], sequence.offsets[keep:], sequence.word_ids[keep:]


def _truncated_ids(
    first: list[int], second: list[int] | None, budget: int
) -> tuple[list[int], list[int] | None]:
    """The ids-only version of `_truncate`."""
    keep_first, keep_second = _truncation_lengths(
        len(first), len(second) if second is not None else None, budget
    )
    return first[:keep_first], (second[:keep_second] if second is not None else None)


def _truncation_lengths(n_first: int, n_second: int | None, budget: int) -> tuple[int, int]:
    """How many tokens of each sequence survive: cut the longer one, ties from the second."""
    if n_second is None:
        return min(n_first, budget), 0
    excess = n_first + n_second - budget
    if excess <= 0:
        return n_first, n_second
    gap = min(abs(n_first - n_second), excess)
    rest = excess - gap
    if n_first > n_second:
        cut_first, cut_second = gap + rest // 2, rest - rest // 2
    else:
        cut_first, cut_second = rest // 2, gap + rest - rest // 2
    return max(n_first - cut_first, 0), max(n_second - cut_second, 0)


def _check_batch(
    texts: str | Sequence[str], pairs: str | Sequence[str] | None
) -> tuple[list[str], list[str] | None]:
    """Accept one text or a list of texts (and pairs), refusing anything else with a clear error."""
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a str or a list of str, got {type(texts).__name__}")
    texts = list(texts)
    for i, text in enumerate(texts):
        _check_text(text, f"texts[{i}]")
    if pairs is None:
        return texts, None
    pairs = [pairs] if isinstance(pairs, str) else pairs
    if not isinstance(pairs, Sequence):
        raise TypeError(f"pairs must be a str or a list of str, got {type(pairs).__name__}")
    pairs = list(pairs)
    for i, pair in enumerate(pairs):
        _check_text(pair, f"pairs[{i}]")
    if len(pairs) != len(texts):
        raise ValueError(
            f"got {len(texts)} texts but {len(pairs)} pairs; they must match one to one"
        )
    return texts, pairs


def _as_id_list(ids: Any) -> list[int]:
    """Accept a list of ints or a 1-D tensor/array of ids."""
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if isinstance(ids, int):
        return [ids]
    out = list(ids)
    for i in out:
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"token ids must be ints, got {type(i).__name__}: {i!r}")
    return out


def _read_vocab(path: str | Path) -> list[str]:
    """Read a vocab.txt: one token per line, the line number is the id."""
    path = Path(path)
    if path.is_dir():
        path = path / VOCAB_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no vocabulary file at {path} (expected a vocab.txt, one token per line)"
        )
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle.readlines()]


def _check_vocab(tokens: list[str]) -> None:
    """Refuse a vocabulary that cannot work: missing specials, duplicates, tokens with newlines."""
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"vocabulary entry {i} must be a str, got {type(token).__name__}")
        if "\n" in token or "\r" in token:
            raise ValueError(
                f"vocabulary entry {i} ({token!r}) contains a line break; vocab.txt cannot hold it"
            )
    missing = [t for t in SPECIAL_TOKENS if t not in set(tokens)]
    if missing:
        raise ValueError(f"the vocabulary is missing the special token(s) {', '.join(missing)}")
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token in seen:
            raise ValueError(f"the vocabulary holds {token!r} twice (ids {seen[token]} and {i})")
        seen[token] = i


# ---------------------------------------------------------------------------------------------
# Seeing the pieces: coloured tokens with their ids, and a widget to type text into
# ---------------------------------------------------------------------------------------------

_PALETTE = (
    "#cfe2ff", "#d1e7dd", "#fff3cd", "#f8d7da", "#e2d9f3", "#d2f4ea",
    "#fde2c8", "#e9ecef", "#cff4fc", "#f7d6e6", "#e0f0c0", "#ffe5b4",
)  # fmt: skip


def pieces_html(tokenizer: BertTokenizer, text: str, label: str = "") -> str:
    """Render text's WordPiece tokens as coloured boxes, each with its id (HTML, no scripts)."""
    from html import escape

    _check_text(text, "text")
    boxes = []
    for token in tokenizer.tokenize(text):
        token_id = tokenizer.vocab[token]
        if token == UNK:
            style = "background:#ffffff;border:2px solid #cf222e"
        else:
            style = f"background:{_PALETTE[token_id % len(_PALETTE)]};border:1px solid #adb5bd"
        boxes.append(
            f'<span style="display:inline-block;margin:2px;padding:1px 4px;border-radius:4px;'
            f'{style};font-family:monospace;text-align:center">{escape(token)}'
            f'<br><span style="font-size:70%;color:#495057">{token_id}</span></span>'
        )
    count = len(boxes)
    header = f"<b>{escape(label)}</b> " if label else ""
    return (
        f"<div style='margin:4px 0'>{header}<span style='color:#495057'>({count} piece"
        f"{'s' if count != 1 else ''})</span><br>{''.join(boxes) or '<i>no tokens</i>'}</div>"
    )


def alphabet_size(vocab: Sequence[str]) -> int:
    """How many tokens of a trained vocabulary (specials included) come before the first merge."""
    for i, token in enumerate(vocab):
        if token not in SPECIAL_TOKENS and len(token.removeprefix(CONTINUATION)) > 1:
            return i
    return len(vocab)


class TokenizerExplorer:
    """Type text; see its pieces under a trained vocabulary (cut to any size) and a reference one.

    A trained vocabulary lists its merges in training order, so its first k tokens are the
    vocabulary training would have stopped at with vocab_size=k: the slider replays training.
    """

    def __init__(
        self,
        trained_vocab: Sequence[str],
        reference: BertTokenizer,
        text: str,
        do_lower_case: bool = True,
        names: tuple[str, str] = ("TinyWorld WordPiece", "bert-base-uncased"),
    ):
        import ipywidgets as widgets

        _check_text(text, "text")
        self.trained_vocab = list(trained_vocab)
        self.reference = reference
        self.do_lower_case = do_lower_case
        self.names = names
        self.text = widgets.Textarea(
            value=text, description="text", layout=widgets.Layout(width="95%", height="60px")
        )
        self.vocab_size = widgets.IntSlider(
            value=len(self.trained_vocab),
            min=alphabet_size(self.trained_vocab),
            max=len(self.trained_vocab),
            step=1,
            description="vocab size",
            continuous_update=False,
            layout=widgets.Layout(width="95%"),
        )
        self.output = widgets.HTML(value=self.render())
        self.text.observe(self._update, names="value")
        self.vocab_size.observe(self._update, names="value")
        self.widget = widgets.VBox([self.text, self.vocab_size, self.output])

    def trained_tokenizer(self) -> BertTokenizer:
        """The trained vocabulary cut to the slider's size, as a tokenizer."""
        return BertTokenizer(self.trained_vocab[: self.vocab_size.value], self.do_lower_case)

    def render(self) -> str:
        """The pieces of the current text under both tokenizers, as HTML."""
        first, second = self.names
        size = self.vocab_size.value
        return pieces_html(
            self.trained_tokenizer(), self.text.value, f"{first} ({size:,} tokens)"
        ) + pieces_html(
            self.reference, self.text.value, f"{second} ({self.reference.vocab_size:,} tokens)"
        )

    def _update(self, _change: object = None) -> None:
        self.output.value = self.render()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
