"""Chapter 01 exercise checks: two vocabularies on text they were not learned from, pair inputs.

Exercises 1 and 2 are predict-then-measure: the learner writes a prediction down, then measures
how bert-base-uncased cuts TinyWorld text, and how TinyWorld's vocabulary copes with English
prose; each check runs the same measurement itself. Exercise 3 builds BERT's sentence-pair input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from bertlab.exercises import (
    CheckResult,
    check_measurement,
    failed,
    no_prediction,
    passed,
    run_answer,
)
from bertlab.exercises.concepts import Question, Quiz
from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tokenizer import SPECIAL_TOKENS, UNK, BertTokenizer

HELD_OUT_DOCUMENTS, HELD_OUT_SEED = 150, 1  # exercise 1's text: documents no vocabulary saw
# Exercise 2's text: real English prose, the opening of chapter 01, one sentence per item.
ENGLISH_SENTENCES = (
    "A model cannot read text; it reads integers, one per token, and looks each one up in an "
    "embedding table.",
    "This chapter builds BERT's tokenizer from scratch: how text is cleaned, how a WordPiece "
    "vocabulary is learned from a corpus, how a word is cut into pieces, and how a pair of "
    "sentences becomes the three tensors BERT takes as input.",
    "Everything is checked against Hugging Face transformers.",
)
PIECES_TOLERANCE = 0.01  # one definition of the measurement, so only rounding may differ
UNKNOWN_TOLERANCE = 0.005  # under one word in the paragraph


@cache
def held_out_sentences() -> tuple[str, ...]:
    """The TinyWorld sentences exercise 1 measures on, from a seed no vocabulary here saw."""
    return tuple(generate_corpus(HELD_OUT_DOCUMENTS, seed=HELD_OUT_SEED).sentences())


def word_pieces(tokenizer: BertTokenizer, sentences: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Every word of `sentences` (basic tokens, punctuation included) with its WordPiece tokens."""
    return [(word, tokenizer.wordpieces(word))
            for sentence in sentences for word in tokenizer.basic.tokenize(sentence)]


PIECES_HINT = ("words are tokenizer.basic.tokenize(sentence) (a punctuation mark counts as a "
               "word), pieces are tokenizer.tokenize(sentence); add both up over all sentences "
               "and return pieces / words.")


def _known_slips(exercise: str, measured: Any, expected: float, tolerance: float,
                 slips: dict[str, float], hint: str) -> CheckResult | None:
    """A failure naming the mistake when the measurement equals a known wrong measurement."""
    if not isinstance(measured, int | float):
        return None
    for message, value in slips.items():
        if abs(measured - value) < 1e-9 and abs(value - expected) > tolerance:
            return failed(exercise, f"you measured {measured:.4g}: {message}", hint)
    return None


def check_bert_pieces(
    prediction: float | None,
    pieces_per_word: Callable[[BertTokenizer, list[str]], float],
    bert_tokenizer: BertTokenizer,
) -> CheckResult:
    """Exercise 1: predict, then measure, bert-base-uncased's pieces per TinyWorld word."""
    exercise = "Exercise 1 (bert-base-uncased on TinyWorld)"
    hint = PIECES_HINT
    if prediction is None:  # nothing measured before a prediction is written down
        return no_prediction(exercise)
    sentences = list(held_out_sentences())
    measured = run_answer(exercise, hint, pieces_per_word, bert_tokenizer, sentences)
    if isinstance(measured, CheckResult):
        return measured
    words = word_pieces(bert_tokenizer, sentences)
    pieces = sum(len(p) for _, p in words)
    letters = [w for w, _ in words if w[0].isalnum()]
    expected = pieces / len(words)
    slip = _known_slips(exercise, measured, expected, PIECES_TOLERANCE, {
        "that is words per piece; divide the pieces by the words.": len(words) / pieces,
        "your words leave the punctuation marks out (str.split() glues each to the word before "
        "it) but the pieces keep them; count a punctuation mark as a word.": pieces / len(letters),
    }, hint)
    if slip is not None:
        return slip
    split = Counter((w, " ".join(p)) for w, p in words if len(p) > 1)
    examples = ", ".join(f"{w} → {p}" for (w, p), _ in split.most_common(3))
    share = sum(split.values()) / len(words)
    lesson = (f"It cuts {share:.1%} of the words; the ones it cuts most often: {examples}. "
              f"bert-base-uncased learned its {bert_tokenizer.vocab_size:,} "
              "tokens from Wikipedia and books: a vocabulary fits the text it was learned from, "
              "and a word its text rarely used is spelled from pieces rather than lost.")
    return check_measurement(exercise, prediction, measured, expected, PIECES_TOLERANCE,
                             hint=hint, lesson=lesson)


