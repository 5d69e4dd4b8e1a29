"""Chapter 02 exercise checks: √d_k off and a forgotten padding mask (predict, then measure),
a causal mask, and the chapter's concept questions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from bertlab.exercises import (
    CheckResult,
    check_measurement,
    failed,
    passed,
    run_answer,
)
from bertlab.exercises.concepts import Question, Quiz

# Sizes of the two experiments, as the exercises state them.
HEAD_SIZE, N_KEYS, N_QUERIES = 64, 128, 1000  # √d_k off: BERT-base's head size, a 128-token input
N_REAL, PADDED_LENGTH, N_SENTENCES = 5, 128, 1000  # forgotten mask: 5 words padded to 128
# How far an honest measurement with another seed lands from the check's own (seed 0): across
# seeds 0-9 the largest weight spans 0.755-0.774 and the weight on padding 0.958-0.964;
# tests/test_exercises_attention.py measures that spread and proves it stays inside.
PEAK_TOLERANCE, PADDING_TOLERANCE = 0.03, 0.01


def check_prediction(
    exercise: str,
    prediction: float | None,
    answer: Callable[..., object] | float,
    args: Sequence[object],
    expected: float,
    tolerance: float,
    mistakes: Sequence[tuple[float, float, str]],
    *,
    hint: str,
    lesson: str,
) -> CheckResult:
    """check_measurement for a measuring function: call it only once a prediction is written.

    `answer` is the learner's measuring function (called with `args`) or a number already
    measured; each mistake is (value it gives, how close counts as it, message naming it).
    """
    if prediction is None:
        return check_measurement(exercise, prediction, None, expected, tolerance, hint=hint,
                                 lesson=lesson)
    measured = run_answer(exercise, hint, answer, *args) if callable(answer) else answer
    return check_measurement(exercise, prediction, measured, expected, tolerance, hint=hint,
                             lesson=lesson, mistakes=mistakes)


def largest_weight(d_k: int, n_keys: int, scaled: bool, seed: int = 0) -> float:
    """The check's own measurement: mean over queries of the largest softmax weight in a row."""
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(N_QUERIES, d_k, generator=generator)  # unit-variance entries
    k = torch.randn(N_QUERIES, n_keys, d_k, generator=generator)  # each query its own keys
    scores = (k @ q[:, :, None]).squeeze(-1)  # (queries, keys): q·k
    if scaled:
        scores = scores / math.sqrt(d_k)
    return torch.softmax(scores, dim=-1).max(dim=-1).values.mean().item()


def check_unscaled_peak(
    prediction: float | None, answer: Callable[[int, int, bool], float] | float
) -> CheckResult:
    """Grade the √d_k-off experiment: mean largest weight of raw q·k scores, d_k=64, 128 keys."""
    exercise = "√d_k off"
    hint = ("draw q (1000, 64) and k (1000, 128, 64) with torch.randn, scores = (k @ q[:, :, None])"
            ".squeeze(-1), no division; softmax over the keys, .max(-1).values, then .mean()")
    expected = largest_weight(HEAD_SIZE, N_KEYS, scaled=False)
    scaled = largest_weight(HEAD_SIZE, N_KEYS, scaled=True)
    few_keys = largest_weight(HEAD_SIZE, 16, scaled=False)
    mistakes = [
        (scaled, 0.02, "that is the value WITH the 1/√d_k scaling; the question is what the "
                       "raw scores q·k do."),
        (1 / N_KEYS, 0.002, "that is the mean of all the weights, always 1/128 because every row "
                            "sums to one; take each row's largest weight first, then average."),
        (few_keys, 0.02, "that is for 16 keys, as in the figure above; give each query 128."),
        (1.0, 0.01, "that is the single largest weight of all rows; take each row's largest, "
                    "then average over the rows."),
    ]
    lesson = (f"Without 1/√d_k the raw scores have a standard deviation of √64 = 8, so one key "
              f"takes {expected:.0%} of a row even among 128 keys (with the scaling: "
              f"{scaled:.0%}). More keys do not dilute a softmax whose inputs are that far apart, "
              "and its gradient nearly vanishes.")
    return check_prediction(exercise, prediction, answer, (HEAD_SIZE, N_KEYS, False), expected,
                            PEAK_TOLERANCE, mistakes, hint=hint, lesson=lesson)


