"""BERT's tokenizer from scratch: normalization, WordPiece training and encoding, special tokens.

This is chapter 01 in one module, in the order the chapter builds it. It follows
google-research/bert's `tokenization.py` as transformers' pure-Python BertTokenizer implements
it (`BertTokenizerLegacy` in transformers 5), so that for the same `vocab.txt` and casing,
`tokenize` and the ids are identical. Two steps happen per text: the *basic* tokenizer cleans
the text and splits it into words and punctuation, and *WordPiece* splits each word greedily
into the longest pieces the vocabulary holds. Every piece also carries the span of characters
it came from in the original text (chapter 06 needs them for NER and question answering).

The code here is the plain path: every word is worked out afresh, and training recounts every
pair after every merge. `bertlab.tokenizer_speedups` gives exactly the same results faster
(a word cache, shortcuts for ASCII text, an incremental trainer); pretraining uses it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, CLS, SEP, MASK)
CONTINUATION = "##"  # the prefix of a piece that continues a word
VOCAB_FILE = "vocab.txt"
CONFIG_FILE = "tokenizer_config.json"
MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


# ---------------------------------------------------------------------------------------------
# Normalization: BERT's character classes, read from Python's unicodedata like the reference
# ---------------------------------------------------------------------------------------------


def is_control(char: str) -> bool:
    """Tell whether cleaning drops a character: control and format characters, NUL, U+FFFD."""
    if char in "\t\n\r":  # these count as whitespace
        return False
    return char in "\x00\ufffd" or unicodedata.category(char).startswith("C")


def is_cjk(char: str) -> bool:
    """Tell whether a character is a CJK ideograph, which BERT treats as a word on its own."""
    cp = ord(char)  # the blocks google-research/bert lists
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punctuation(char: str) -> bool:
    """Tell whether BERT splits a character off as a token (any ASCII symbol, Unicode P*)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def strip_accents(text: str) -> str:
    """Remove accents the way BERT does: decompose (NFD) and drop the combining marks (Mn)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def split_words(text: str, offset: int = 0) -> list[tuple[str, list[int]]]:
    """Clean text and split it on whitespace; each word comes with the position of each character.

    Cleaning drops control characters (the word goes on across them), treats every kind of
    whitespace as a separator and makes each CJK ideograph a word of its own.
    """
    words: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    positions: list[int] = []
    for i, char in enumerate(text, start=offset):
        if is_control(char):
            continue
        if char.isspace() or is_cjk(char):  # isspace: Zs, tab, newline, U+2028 and U+2029
            if chars:
                words.append(("".join(chars), positions))
                chars, positions = [], []
            if is_cjk(char):
                words.append((char, [i]))
        else:
            chars.append(char)
            positions.append(i)
    if chars:
        words.append(("".join(chars), positions))
    return words


class BasicTokenizer:
    """Split text into normalized words and punctuation: the step before WordPiece."""

    def __init__(self, do_lower_case: bool = True, never_split: Iterable[str] = SPECIAL_TOKENS):
        self.do_lower_case = do_lower_case
        self.never_split = frozenset(never_split)
        longest_first = sorted(self.never_split, key=len, reverse=True)  # [MASK] before [MAS]
        self.special_re = re.compile(f"({'|'.join(map(re.escape, longest_first)) or '(?!)'})")

    def words(self, text: str) -> list[tuple[str, list[int]]]:
        """Cut out the special tokens, then clean and split the rest: words with positions."""
        words: list[tuple[str, list[int]]] = []
        start = 0
        for i, piece in enumerate(self.special_re.split(text)):  # odd pieces: special tokens
            if i % 2:
                words.append((piece, list(range(start, start + len(piece)))))
            else:
                words += split_words(piece, start)
            start += len(piece)
        return words

    def normalize(self, word: str) -> str:
        """Normalize one cleaned word: NFC, then (uncased) lowercase and strip accents."""
        text = unicodedata.normalize("NFC", word)
        if self.do_lower_case and text not in self.never_split:
            text = strip_accents(text.lower())
        return text

    def split_punctuation(self, text: str) -> list[str]:
        """Split a normalized word before and after every punctuation mark (never a special)."""
        if text in self.never_split:
            return [text]
        parts: list[str] = []
        new_part = True
        for char in text:
            if is_punctuation(char):
                parts.append(char)
                new_part = True
            elif new_part:
                parts.append(char)
                new_part = False
            else:
                parts[-1] += char
        return parts

    def tokenize(self, text: str) -> list[str]:
        """Return the words and punctuation marks of `text`, normalized (BERT's BasicTokenizer)."""
        _check_text(text, "text")
        words = [word for word, _ in self.words(text)]
        return [part for word in words for part in self.split_punctuation(self.normalize(word))]

    def tokenize_with_offsets(self, text: str) -> list[tuple[str, list[tuple[int, int]]]]:
        """Return the basic tokens of `text`, each with the source span of every character."""
        _check_text(text, "text")
        tokens = []
        for word, positions in self.words(text):
            spans = [(positions[a], positions[b - 1] + 1) for a, b in self.alignment(word)]
            for part in self.split_punctuation(self.normalize(word)):
                tokens.append((part, spans[: len(part)]))
                del spans[: len(part)]
        return tokens

    def alignment(self, word: str) -> list[tuple[int, int]]:
        """For each character of `normalize(word)`, the [start, end) of `word` it came from.

        NFC composes a character with the combining marks after it, so such a group maps as a
        whole; lowercasing and accent stripping go one character at a time. Where a change
        depends on its context and the lengths do not add up, all get the whole word's span.
        """
        groups: list[tuple[int, int]] = []  # a character and the combining marks after it
        for i, char in enumerate(word):
            if groups and unicodedata.combining(char):
                groups[-1] = (groups[-1][0], i + 1)
            else:
                groups.append((i, i + 1))
        normalized = self.normalize(word)
        lower = self.do_lower_case and unicodedata.normalize("NFC", word) not in self.never_split
        pieces: list[str] = []  # what each span of `word` becomes
        spans: list[tuple[int, int]] = []
        for start, end in groups:
            group = word[start:end]
            if unicodedata.normalize("NFC", group) == group:  # each character on its own
                pieces += group
                spans += [(i, i + 1) for i in range(start, end)]
            else:
                pieces.append(unicodedata.normalize("NFC", group))
                spans.append((start, end))
        if lower:
            pieces = [strip_accents(piece.lower()) for piece in pieces]
        if sum(map(len, pieces)) != len(normalized):
            return [(0, len(word))] * len(normalized)
        return [span for piece, span in zip(pieces, spans, strict=True) for _ in piece]


def _check_text(text: Any, name: str) -> None:
    """Refuse non-text input where it enters, naming what was passed instead."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}: {text!r:.60}")


# ---------------------------------------------------------------------------------------------
# WordPiece encoding: greedy longest-match-first
# ---------------------------------------------------------------------------------------------


def wordpiece_tokenize(word: str, vocab: Mapping[str, Any] | set[str], unk_token: str = UNK,
                       max_input_chars_per_word: int = 100) -> list[str]:
    """Encode one word greedily, longest match first; [UNK] when too long or not coverable.

    Pieces after the first are looked up with the "##" prefix. If some position has no
    match, the whole word becomes [UNK]: greedy never goes back to try a shorter piece.
    """
    if len(word) > max_input_chars_per_word:
        return [unk_token]
    pieces: list[str] = []
    start = 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else CONTINUATION + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return [unk_token]
        pieces.append(piece)
        start = end
    return pieces


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
    words: Counter[str] = Counter()
    for text in checked_texts(texts):
        words.update(word for word in basic.tokenize(text) if word not in basic.never_split)
    return words


def checked_texts(texts: Iterable[str]) -> Iterator[str]:
    """Go through a corpus, refusing one str (a common slip) or anything that is not text."""
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings (a list of sentences), not one str")
    for i, text in enumerate(texts):
        _check_text(text, f"texts[{i}]")
        yield text


def initial_alphabet(word_counts: Mapping[str, int]) -> list[str]:
    """List the one-character symbols training starts from: first letters, "##" + the rest."""
    symbols = set()
    for word in word_counts:
        symbols.add(word[0])
        symbols.update(CONTINUATION + c for c in word[1:])
    return sorted(symbols)


def wordpiece_merges(word_counts: Mapping[str, int]) -> Iterator[Merge]:
    """Yield WordPiece merges in training order, each time the pair with the best score.

    Every word starts as its characters (`hugs` is h ##u ##g ##s). Before each merge all
    symbols and adjacent pairs are counted afresh, weighted by the word counts; ties go to
    the more frequent pair, then to the alphabetically first (left, right), so training is
    deterministic. Stops when every word is a single symbol.
    """
    splits = {w: [w[0]] + [CONTINUATION + c for c in w[1:]] for w in word_counts if word_counts[w]}
    while True:
        symbol_counts: Counter[str] = Counter()
        pair_counts: Counter[tuple[str, str]] = Counter()
        for word, symbols in splits.items():
            for symbol in symbols:
                symbol_counts[symbol] += word_counts[word]
            for pair in pairwise(symbols):
                pair_counts[pair] += word_counts[word]
        if not pair_counts:
            return
        left, right = min(pair_counts, key=lambda p: (
            -pair_counts[p] / (symbol_counts[p[0]] * symbol_counts[p[1]]), -pair_counts[p], p))
        token = left + right.removeprefix(CONTINUATION)
        yield Merge(left, right, token, pair_counts[left, right], symbol_counts[left],
                    symbol_counts[right])
        for word, symbols in splits.items():  # join every (left, right) pair, left to right
            merged: list[str] = []
            for symbol in symbols:
                if merged and merged[-1] == left and symbol == right:
                    merged[-1] = token
                else:
                    merged.append(symbol)
            splits[word] = merged


def build_vocabulary(word_counts: Mapping[str, int], merges: Iterable[Merge],
                     vocab_size: int) -> list[str]:
    """The special tokens ([PAD] is id 0), then the alphabet, then one token per merge."""
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    vocab = list(SPECIAL_TOKENS) + initial_alphabet(word_counts)
    if vocab_size < len(vocab):
        raise ValueError(
            f"vocab_size={vocab_size} is too small: the {len(SPECIAL_TOKENS)} special tokens and "
            f"the {len(vocab) - len(SPECIAL_TOKENS)} characters of the corpus need {len(vocab)}"
        )
    known = set(vocab)
    for merge in merges:
        if len(vocab) >= vocab_size:
            break
        if merge.token not in known:  # two different merges can spell the same token
            known.add(merge.token)
            vocab.append(merge.token)
    return vocab


def train_wordpiece(texts: Iterable[str], vocab_size: int, do_lower_case: bool = True) -> list[str]:
    """Learn a WordPiece vocabulary of at most `vocab_size` tokens from a corpus, in id order.

    Training stops early when every word has become a single token, so a small corpus can
    give a smaller vocabulary than asked for.
    """
    word_counts = count_words(texts, do_lower_case)
    return build_vocabulary(word_counts, wordpiece_merges(word_counts), vocab_size)


# ---------------------------------------------------------------------------------------------
# The full tokenizer: a vocab.txt in, model inputs out
# ---------------------------------------------------------------------------------------------


@dataclass
class Encoding:
    """One encoded text (or text pair): the model inputs plus where each token came from."""

    input_ids: list[int]
    token_type_ids: list[int]
    attention_mask: list[int]
    tokens: list[str]
    word_ids: list[int | None]  # which basic token of its text each token came from
    offsets: list[tuple[int, int] | None]  # the [start, end) characters of its text
    special_tokens_mask: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class TokenSequence:
    """One text's token ids before special tokens are added, with each one's span and word."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    word_ids: list[int]


class BertTokenizer:
    """BERT's WordPiece tokenizer; same tokens and ids as transformers' for the same vocab.txt."""

    model_max_length = 512

    def __init__(self, vocab: str | Path | Sequence[str], do_lower_case: bool = True,
                 max_input_chars_per_word: int = 100):
        if isinstance(vocab, Mapping) or not isinstance(vocab, str | Path | Sequence):
            raise TypeError("vocab must be a vocab.txt path or a list of tokens in id order, "
                            f"got {type(vocab).__name__}")
        if not isinstance(do_lower_case, bool):
            raise TypeError(f"do_lower_case must be True or False, got {do_lower_case!r}")
        if not isinstance(max_input_chars_per_word, int) or max_input_chars_per_word < 1:
            raise ValueError("max_input_chars_per_word must be a positive int, "
                             f"got {max_input_chars_per_word!r}")
        self.ids_to_tokens = _checked_vocab(
            _read_vocab(vocab) if isinstance(vocab, str | Path) else list(vocab))
        self.vocab = {token: i for i, token in enumerate(self.ids_to_tokens)}
        self.do_lower_case = do_lower_case
        self.max_input_chars_per_word = max_input_chars_per_word
        self.basic = BasicTokenizer(do_lower_case)
        self.pad_token_id, self.unk_token_id = self.vocab[PAD], self.vocab[UNK]
        self.cls_token_id, self.sep_token_id = self.vocab[CLS], self.vocab[SEP]
        self.mask_token_id = self.vocab[MASK]
        self.special_ids = frozenset(self.vocab[t] for t in SPECIAL_TOKENS)

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> BertTokenizer:
        """Load from a directory holding vocab.txt (and tokenizer_config.json), or a vocab file."""
        path = Path(path)
        if (path / CONFIG_FILE).is_file():
            config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
            if "do_lower_case" in config:
                kwargs.setdefault("do_lower_case", bool(config["do_lower_case"]))
        return cls(path / VOCAB_FILE if path.is_dir() else path, **kwargs)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write vocab.txt and tokenizer_config.json, loadable by bertlab and transformers."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / VOCAB_FILE).write_text("".join(t + "\n" for t in self.ids_to_tokens),
                                            encoding="utf-8")
        config = {
            "tokenizer_class": "BertTokenizer", "do_lower_case": self.do_lower_case,
            "model_max_length": self.model_max_length, "unk_token": UNK, "sep_token": SEP,
            "pad_token": PAD, "cls_token": CLS, "mask_token": MASK,
        }  # fmt: skip
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int,
              do_lower_case: bool = True) -> BertTokenizer:
        """Train a WordPiece vocabulary on `texts` and return a tokenizer that uses it."""
        return cls(train_wordpiece(texts, vocab_size, do_lower_case), do_lower_case=do_lower_case)

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

    def convert_ids_to_tokens(self, ids: int | Sequence[int] | Any) -> str | list[str]:
        """Turn ids (a list, a 1-D tensor or one int) back into tokens, refusing unknown ids."""
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        tokens = []
        for i in [ids] if isinstance(ids, int) else ids:
            if not isinstance(i, int) or isinstance(i, bool):
                raise TypeError(f"token ids must be ints, got {type(i).__name__}: {i!r}")
            if not 0 <= i < self.vocab_size:
                raise ValueError(
                    f"token id {i} is outside the vocabulary (ids 0..{self.vocab_size - 1})")
            tokens.append(self.ids_to_tokens[i])
        return tokens[0] if isinstance(ids, int) else tokens

    # -- tokenizing and encoding -----------------------------------------------------------------

    def wordpieces(self, word: str) -> list[str]:
        """One basic token's WordPiece tokens; a special token stays whole."""
        if word in self.basic.never_split:
            return [word]
        return wordpiece_tokenize(word, self.vocab, UNK, self.max_input_chars_per_word)

    def tokenize(self, text: str) -> list[str]:
        """Split text into WordPiece tokens (strings), as transformers' BertTokenizer does."""
        return [piece for word in self.basic.tokenize(text) for piece in self.wordpieces(word)]

    def token_sequence(self, text: str) -> TokenSequence:
        """A text's token ids, each with the characters it came from and the index of its word."""
        sequence = TokenSequence([], [], [])
        for index, (word, spans) in enumerate(self.basic.tokenize_with_offsets(text)):
            start = 0
            for piece in self.wordpieces(word):
                # [UNK] stands for the whole word, any other piece for its own characters
                end = len(word) if piece == UNK else start + len(piece.removeprefix(CONTINUATION))
                sequence.ids.append(self.vocab[piece])
                sequence.offsets.append((spans[start][0], spans[end - 1][1]))
                sequence.word_ids.append(index)
                start = end
        return sequence

    def encode(self, text: str, pair: str | None = None, max_length: int | None = None,
               truncation: bool = True, padding: bool | str = False) -> Encoding:
        """Encode a text (or a pair) as [CLS] text [SEP] (pair [SEP]) with segments and a mask.

        padding="max_length" pads up to max_length (padding=True pads nothing: one text is
        already the longest of its batch).
        """
        _check_text(text, "text")
        if pair is not None:
            _check_text(pair, "pair")
        pairs = None if pair is None else [pair]
        return self.encode_batch([text], pairs, max_length, padding, truncation)[0]

    def encode_batch(self, texts: str | Sequence[str], pairs: str | Sequence[str] | None = None,
                     max_length: int | None = None, padding: bool | str = True,
                     truncation: bool = True) -> list[Encoding]:
        """Encode many texts (or pairs) with special tokens, segments, masks, spans and word ids.

        With truncation, the longer sequence of a pair loses tokens from its end first
        (longest-first, as transformers does). Padding fills every row up to the longest
        one (True), to max_length ("max_length"), or not at all (False).
        """
        texts, pairs = _check_batch(texts, pairs)
        limit = self._checked_max_length(max_length, pairs is not None, truncation, padding)
        budget = limit - (2 if pairs is None else 3)  # the text tokens that fit beside the specials
        encodings = []
        for i, text in enumerate(texts):
            first = self.token_sequence(text)
            second = None if pairs is None else self.token_sequence(pairs[i])
            if truncation:
                n_second = None if second is None else len(second.ids)
                keep = truncation_lengths(len(first.ids), n_second, budget)
                for sequence, n in zip((first, second), keep, strict=True):
                    if sequence is not None:
                        del sequence.ids[n:], sequence.offsets[n:], sequence.word_ids[n:]
            encodings.append(self._with_specials(first, second))
        target = self.padded_length([len(e) for e in encodings], limit, padding)
        for e in encodings:  # [PAD] positions: masked out, segment 0, no word and no span
            extra = max(target - len(e), 0)
            e.input_ids += [self.pad_token_id] * extra
            e.token_type_ids += [0] * extra
            e.attention_mask += [0] * extra
            e.tokens += [PAD] * extra
            e.word_ids += [None] * extra
            e.offsets += [None] * extra
            e.special_tokens_mask += [1] * extra
        return encodings

    def _checked_max_length(self, max_length: int | None, is_pair: bool, truncation: bool,
                            padding: bool | str) -> int:
        """Validate max_length against the special tokens a sequence (pair) needs."""
        if padding not in (True, False, "longest", "max_length", "do_not_pad"):
            raise ValueError(
                f"padding must be True, False, 'longest' or 'max_length', got {padding!r}")
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

    def _with_specials(self, first: TokenSequence, second: TokenSequence | None) -> Encoding:
        """Lay out [CLS] first [SEP] (second [SEP]) with token types 0 then 1."""
        ids = [self.cls_token_id, *first.ids, self.sep_token_id]
        offsets: list[tuple[int, int] | None] = [None, *first.offsets, None]
        word_ids: list[int | None] = [None, *first.word_ids, None]
        if second is not None:
            ids += [*second.ids, self.sep_token_id]
            offsets += [*second.offsets, None]
            word_ids += [*second.word_ids, None]
        types = [0] * (len(first.ids) + 2) + [1] * (len(ids) - len(first.ids) - 2)
        special = [int(i in (0, len(first.ids) + 1, len(ids) - 1)) for i in range(len(ids))]
        tokens = [self.ids_to_tokens[i] for i in ids]
        return Encoding(ids, types, [1] * len(ids), tokens, word_ids, offsets, special)

    def padded_length(self, lengths: list[int], limit: int, padding: bool | str) -> int:
        """The length a batch is padded to: 0 (no padding), the longest, or the limit."""
        if padding is False or padding == "do_not_pad" or not lengths:
            return 0
        return limit if padding == "max_length" else max(lengths)

    def __call__(self, texts: str | Sequence[str], pairs: str | Sequence[str] | None = None,
                 max_length: int | None = None, padding: bool | str = True,
                 truncation: bool = True, return_tensors: str | None = "pt") -> dict[str, Any]:
        """Encode a batch into model inputs: input_ids, token_type_ids, attention_mask (like HF)."""
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")
        encodings = self.encode_batch(texts, pairs, max_length, padding, truncation)
        batch = {name: [getattr(e, name) for e in encodings] for name in MODEL_INPUTS}
        return batch if return_tensors is None else as_tensors(batch)

    def decode(self, ids: Sequence[int] | Any, skip_special_tokens: bool = True) -> str:
        """Turn ids back into text: rejoin "##" pieces and tidy spaces before punctuation."""
        tokens = self.convert_ids_to_tokens(ids)
        tokens = [tokens] if isinstance(tokens, str) else tokens
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in SPECIAL_TOKENS]
        text = " ".join(tokens).replace(" " + CONTINUATION, "").strip()
        for before, after in _DECODE_CLEANUP:  # transformers' clean_up_tokenization
            text = text.replace(before, after)
        return text