def check_english_unknowns(
    prediction: float | None,
    unknown_share: Callable[[BertTokenizer, list[str]], float],
    tinyworld_tokenizer: BertTokenizer,
) -> CheckResult:
    """Exercise 2: predict, then measure, the share of English words TinyWorld's vocab loses."""
    exercise = "Exercise 2 (TinyWorld's vocabulary on English)"
    hint = ("words are tokenizer.basic.tokenize(sentence) (a punctuation mark counts as a word); "
            "a word is lost when tokenizer.tokenize(word) == ['[UNK]']. Return lost words / words, "
            "a fraction between 0 and 1.")
    if prediction is None:
        return no_prediction(exercise)
    sentences = list(ENGLISH_SENTENCES)
    measured = run_answer(exercise, hint, unknown_share, tinyworld_tokenizer, sentences)
    if isinstance(measured, CheckResult):
        return measured
    words = word_pieces(tinyworld_tokenizer, sentences)
    lost = [w for w, p in words if p == [UNK]]
    pieces = sum(len(p) for _, p in words)
    expected = len(lost) / len(words)
    slip = _known_slips(exercise, measured, expected, UNKNOWN_TOLERANCE, {
        "that is lost words per piece; divide by the number of words.": len(lost) / pieces,
        "that is the number of lost words; divide it by the number of words.": float(len(lost)),
        "that is the share of words kept; return the share lost.": 1 - len(lost) / len(words),
    }, hint)
    if slip is not None:
        return slip
    longest, its_pieces = max(words, key=lambda item: len(item[1]))
    shown = " ".join(sorted(set(lost)))
    spelled = (f"spelled from pieces, {pieces / len(words):.2f} per word ({longest} → "
               f"{' '.join(its_pieces)})")
    if lost and all(not word[0].isalnum() for word in lost):
        lesson = (f"The words it loses are punctuation marks TinyWorld never writes ({shown}). "
                  "Every letter of the paragraph is in its alphabet, so no word made of letters "
                  f"is lost: each is {spelled}. A word-level vocabulary would have lost every "
                  "word TinyWorld never uses.")
    elif lost:
        lesson = (f"It loses {shown}: words with characters outside its alphabet. Every other "
                  f"word is {spelled}.")
    else:
        lesson = f"It loses no word at all: every word is {spelled}."
    return check_measurement(exercise, prediction, measured, expected, UNKNOWN_TOLERANCE,
                             hint=hint, lesson=lesson)


PAIR_CASES = [([7, 8, 9], [10, 11], 10), ([12], [13, 14, 15], 8), ([16, 17], [18], 6)]
_PAIR_VOCAB = [*SPECIAL_TOKENS] + [f"w{i}" for i in range(len(SPECIAL_TOKENS), 30)]


def check_pair_inputs(answer: Callable[[list[int], list[int], int], dict[str, Any]]) -> CheckResult:
    """Exercise 3: pair_inputs(ids_a, ids_b, max_length): BERT's pair layout, segments, mask."""
    exercise = "Exercise 3 (sentence-pair inputs)"
    hint = (
        "[CLS]=2 a [SEP]=3 b [SEP]=3, then [PAD]=0 up to max_length; token types 0 up to and "
        "including the first [SEP], 1 after it; attention 1 on real tokens, 0 on padding"
    )
    keys = ("input_ids", "token_type_ids", "attention_mask")
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
        if not isinstance(result, dict) or not set(keys) <= set(result):
            return failed(
                exercise, "return a dict with input_ids, token_type_ids and attention_mask", hint
            )
        try:
            got = {key: list(result[key]) for key in keys}
        except TypeError:
            return failed(exercise, "each value of the dict is a list of ints", hint)
        case = f"a={ids_a}, b={ids_b}, max_length={max_length}"
        for key in keys:
            if len(got[key]) != max_length:
                return failed(exercise, f"{case}: {key} has {len(got[key])} entries; pad it to "
                                        f"exactly max_length={max_length}", hint)
        if got["input_ids"] != expected.input_ids:
            return failed(
                exercise, f"{case}: input_ids {got['input_ids']}, expected {expected.input_ids}",
                hint,
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
                exercise, f"{case}: token_type_ids {types}, expected {expected.token_type_ids}",
                hint,
            )
        if got["attention_mask"] != expected.attention_mask:
            return failed(
                exercise,
                f"{case}: attention_mask {got['attention_mask']}, expected "
                f"{expected.attention_mask} (1 on every real token, specials too; 0 on [PAD])",
            )
    return passed(exercise, "ids, segments and masks match BERT's layout for every pair.")