def weight_on_padding(n_real: int, padded_length: int, use_mask: bool, seed: int = 0) -> float:
    """The check's own measurement: the share of a real token's attention that lands on [PAD]."""
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(N_SENTENCES, n_real, HEAD_SIZE, generator=generator)  # the real tokens ask
    k = torch.randn(N_SENTENCES, padded_length, HEAD_SIZE, generator=generator)  # all keys
    scores = q @ k.transpose(1, 2) / math.sqrt(HEAD_SIZE)  # (sentences, real, padded_length)
    if use_mask:
        scores[:, :, n_real:] = float("-inf")
    weights = torch.softmax(scores, dim=-1)
    return weights[:, :, n_real:].sum(dim=-1).mean().item()


def check_forgotten_mask(
    prediction: float | None, answer: Callable[[int, int, bool], float] | float
) -> CheckResult:
    """Grade the forgotten-mask experiment: the weight 5 real tokens give 123 [PAD] keys."""
    exercise = "forgotten padding mask"
    hint = ("draw q (1000, 5, 64) for the real tokens and k (1000, 128, 64) for all keys, scores "
            "= q @ k.transpose(1, 2) / 8, softmax over the keys, NO mask; sum each row's weights "
            "over keys 5..127, then average")
    expected = weight_on_padding(N_REAL, PADDED_LENGTH, use_mask=False)
    n_pad = PADDED_LENGTH - N_REAL
    mistakes = [
        (0.0, 0.001, "that is with the mask, which gives [PAD] exactly zero; measure what happens "
                     "when it is forgotten."),
        (expected / n_pad, 0.001, "that is the weight on ONE [PAD] key; add up all 123."),
        (1 - expected, PADDING_TOLERANCE, "that is the weight left for the 5 real tokens; measure "
                                          "the share of the [PAD] keys."),
    ]
    lesson = (f"{n_pad} [PAD] keys that look like any other key take {n_pad}/{PADDED_LENGTH} = "
              f"{n_pad / PADDED_LENGTH:.1%} of the attention, by their number alone: a real word's "
              "output would be mostly an average of padding, and change with the batch's length. "
              "The mask (scores of -inf) is what makes padding invisible.")
    return check_prediction(exercise, prediction, answer, (N_REAL, PADDED_LENGTH, False),
                            expected, PADDING_TOLERANCE, mistakes, hint=hint, lesson=lesson)


def check_causal_mask(answer: Callable[[int], torch.Tensor]) -> CheckResult:
    """Grade causal_mask(T) -> bool (T, T), True where query i may see key j (j <= i)."""
    exercise = "causal mask"
    hint = "row i is query i: keys 0..i are allowed; torch.tril keeps a matrix's lower triangle"
    for seq_len in (1, 4, 7):
        result = run_answer(exercise, hint, answer, seq_len)
        if isinstance(result, CheckResult):
            return result
        if not isinstance(result, torch.Tensor):
            return failed(exercise, f"return the mask as a torch tensor, got "
                                    f"{type(result).__name__}", hint)
        if tuple(result.shape) != (seq_len, seq_len):
            return failed(exercise, f"the mask for T={seq_len} should have shape "
                                    f"{(seq_len, seq_len)}, got {tuple(result.shape)}", hint)
        expected = torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))
        if result.dtype != torch.bool:
            return failed(
                exercise, f"return a bool tensor (True = may attend), got dtype {result.dtype}"
            )
        if torch.equal(result, expected):
            continue
        if torch.equal(result, expected.T):
            return failed(exercise, "that is transposed: row i (a query) may see keys j <= i, "
                                    "not the future ones.")
        if torch.equal(result, torch.tril(expected, diagonal=-1)):
            return failed(exercise, "a token may attend to itself: keep the diagonal True.")
        return failed(exercise, f"for T={seq_len} the mask should be lower-triangular with "
                                "its diagonal, True on and below it.", hint)
    return passed(exercise, "each token sees itself and the tokens before it, never after.")