_DECODE_CLEANUP = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
    (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)  # fmt: skip


def truncation_lengths(n_first: int, n_second: int | None, budget: int) -> tuple[int, int]:
    """How many tokens of each sequence survive longest-first truncation to `budget` in all."""
    if n_second is None:
        return min(n_first, budget), 0
    while n_first + n_second > budget:  # one token at a time from the longer (on a tie, the second)
        if n_first > n_second:
            n_first -= 1
        else:
            n_second -= 1
    return n_first, n_second


def as_tensors(batch: dict[str, list[list[int]]]) -> dict[str, Any]:
    """Stack a batch's rows into int64 tensors, refusing rows of different lengths."""
    import numpy as np
    import torch

    lengths = [len(row) for row in batch["input_ids"]]
    if len(set(lengths)) > 1:
        raise ValueError(
            f"rows of {min(lengths)} to {max(lengths)} tokens cannot form one tensor: pass "
            "padding=True (pad to the longest), or truncation=True with padding='max_length'"
        )
    # via NumPy: several times faster than torch.tensor on nested Python lists
    return {name: torch.from_numpy(np.array(rows, dtype=np.int64)) for name, rows in batch.items()}


def _check_batch(texts: str | Sequence[str],
                 pairs: str | Sequence[str] | None) -> tuple[list[str], list[str] | None]:
    """Accept one text or a list of texts (and pairs), refusing anything else with a clear error."""
    checked = []
    for name, values in (("texts", texts), ("pairs", pairs)):
        values = [values] if isinstance(values, str) else values
        if values is not None and not isinstance(values, Sequence):
            raise TypeError(f"{name} must be a str or a list of str, got {type(values).__name__}")
        for i, text in enumerate(values or []):
            _check_text(text, f"{name}[{i}]")
        checked.append(None if values is None else list(values))
    texts, pairs = checked
    if pairs is not None and len(pairs) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(pairs)} pairs; they must match one "
                         "to one")
    return texts, pairs


