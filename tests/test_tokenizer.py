"""Unit tests for bertlab.tokenizer: normalization, WordPiece, training, encoding, errors.

Parity with transformers lives in test_tokenizer_parity.py, the fast paths' parity with these
plain ones in test_tokenizer_speedups.py; these tests pin the behaviour the chapter teaches on
small inputs whose answers can be worked out by hand.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bertlab.tokenizer import (
    SPECIAL_TOKENS,
    BasicTokenizer,
    BertTokenizer,
    Merge,
    count_words,
    initial_alphabet,
    split_words,
    strip_accents,
    train_wordpiece,
    wordpiece_merges,
    wordpiece_tokenize,
)

SENTENCES = [
    "The dog that Anna feeds is hungry.",
    "Did Ben cook the soup at Millbrook Bakery?",
    "Anna feeds the hungry dogs, and the dogs eat soup.",
    "Ben cooked soup for the dogs!",
    "The bakery sells bread and soup.",
]

WORDS = [
    "the",
    "dog",
    "cat",
    "ran",
    "fast",
    "un",
    "##aff",
    "##able",
    "##s",
    "a",
    ".",
    ",",
    "!",
    "?",
]


def small_tokenizer(do_lower_case: bool = True) -> BertTokenizer:
    """A hand-made vocabulary whose ids are easy to follow: specials 0-4, then WORDS."""
    return BertTokenizer([*SPECIAL_TOKENS, *WORDS], do_lower_case=do_lower_case)


# --------------------------------------------------------------------------- basic tokenizer


def test_basic_tokenizer_lowercases_strips_accents_and_splits_punctuation() -> None:
    basic = BasicTokenizer(do_lower_case=True)
    assert basic.tokenize("Hello,  WORLD!") == ["hello", ",", "world", "!"]
    assert basic.tokenize("naïve Café RÉSUMÉ") == ["naive", "cafe", "resume"]
    assert basic.tokenize("Cafe\u0301") == ["cafe"]  # a combining accent is stripped too
    assert basic.tokenize("don't stop...") == ["don", "'", "t", "stop", ".", ".", "."]


def test_cased_basic_tokenizer_keeps_case_and_accents() -> None:
    basic = BasicTokenizer(do_lower_case=False)
    assert basic.tokenize("Hello,  WORLD!") == ["Hello", ",", "WORLD", "!"]
    assert basic.tokenize("naïve Café") == ["naïve", "Café"]
    assert basic.tokenize("Cafe\u0301") == ["Café"]  # composed (NFC), accent kept


def test_cleaning_drops_controls_and_normalizes_every_whitespace() -> None:
    basic = BasicTokenizer()
    assert basic.tokenize("a\x00b\u200bc\ufffdd\x7fe") == ["abcde"]  # dropped, not split
    spaces = "\t\n\r\u00a0\u2003\u3000\u2028\u2029"
    assert basic.tokenize("x" + "x".join(spaces) + "x") == ["x"] * (len(spaces) + 1)
    assert split_words("a\tb\x00c d", offset=10) == [("a", [10]), ("bc", [12, 14]), ("d", [16])]


def test_cjk_ideographs_become_words_but_hangul_does_not() -> None:
    basic = BasicTokenizer(do_lower_case=False)
    assert basic.tokenize("ab中文cd") == ["ab", "中", "文", "cd"]
    assert basic.tokenize("한국어") == ["한국어"]
    assert basic.tokenize("東京タワー") == ["東", "京", "タワー"]  # katakana is not CJK here


def test_special_tokens_stay_whole_only_when_spelled_exactly() -> None:
    basic = BasicTokenizer()
    assert basic.tokenize("x[MASK]y [mask] [CLS]") == [
        "x",
        "[MASK]",
        "y",
        "[",
        "mask",
        "]",
        "[CLS]",
    ]
    assert basic.tokenize("[MASK") == ["[", "mask"]


def test_strip_accents_drops_only_combining_marks() -> None:
    assert strip_accents("Ångström") == "Angstrom"
    assert strip_accents("e\u0301") == "e"
    assert strip_accents("ß") == "ß"  # no decomposition: kept


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcAB é\u0301中,.!\t\x00\u200b[MASK]")), max_size=30))
def test_basic_offsets_point_at_the_source_characters(text: str) -> None:
    basic = BasicTokenizer(do_lower_case=True)
    tokens = basic.tokenize_with_offsets(text)
    assert [token for token, _ in tokens] == basic.tokenize(text)
    previous_end = 0
    for token, spans in tokens:
        assert len(spans) == len(token)
        start, end = spans[0][0], spans[-1][1]
        assert previous_end <= start < end <= len(text)
        previous_end = end
        assert basic.tokenize(text[start:end]) == [token], (text, token, spans)


# --------------------------------------------------------------------------- WordPiece encoding


def test_greedy_wordpiece_takes_the_longest_match_first() -> None:
    assert wordpiece_tokenize("unaffable", {"un", "##aff", "##able"}) == ["un", "##aff", "##able"]
    # "ab" + "##c" wins over "a" + "##bc": the longest first piece is taken, never revisited
    vocab = {"a", "ab", "##c", "##bc"}
    assert wordpiece_tokenize("abc", vocab) == ["ab", "##c"]
    # greedy can fail where another split would work: then the whole word is [UNK]
    assert wordpiece_tokenize("abd", {"a", "ab", "##bd"}) == ["[UNK]"]
    assert wordpiece_tokenize("xyz", {"x", "##y"}) == ["[UNK]"]


def test_word_length_limit() -> None:
    vocab = {"a", "##a"}
    assert wordpiece_tokenize("a" * 100, vocab) == ["a"] + ["##a"] * 99
    assert wordpiece_tokenize("a" * 101, vocab) == ["[UNK]"]
    tokenizer = BertTokenizer([*SPECIAL_TOKENS, "a", "##a"], max_input_chars_per_word=5)
    assert tokenizer.tokenize("aaaaa aaaaaa") == ["a", "##a", "##a", "##a", "##a", "[UNK]"]


# --------------------------------------------------------------------------- WordPiece training


def naive_merges(word_counts: dict[str, int], n_merges: int) -> list[tuple[str, str, str, int]]:
    """The textbook algorithm: recount every pair and symbol after every merge."""
    splits = {w: [w[0]] + ["##" + c for c in w[1:]] for w in word_counts}
    merges = []
    for _ in range(n_merges):
        symbol_freq: Counter[str] = Counter()
        pair_freq: Counter[tuple[str, str]] = Counter()
        for word, count in word_counts.items():
            symbols = splits[word]
            for s in symbols:
                symbol_freq[s] += count
            for pair in zip(symbols, symbols[1:], strict=False):
                pair_freq[pair] += count
        if not pair_freq:
            break
        left, right = min(
            pair_freq,
            key=lambda p: (
                -pair_freq[p] / (symbol_freq[p[0]] * symbol_freq[p[1]]),
                -pair_freq[p],
                p,
            ),
        )
        token = left + right[2:]
        merges.append((left, right, token, pair_freq[(left, right)]))
        for word, symbols in splits.items():
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == (left, right):
                    merged.append(token)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            splits[word] = merged
    return merges


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="abcd", min_size=1, max_size=7), st.integers(1, 6), max_size=15
    )
)
def test_training_equals_the_textbook_algorithm(word_counts: dict[str, int]) -> None:
    ours = [(m.left, m.right, m.token, m.pair_count) for m in wordpiece_merges(word_counts)]
    assert ours == naive_merges(word_counts, n_merges=10_000)


def test_merge_score_is_pair_frequency_over_product_of_part_frequencies() -> None:
    # Hugging Face's course corpus: every pair holding the frequent "##u" (36 times) scores
    # at most 1/36; ("##g", "##s") scores 5 / (20 * 5) = 1/20 and is merged first.
    word_counts = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}
    first = next(wordpiece_merges(word_counts))
    assert (first.left, first.right, first.token) == ("##g", "##s", "##gs")
    assert (first.pair_count, first.left_count, first.right_count) == (5, 20, 5)
    assert first.score == pytest.approx(1 / 20)
    # a four-way tie at 0.05 without "pun" and "bun": the most frequent pair wins it
    tie = next(wordpiece_merges({"hug": 10, "pug": 5, "hugs": 5}))
    assert (tie.left, tie.right, tie.score) == ("##u", "##g", pytest.approx(0.05))
    assert Merge("a", "##b", "ab", 6, 3, 4).score == pytest.approx(0.5)


def test_train_wordpiece_puts_specials_first_and_is_deterministic() -> None:
    vocab = train_wordpiece(SENTENCES * 3, vocab_size=80)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) == 80 and len(set(vocab)) == 80
    shuffled = SENTENCES * 3
    random.Random(0).shuffle(shuffled)
    assert train_wordpiece(shuffled, vocab_size=80) == vocab
    alphabet = initial_alphabet(count_words(SENTENCES))
    assert vocab[5 : 5 + len(alphabet)] == alphabet


def test_training_stops_when_every_word_is_one_token() -> None:
    vocab = train_wordpiece(["aa ab"], vocab_size=1000)
    # alphabet sorted ("#" sorts before letters); (a, ##a) and (a, ##b) tie: alphabetical order
    assert vocab == [*SPECIAL_TOKENS, "##a", "##b", "a", "aa", "ab"]


def test_trained_tokenizer_covers_its_corpus_without_unknowns() -> None:
    tokenizer = BertTokenizer.train(SENTENCES, vocab_size=60, do_lower_case=False)
    for sentence in SENTENCES:
        tokens = tokenizer.tokenize(sentence)
        assert "[UNK]" not in tokens
        assert "".join(t.removeprefix("##") for t in tokens) == sentence.replace(" ", "")


def test_count_words_uses_the_basic_tokenizer_and_skips_specials() -> None:
    counts = count_words(["The DOG, the dog [MASK]"], do_lower_case=True)
    assert counts == Counter({"the": 2, "dog": 2, ",": 1})


def test_training_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="too small"):
        train_wordpiece(SENTENCES, vocab_size=10)
    with pytest.raises(TypeError, match="iterable of strings"):
        train_wordpiece("one long string", vocab_size=100)
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        train_wordpiece(["ok", 3], vocab_size=100)  # type: ignore[list-item]


# --------------------------------------------------------------------------- BertTokenizer


def test_ids_and_tokens_round_trip() -> None:
    tokenizer = small_tokenizer()
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id) == (0, 1, 2)
    assert (tokenizer.sep_token_id, tokenizer.mask_token_id, tokenizer.vocab_size) == (3, 4, 19)
    tokens = tokenizer.tokenize("The cats ran UNAFFABLE, zebra!")
    assert tokens == ["the", "cat", "##s", "ran", "un", "##aff", "##able", ",", "[UNK]", "!"]
    ids = tokenizer.convert_tokens_to_ids(tokens)
    assert ids == [5, 7, 13, 8, 10, 11, 12, 16, 1, 17]
    assert tokenizer.convert_ids_to_tokens(ids) == tokens
    assert tokenizer.convert_tokens_to_ids("nope") == tokenizer.unk_token_id


def test_encode_lays_out_a_pair_with_segments_and_mask() -> None:
    tokenizer = small_tokenizer()
    encoding = tokenizer.encode("the dog ran", "a cat", max_length=12, padding="max_length")
    assert (
        encoding.tokens
        == ["[CLS]", "the", "dog", "ran", "[SEP]", "a", "cat", "[SEP]"] + ["[PAD]"] * 4
    )
    assert encoding.token_type_ids == [0] * 5 + [1] * 3 + [0] * 4
    assert encoding.attention_mask == [1] * 8 + [0] * 4
    assert encoding.special_tokens_mask == [1, 0, 0, 0, 1, 0, 0, 1] + [1] * 4
    assert encoding.word_ids == [None, 0, 1, 2, None, 0, 1, None] + [None] * 4
    assert encoding.offsets[:5] == [None, (0, 3), (4, 7), (8, 11), None]
    assert encoding.offsets[5:8] == [(0, 1), (2, 5), None]


def test_offsets_and_word_ids_follow_pieces_back_to_the_text() -> None:
    tokenizer = small_tokenizer()
    text = "  The\u200b CATS,unaffable!"
    encoding = tokenizer.encode(text)
    pieces = encoding.tokens[1:-1]
    assert pieces == ["the", "cat", "##s", ",", "un", "##aff", "##able", "!"]
    spans = encoding.offsets[1:-1]
    assert [text[a:b] for a, b in spans] == ["The", "CAT", "S", ",", "un", "aff", "able", "!"]
    assert encoding.word_ids[1:-1] == [0, 1, 1, 2, 3, 3, 3, 4]


def test_truncation_is_longest_first() -> None:
    tokenizer = small_tokenizer()
    six, two = "the dog ran fast a cat", "the dog"
    encoding = tokenizer.encode(six, two, max_length=7)  # room for 4: the longer one loses 4
    assert encoding.tokens == ["[CLS]", "the", "dog", "[SEP]", "the", "dog", "[SEP]"]
    three, four = "the dog ran", "a cat ran fast"
    # room for 3 of 7: the second loses 1 to even up, then the rest is split (second first)
    encoding = tokenizer.encode(three, four, max_length=6)
    assert encoding.tokens == ["[CLS]", "the", "dog", "[SEP]", "a", "[SEP]"]
    # six and three tokens, room for 5: the first loses 3 to even up, then the second 1 more
    encoding = tokenizer.encode(six, "a cat ran", max_length=8)
    assert encoding.tokens == ["[CLS]", "the", "dog", "ran", "[SEP]", "a", "cat", "[SEP]"]
    single = tokenizer.encode(six, max_length=4)
    assert single.tokens == ["[CLS]", "the", "dog", "[SEP]"] and single.offsets[2] == (4, 7)
    untouched = tokenizer.encode(six, max_length=4, truncation=False)
    assert len(untouched) == 8


def test_batch_call_returns_padded_tensors() -> None:
    tokenizer = small_tokenizer()
    batch = tokenizer(["the dog", "a cat ran fast"], ["ran", "the cats"])
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask"}
    assert batch["input_ids"].shape == (2, 10) and batch["input_ids"].dtype == torch.long
    assert batch["input_ids"][0].tolist() == [2, 5, 6, 3, 8, 3, 0, 0, 0, 0]
    assert batch["token_type_ids"][1].tolist() == [0] * 6 + [1] * 4  # ... [SEP] the cat ##s [SEP]
    assert batch["attention_mask"].sum(dim=1).tolist() == [6, 10]
    padded = tokenizer(["the dog"], max_length=6, padding="max_length")
    assert padded["input_ids"].tolist() == [[2, 5, 6, 3, 0, 0]]
    lists = tokenizer(["the", "the dog"], padding=False, return_tensors=None)
    assert lists["input_ids"] == [[2, 5, 3], [2, 5, 6, 3]]
    encodings = tokenizer.encode_batch(["the", "the dog"])
    assert [e.input_ids for e in encodings] == [[2, 5, 3, 0], [2, 5, 6, 3]]


def test_decode_rejoins_pieces_and_tidies_punctuation() -> None:
    tokenizer = small_tokenizer()
    ids = tokenizer.encode("The cats ran, unaffable!").input_ids
    assert tokenizer.decode(ids) == "the cats ran, unaffable!"
    assert (
        tokenizer.decode(ids, skip_special_tokens=False) == "[CLS] the cats ran, unaffable! [SEP]"
    )
    assert tokenizer.decode(torch.tensor(ids)) == "the cats ran, unaffable!"


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    tokenizer = small_tokenizer(do_lower_case=False)
    directory = tokenizer.save_pretrained(tmp_path / "tok")
    assert (directory / "vocab.txt").read_text(
        encoding="utf-8"
    ).splitlines() == tokenizer.ids_to_tokens
    loaded = BertTokenizer.from_pretrained(directory)
    assert loaded.ids_to_tokens == tokenizer.ids_to_tokens and loaded.do_lower_case is False
    from_file = BertTokenizer.from_pretrained(directory / "vocab.txt")
    assert from_file.do_lower_case is True  # a bare vocab.txt carries no casing: the default


# --------------------------------------------------------------------------- errors


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    tokenizer = small_tokenizer()
    with pytest.raises(TypeError, match="text must be a str, got int"):
        tokenizer.tokenize(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pair must be a str, got bytes"):
        tokenizer.encode("ok", b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        tokenizer(["ok", None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="2 texts but 1 pairs"):
        tokenizer(["a", "b"], ["c"])
    with pytest.raises(ValueError, match=r"too short for \[CLS\] x \[SEP\] y \[SEP\]"):
        tokenizer.encode("the dog", "a cat", max_length=4)
    with pytest.raises(ValueError, match=r"too short for \[CLS\] x \[SEP\]"):
        tokenizer(["the dog"], max_length=2)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.convert_ids_to_tokens([5, 999])
    with pytest.raises(ValueError, match="rows of 3 to 4 tokens cannot form one tensor"):
        tokenizer(["the", "the dog"], padding=False)
    with pytest.raises(ValueError, match="rows of 4 to 6 tokens"):
        tokenizer(
            ["the dog", "the dog ran fast"], max_length=4, truncation=False, padding="max_length"
        )
    with pytest.raises(ValueError, match="return_tensors must be 'pt' or None"):
        tokenizer(["the"], return_tensors="np")


def test_bad_vocabularies_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing the special token\(s\) \[MASK\]"):
        BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the"])
    with pytest.raises(ValueError, match="'the' twice"):
        BertTokenizer([*SPECIAL_TOKENS, "the", "the"])
    with pytest.raises(FileNotFoundError, match="no vocabulary file"):
        BertTokenizer.from_pretrained(tmp_path / "missing")
    with pytest.raises(TypeError, match="list of tokens in id order"):
        BertTokenizer({token: i for i, token in enumerate(SPECIAL_TOKENS)})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="do_lower_case must be True or False"):
        BertTokenizer(list(SPECIAL_TOKENS), do_lower_case="no")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive int"):
        BertTokenizer(list(SPECIAL_TOKENS), max_input_chars_per_word=0)