QUIZZES = {
    "02": Quiz("02", (
        Question(
            "A head's size d_k goes from 64 to 256, but the code still divides the scores by "
            "√64 = 8. For random q and k, what happens to the attention rows?",
            {"a": "they get flatter: closer to uniform",
             "b": "nothing: softmax normalises the rows anyway",
             "c": "they get sharper: closer to one key taking all the weight",
             "d": "the rows no longer sum to one"},
            "c",
            "q·k now has variance 256, so scores / 8 have a standard deviation of 2 instead of "
            "1; larger gaps between scores make the softmax peakier.",
            {"a": "the scores grow with d_k (variance d_k); dividing by too small a number "
                  "leaves them larger, which sharpens the softmax, not flattens it.",
             "b": "softmax makes each row sum to one, but how the weight is shared depends on "
                  "the gaps between the scores, and those grow.",
             "d": "softmax always gives rows that sum to one, whatever its inputs."}),
        Question(
            "Why are padding keys masked by setting their scores to -inf BEFORE the softmax, "
            "rather than by zeroing their weights after it?",
            {"a": "zeroing after the softmax would produce NaNs",
             "b": "zeroing after the softmax leaves rows that sum to less than one, by an amount "
                  "that depends on how much padding the batch has",
             "c": "-inf is cheaper to compute than a multiplication",
             "d": "it makes no difference; the two give the same outputs"},
            "b",
            "with -inf the real keys share all of the weight, exactly as if the padding were "
            "not there; zeroing afterwards throws away the share the padding took.",
            {"a": "multiplying weights by 0 gives zeros, not NaNs; the problem is the rows that "
                  "no longer sum to one.",
             "c": "speed is not the reason; the two give different outputs.",
             "d": "they differ: after the softmax the padding has already taken its share, so "
                  "the remaining weights sum to less than one."}),
        Question(
            "With no position embeddings, you reverse the order of a sentence's words. What "
            "happens to the attention output vector of one word, say 'pea'?",
            {"a": "it is the same vector, now in the row where 'pea' stands",
             "b": "it changes, because the words next to 'pea' changed",
             "c": "it becomes the mean of all the value vectors",
             "d": "it becomes the output of the word that now stands where 'pea' stood"},
            "a",
            "attention compares every query with every key regardless of position, so "
            "permuting the inputs only permutes the outputs (permutation-equivariance).",
            {"b": "attention has no notion of 'next to': every key is compared with the query "
                  "in the same way wherever it stands.",
             "c": "nothing about reordering makes the weights uniform.",
             "d": "outputs move with their words, not with the positions."}),
        Question(
            "A query q is the zero vector. What are its attention weights over T keys, and its "
            "output?",
            {"a": "every weight is 0, and the output is the zero vector",
             "b": "all the weight goes to the first key",
             "c": "the weights are NaN (0 divided by 0)",
             "d": "every weight is 1/T, and the output is the mean of the value vectors"},
            "d",
            "all scores are 0, and softmax of equal scores is uniform: e⁰ / (T·e⁰) = 1/T, "
            "so the output averages the values.",
            {"a": "softmax never gives all zeros: e⁰ = 1 for every key, and the row is "
                  "normalised to sum to one.",
             "b": "ties are not broken toward the first key; softmax shares them equally.",
             "c": "softmax divides by the sum of exponentials, T·e⁰ = T, not by 0."}),
        Question(
            "3 queries attend over 7 keys (values of size 4). What is the shape of the weights, "
            "and which of its dimensions sums to one?",
            {"a": "(7, 3); each column sums to one",
             "b": "(3, 7); each row (one query) sums to one",
             "c": "(3, 7); each column (one key) sums to one",
             "d": "(3, 4); each row sums to one"},
            "b",
            "one row per query, one column per key; softmax runs over the keys (dim=-1), so "
            "each query's weights form a distribution.",
            {"a": "rows are the queries, and the weights are (Tq, Tk) = (3, 7).",
             "c": "the softmax runs over the keys of each query, so rows sum to one; a key "
                  "can receive any total.",
             "d": "(3, 4) is the shape of the output, weights @ values; the weights are "
                  "(queries, keys)."}),
    )),
}