def _read_vocab(path: str | Path) -> list[str]:
    """Read a vocab.txt: one token per line, the line number is the id."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no vocabulary file at {path} (expected a vocab.txt, one token "
                                "per line)")
    with Path(path).open(encoding="utf-8") as lines:
        return [line.removesuffix("\n") for line in lines]


def _checked_vocab(tokens: list[str]) -> list[str]:
    """Refuse a vocabulary that cannot work: missing specials, duplicates, tokens with newlines."""
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"vocabulary entry {i} must be a str, got {type(token).__name__}")
        if "\n" in token or "\r" in token:
            raise ValueError(f"vocabulary entry {i} ({token!r}) has a line break; vocab.txt "
                             "cannot hold it")
        if token in seen:
            raise ValueError(f"the vocabulary holds {token!r} twice (ids {seen[token]} and {i})")
        seen[token] = i
    missing = [t for t in SPECIAL_TOKENS if t not in seen]
    if missing:
        raise ValueError(f"the vocabulary is missing the special token(s) {', '.join(missing)}")
    return tokens


def alphabet_size(vocab: Sequence[str]) -> int:
    """How many tokens of a trained vocabulary (specials included) come before the first merge."""
    for i, token in enumerate(vocab):
        if token not in SPECIAL_TOKENS and len(token.removeprefix(CONTINUATION)) > 1:
            return i
    return len(vocab)