QUIZZES = {"01": Quiz("01", (
    Question(
        "A vocabulary holds un, unh, ##happy and ##appy (and nothing else that fits). How does "
        "greedy WordPiece encode 'unhappy'?",
        {"a": "un ##happy",
         "b": "unh ##appy",
         "c": "[UNK]"},
        "b", "greedy takes the longest prefix in the vocabulary (unh), then the longest "
             "continuation of what is left (##appy); it never looks back for a nicer split.",
        {"a": "that is the split a person would choose, but greedy does not search: at the "
              "first position the longest piece in the vocabulary is unh, and it takes it.",
         "c": "a word becomes [UNK] only when some position has no matching piece; here unh "
              "and ##appy cover the whole word."}),
    Question(
        "In a corpus split into symbols, ##q occurs 10 times, always followed by ##u; ##u occurs "
        "200 times. The pair ##e ##r occurs 100 times, with ##e 400 times and ##r 300 times. "
        "Which pair does WordPiece merge first?",
        {"a": "##q ##u: 10 / (10 · 200) is six times 100 / (400 · 300).",
         "b": "##e ##r: it occurs ten times as often.",
         "c": "Neither yet: WordPiece first merges every pair that occurs at least 100 times."},
        "a", "the score divides a pair's count by the counts of its parts, so a pair whose "
             "parts rarely occur apart wins even when it is rare.",
        {"b": "merging the most frequent pair is BPE's rule; WordPiece divides by "
              "freq(left) · freq(right), which sinks pairs of common symbols.",
         "c": "there is no frequency threshold: every step merges the single best-scoring "
              "pair."}),
    Question(
        "You load bert-base-uncased's vocabulary but set do_lower_case=False. What happens to "
        "'The Dog ate'?",
        {"a": "Nothing: the vocabulary lowercases the words when it looks them up.",
         "b": "They are split into single letters, T ##h ##e, like any rare word.",
         "c": "'The' and 'Dog' become [UNK]: the vocabulary holds no pieces with capital letters, "
              "so no piece matches at the first letter."},
        "c", "an uncased vocabulary was built from lowercased text; the tokenizer must lowercase "
             "(and strip accents) the same way, or capitalised words find no pieces.",
        {"a": "lookup is an exact string match; lowercasing happens in the basic tokenizer, and "
              "do_lower_case=False turns it off.",
         "b": "spelling from letters needs the capital T in the vocabulary, and an uncased "
              "vocabulary has none, so the whole word is [UNK]."}),
    Question(
        "Two sentences of 6 and 14 tokens are padded to 14 in one batch, and the attention mask "
        "is all ones by mistake. What goes wrong?",
        {"a": "Nothing: [PAD] has id 0, so its vector is zero and adds nothing.",
         "b": "The short sentence's tokens also attend to the 8 [PAD] positions, so its outputs "
              "depend on how long the other sentence in its batch was.",
         "c": "The model raises an error, because the mask and the ids disagree."},
        "b", "the mask is what makes a sentence's outputs the same whatever it is padded to; "
             "chapter 02 builds it into attention.",
        {"a": "id 0 is just a row of the embedding table, and position embeddings are added to "
              "it: a [PAD] vector is not zero, and attention gives it a positive weight.",
         "c": "nothing checks the mask against the ids; the model runs and quietly gives "
              "different numbers."}),
    Question(
        "TinyWorld's WordPiece vocabulary grows from 1,000 to 3,000 tokens. What changes on "
        "held-out TinyWorld text?",
        {"a": "Sequences get shorter, as more words become single tokens, and the model's "
              "embedding table gets bigger.",
         "b": "Fewer words become [UNK].",
         "c": "Sequences get longer, because there are more tokens to choose from."},
        "a", "a bigger vocabulary trades embedding rows for shorter sequences; the unknown rate "
             "was already zero.",
        {"b": "none were [UNK] at 1,000 tokens: the alphabet alone spells every word made of "
              "letters it holds.",
         "c": "more tokens means longer pieces, so fewer of them per word."}),
))}
