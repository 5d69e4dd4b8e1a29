"""Chapter 05 exercise checks: what masking changes, where five minutes beat counting, the course
model's names, NSP's shortcut (predict, then measure), and longest-first truncation."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from statistics import mean, pstdev
from typing import Any

from bertlab.exercises import (
    CheckResult,
    check_measurement,
    failed,
    no_prediction,
    not_attempted,
    passed,
    run_answer,
)
from bertlab.exercises.concepts import Question, Quiz
from bertlab.fill_in import FillInResult, fill_in_accuracy, word_class
from bertlab.pretraining import NspPair, PretrainingDataset, truncate_pair

MASKING_PAIRS = 2000  # pairs the masking experiment reads: a fraction of a second
MASKING_EPOCHS = 5  # dynamic masks of five epochs: the spread an honest measurement can have


def changed_shares(dataset: PretrainingDataset, n_pairs: int = MASKING_PAIRS,
                   epochs: int = MASKING_EPOCHS) -> dict[str, list[float]]:
    """Per epoch's masks: the share of input tokens predicted, turned into [MASK], and changed."""
    shares: dict[str, list[float]] = {"predicted": [], "mask": [], "changed": []}
    for epoch in range(epochs):
        total = predicted = masked = changed = 0
        for index in range(min(n_pairs, len(dataset))):
            original, _ = dataset.pairs[index].encode(dataset.cls_id, dataset.sep_id)
            example = dataset.example(index, epoch)
            total += len(original)
            predicted += sum(label != -100 for label in example["labels"])
            masked += sum(token == dataset.scheme.mask_id for token in example["input_ids"])
            changed += sum(a != b for a, b in zip(original, example["input_ids"], strict=True))
        shares["predicted"].append(predicted / total)
        shares["mask"].append(masked / total)
        shares["changed"].append(changed / total)
    return shares


def check_changed_share(
    prediction: float | None,
    answer: Callable[[PretrainingDataset], float],
    dataset: PretrainingDataset,
) -> CheckResult:
    """Grade changed_share(dataset): the share of input tokens masking changes (predict first)."""
    exercise = "what masking changes"
    hint = ("for each of the first 2,000 pairs compare pair.encode(dataset.cls_id, "
            "dataset.sep_id)[0] with dataset.example(i)['input_ids'] position by position; "
            "divide the number that differ by the number of tokens")
    if prediction is None:
        return no_prediction(exercise)
    measured = run_answer(exercise, hint, answer, dataset)
    if isinstance(measured, CheckResult):
        return measured
    shares = changed_shares(dataset)
    expected = mean(shares["changed"])
    tolerance = max(4 * pstdev(shares["changed"]), 0.003)  # the spread across epochs' masks
    try:
        value = float(measured)
    except (TypeError, ValueError):
        return failed(exercise, f"return one number, got {type(measured).__name__}", hint)
    if abs(value - expected) > tolerance:
        if abs(value - mean(shares["predicted"])) <= tolerance:
            return failed(exercise, f"{value:.3f} is the share of tokens chosen for prediction: "
                                    "one in ten of those is left unchanged, so count only the "
                                    "positions whose input id differs from the original", hint)
        if abs(value - mean(shares["mask"])) <= tolerance:
            return failed(exercise, f"{value:.3f} counts only the [MASK]s: a random replacement "
                                    "changes the input too", hint)
        if abs(value - expected / mean(shares["predicted"])) <= 0.02:
            return failed(exercise, f"{value:.3f} is the changed share of the *predicted* "
                                    "tokens; divide by all the input tokens instead", hint)
    return check_measurement(
        exercise, prediction, value, expected, tolerance, hint=hint,
        lesson=f"Of the {mean(shares['predicted']):.1%} of tokens the model is asked about, only "
               f"9 in 10 look different: the input it reads is {expected:.1%} corrupted, and the "
               "other predicted tokens are there, unchanged, for it to copy or to doubt.")


BEATS_MARGIN = 0.01  # "beats": more than one point better on that kind of word


def check_beats_ngram(
    prediction: Mapping[str, bool] | None,
    answer: Callable[[FillInResult, FillInResult], Mapping[str, float]],
    bert: FillInResult,
    ngram: FillInResult,
) -> CheckResult:
    """Grade accuracy_gap(bert, ngram) -> {kind: BERT minus n-gram}, and put the prediction
    (which kinds the five-minute BERT beats the n-gram on) next to the measurement."""
    exercise = "where five minutes beat counting"
    hint = ("bert.by_class()[kind] is (number of blanks, accuracy); the gap of a kind is "
            "BERT's accuracy minus the n-gram's, for every kind in bert.by_class()")
    if prediction is None:
        return not_attempted(exercise)
    ours, theirs = bert.by_class(), ngram.by_class()
    unknown = sorted(set(prediction) - set(ours))
    if unknown or not prediction:
        return failed(exercise, f"predict True/False for kinds of word among {sorted(ours)}; "
                                f"unknown: {unknown}")
    measured = run_answer(exercise, hint, answer, bert, ngram)
    if isinstance(measured, CheckResult):
        return measured
    if not isinstance(measured, Mapping):
        return failed(exercise, f"return a dict {{kind: gap}}, got {type(measured).__name__}",
                      hint)
    expected = {kind: ours[kind][1] - theirs[kind][1] for kind in ours}
    missing = sorted(set(expected) - set(measured))
    if missing:
        return failed(exercise, f"your dict has no gap for {missing}", hint)
    wrong = [kind for kind in expected if abs(float(measured[kind]) - expected[kind]) > 1e-9]
    if wrong:
        if all(abs(float(measured[k]) + expected[k]) <= 1e-9 for k in expected):
            return failed(exercise, "every gap has the wrong sign: you subtracted BERT's "
                                    "accuracy from the n-gram's", hint)
        kind = wrong[0]
        return failed(exercise, f"the gap for {kind!r} should be {expected[kind]:+.3f}, yours is "
                                f"{float(measured[kind]):+.3f}", hint)
    lines, right = [], 0
    for kind, guess in prediction.items():
        beats = expected[kind] > BEATS_MARGIN
        right += bool(guess) == beats
        lines.append(f"{kind} {expected[kind]:+.2f} ({'beats' if beats else 'does not beat'}"
                     f"{'' if bool(guess) == beats else ', not what you predicted'})")
    return passed(exercise, f"{right} of {len(prediction)} predictions right: " +
                  "; ".join(lines) + ". Five minutes teach what two words on each side "
                  "tell (function words, verb forms); a name or an animal the document "
                  "mentioned before needs attention that looks further back, and that comes "
                  "later.")


def name_blanks(blanks: Sequence[Any]) -> list[Any]:
    """The blanks whose hidden word is a person's name."""
    return [blank for blank in blanks if word_class(blank.answer) == "name"]


_SCORED: dict[tuple[Any, ...], FillInResult] = {}


def _scored_names(model: Any, tokenizer: Any, names: list[Any],
                  documents: Sequence[Sequence[str]]) -> FillInResult:
    """fill_in_accuracy on the name blanks, remembered for the same model, weights and data
    (a learner re-runs the check; the model does not change between runs)."""
    import torch

    with torch.no_grad():
        weights = float(sum(p.double().sum() for p in model.parameters()))
    key = (id(model), weights, id(tokenizer), tuple(id(b) for b in names), id(documents))
    if key not in _SCORED:
        _SCORED.clear()  # one model at a time: nothing piles up
        _SCORED[key] = fill_in_accuracy(model, tokenizer, names, documents)
    return _SCORED[key]


def check_name_accuracy(
    prediction: float | None,
    answer: Callable[..., float],
    model: Any,
    tokenizer: Any,
    blanks: Sequence[Any],
    documents: Sequence[Sequence[str]],
) -> CheckResult:
    """Grade name_accuracy(model, tokenizer, blanks, documents): fill-in accuracy on names only."""
    exercise = "the course model on names"
    hint = ("keep the blanks with fill_in.word_class(blank.answer) == 'name', then return "
            "fill_in.fill_in_accuracy(model, tokenizer, those_blanks, documents).accuracy")
    if prediction is None:
        return no_prediction(exercise)
    measured = run_answer(exercise, hint, answer, model, tokenizer, blanks, documents)
    if isinstance(measured, CheckResult):
        return measured
    names = name_blanks(blanks)
    result = _scored_names(model, tokenizer, names, documents)
    hits = [guess == blank.answer for guess, blank in zip(result.predictions, names, strict=True)]
    # an honest measurement on any half of the name blanks lands within this of the whole
    halves = [mean(random.Random(seed).sample(hits, len(hits) // 2)) for seed in range(10)]
    tolerance = max(abs(half - result.accuracy) for half in halves)
    try:
        value = float(measured)
    except (TypeError, ValueError):
        return failed(exercise, f"return one number, got {type(measured).__name__}", hint)
    if abs(value - result.accuracy) > tolerance and abs(value - len(names) / len(blanks)) < 0.01:
        return failed(exercise, f"{value:.3f} is the share of blanks that hide a name, not the "
                                "accuracy on them", hint)
    return check_measurement(
        exercise, prediction, value, result.accuracy, tolerance, hint=hint,
        lesson=f"Counting gets names about as wrong as a five-minute BERT; the course model "
               f"copies them from earlier in the document and gets {result.accuracy:.0%} of "
               f"{len(names)} right. That copying is what the next cells look for.")


def kind_reader_share(pairs: Sequence[NspPair], kinds: Sequence[str]) -> float:
    """Accuracy of a reader that says IsNext exactly when A and B come from the same kind."""
    right = sum((kinds[p.document] == kinds[p.b_document]) == (not p.is_random_next)
                for p in pairs)
    return right / len(pairs)


def check_kind_reader(
    prediction: float | None,
    answer: Callable[[Sequence[NspPair], Sequence[str]], float],
    pairs: Sequence[NspPair],
    kinds: Sequence[str],
) -> CheckResult:
    """Grade kind_reader_accuracy(pairs, kinds): NSP by the kind of document alone."""
    exercise = "NSP by the kind of document alone"
    hint = ("the reader guesses IsNext when kinds[pair.document] == kinds[pair.b_document] and "
            "NotNext otherwise; it is right when that guess matches `not pair.is_random_next`")
    if prediction is None:
        return no_prediction(exercise)
    measured = run_answer(exercise, hint, answer, pairs, kinds)
    if isinstance(measured, CheckResult):
        return measured
    expected = kind_reader_share(pairs, kinds)
    tolerance = 1 / len(pairs)  # the pairs are given: an honest count is off by a pair at most
    try:
        value = float(measured)
    except (TypeError, ValueError):
        return failed(exercise, f"return one number, got {type(measured).__name__}", hint)
    if abs(value - (1 - expected)) <= tolerance and abs(value - expected) > tolerance:
        return failed(exercise, f"{value:.3f} is the share it gets wrong: you reversed the rule "
                                "(same kind should mean IsNext)", hint)
    true_share = sum(not p.is_random_next for p in pairs) / len(pairs)
    if abs(value - true_share) <= tolerance and abs(value - expected) > tolerance:
        return failed(exercise, f"{value:.3f} is the share of IsNext pairs; a kind reader also "
                                "gets every negative from another kind of document right", hint)
    return check_measurement(
        exercise, prediction, value, expected, tolerance, hint=hint,
        lesson=f"A reader that never looks at a single word scores {expected:.0%}: every true pair "
               "and every negative from another kind of document. Only same-kind negatives ask "
               "whether B follows A — which is why ALBERT replaced NSP.")


def check_truncate_pair(
    answer: Callable[[list[int], list[int], int, random.Random], object],
) -> CheckResult:
    """Grade truncate(a, b, max_tokens, rng): cut the longer list from a random end, in place."""
    exercise = "longest-first truncation"
    hint = ("while len(a) + len(b) > max_tokens: take the longer list (b when they are equal), "
            "then if rng.random() < 0.5 delete its first item, else pop its last")
    cases = [(30, 10, 25), (5, 40, 20), (12, 12, 10), (3, 4, 10), (50, 2, 8)]
    for seed, (n_a, n_b, limit) in enumerate(cases):
        a, b = list(range(n_a)), list(range(100, 100 + n_b))
        expected_a, expected_b = list(a), list(b)
        truncate_pair(expected_a, expected_b, limit, random.Random(seed))
        result = run_answer(exercise, hint, answer, a, b, limit, random.Random(seed))
        if isinstance(result, CheckResult):
            return result
        if (a, b) == (expected_a, expected_b):
            continue
        if len(a) + len(b) != min(limit, n_a + n_b):
            return failed(exercise, f"with {n_a} + {n_b} tokens and max_tokens={limit} the pair "
                                    f"should keep {min(limit, n_a + n_b)}, yours kept "
                                    f"{len(a) + len(b)} (cut the lists in place)", hint)
        if (len(a), len(b)) != (len(expected_a), len(expected_b)):
            return failed(exercise, f"with {n_a} + {n_b} tokens you kept {len(a)} + {len(b)}, "
                                    f"expected {len(expected_a)} + {len(expected_b)}: always "
                                    "cut the longer list (b when they tie)", hint)
        return failed(exercise, "the lengths are right but the wrong ends were cut: draw "
                                "rng.random() once per removed token; < 0.5 removes the front",
                      hint)
    return passed(exercise, "same cuts as bertlab's truncate_pair for every case.")


def _question(prompt: str, choices: dict[str, tuple[str, str]], answer: str) -> Question:
    """A question from {letter: (choice, feedback)}: the feedback of the answer is its why."""
    return Question(prompt, {k: text for k, (text, _) in sorted(choices.items())}, answer,
                    choices[answer][1], {k: why for k, (_, why) in choices.items() if k != answer})


QUIZZES = {
    "05a": Quiz("05a", (
        _question(
            "BERT turns 80% of the chosen tokens into [MASK], 10% into a random token and leaves "
            "10% unchanged. What would go wrong if it always used [MASK]?",
            {"a": ("The loss would be too small to train on.",
                   "The loss is computed at the same positions either way; the rule changes what "
                   "the model sees, not how the loss is counted."),
             "b": ("[MASK] never appears when the model is used later, so it could neglect the "
                   "vectors of every visible token.",
                   "Right: any visible token might be one it is asked about, so it must keep a "
                   "good vector for all of them, not only at [MASK]."),
             "c": ("Training would be slower, since every masked token needs the vocabulary "
                   "logits.",
                   "The number of predicted positions is the same; only what the input shows "
                   "there changes."),
             "d": ("NSP could no longer see which sentence follows which.",
                   "NSP reads the pooled [CLS] vector of the whole pair; 15% masking hides "
                   "little of it whatever the replacement is.")},
            "b"),
        _question(
            "Before any training the MLM loss is about 8.3 with a 3,939-token vocabulary. "
            "Where does that number come from?",
            {"a": ("ln(3939) ≈ 8.28: an untrained model spreads its probability almost evenly, "
                   "so the right token gets about 1/V.",
                   "Right: cross-entropy of a near-uniform guess over V tokens is ln V."),
             "b": ("15% of the tokens are masked, so the loss is 0.15 × something large.",
                   "The loss is an average over the masked positions only; the masking rate does "
                   "not scale it."),
             "c": ("It is the NSP loss, ln 2, added to the MLM loss of a random model.",
                   "ln 2 ≈ 0.69 is the NSP part; the 8.3 is the MLM part alone."),
             "d": ("Weight decay adds a penalty to the loss.",
                   "AdamW applies weight decay to the weights directly; it is not part of the "
                   "loss the model reports.")},
            "a"),
        _question(
            "Two batches hold the same masked tokens, but the second is padded to twice the "
            "length. How does the MLM loss of the second compare?",
            {"a": ("It is half as large: the same error spread over twice the positions.",
                   "The mean runs over the predicted positions only (labels ≠ -100), not over "
                   "every position."),
             "b": ("It is twice as large.",
                   "Padding carries the label -100 and adds nothing to the sum or to the count."),
             "c": ("The same: padded positions have the label -100, so they enter neither the "
                   "sum nor the count.",
                   "Right: L_MLM averages over the masked positions, and padding is never one."),
             "d": ("It cannot be computed: padding breaks the attention.",
                   "The attention mask keeps padding out of every real token's attention; the "
                   "loss is well defined.")},
            "c"),
        _question(
            "The corpus is cut into NSP pairs once, and the model trains on it for many epochs. "
            "What do you expect to see?",
            {"a": ("Nothing changes: the pairs are fine, so more epochs only help.",
                   "The same few negatives come back every epoch, and a model can remember them."),
             "b": ("Training NSP loss falls well below the held-out NSP loss: the model "
                   "remembers which pairs are negatives instead of learning to tell.",
                   "Right: this is why the reference cuts the corpus dupe_factor = 10 times, "
                   "each time with other splits and other random segments."),
             "c": ("The MLM cannot learn, because each pair is masked the same way every epoch.",
                   "Training masks here are dynamic: a fresh mask every epoch, whatever the cut."),
             "d": ("Pairs become longer than max_seq_length.",
                   "Every pair is truncated to fit when it is cut, once or ten times.")},
            "b"),
    )),
    "05b": Quiz("05b", (
        _question(
            "The course model's accuracy on names stays near zero for thousands of steps, then "
            "climbs within a few evaluations; data and learning rate did not change then. Which "
            "explanation fits?",
            {"a": ("The warmup ended at that step.",
                   "Warmup ends after 6% of the steps, long before names appear."),
             "b": ("Copying needs two heads that only help together; until both partly exist the "
                   "gradient has little to follow, then they sharpen fast.",
                   "Right: the phase change Olsson et al. found for induction heads."),
             "c": ("The model started to overfit the training documents.",
                   "Names are scored on held-out documents, and their accuracy rose: the model "
                   "generalised."),
             "d": ("Later batches contain more names.",
                   "Batches are drawn from the same shuffled corpus all along.")},
            "b"),
        _question(
            "A reader that only knows each document's kind gets about 80% of the held-out NSP "
            "pairs right. What does a model's 90% NSP accuracy tell you, then?",
            {"a": ("That it understands whether B follows A.",
                   "Most of that 90% is within reach without reading whether B follows A."),
             "c": ("Little about coherence: most of it can come from recognising the kind of "
                   "document, which is why ALBERT swapped NSP for sentence order.",
                   "Right: only same-kind negatives test whether B follows A, and that is where "
                   "the models are weakest."),
             "b": ("That the held-out pairs leaked into training.",
                   "The held-out documents are never trained on; the shortcut is in the task."),
             "d": ("That NSP is useless for every downstream task.",
                   "The measurement shows NSP is easy, not that it teaches nothing; RoBERTa "
                   "found dropping it did no harm, which is a different claim.")},
            "c"),
        _question(
            "A tutorial feeds the text \"[CLS] mia fed [MASK] dog . [SEP]\" to a tokenizer that "
            "adds special tokens itself. Why does the model's guess get worse?",
            {"b": ("The tokenizer lowercases [MASK] and it is no longer a mask.",
                   "The tokenizer keeps [MASK] as its special token; look at the tokens it "
                   "prints."),
             "a": ("The input starts [CLS] [CLS] and ends [SEP] [SEP], which pretraining never "
                   "showed, and every position shifts by one.",
                   "Right: leave the special tokens to the tokenizer."),
             "c": ("The sequence becomes longer than the model accepts.",
                   "Two more tokens stay far below max_position_embeddings."),
             "d": ("The segment ids become 1 for every token.",
                   "The segment ids stay 0 for a single text; the doubled special tokens are the "
                   "change.")},
            "a"),
        _question(
            "A head's strongest attention from a verb lands on its subject 65% of the time; the "
            "rule \"the nearest noun to the left\" gets 88%. What may you conclude?",
            {"a": ("The head has learned subject-verb syntax: 65% is far above chance.",
                   "Chance is the wrong bar: a rule that knows no syntax does better."),
             "d": ("Nothing about syntax yet: a head deserves credit only where it beats the "
                   "simple position rules on the same verbs.",
                   "Right: and across relative clauses, where the rule breaks, is where to look."),
             "c": ("The model cannot find subjects at all.",
                   "The model may use several heads and layers together; one head's argmax is "
                   "not the whole model."),
             "b": ("Attention weights are random after training.",
                   "The scores differ from the untrained model's and from rule to rule: they "
                   "are not random.")},
            "d"),
    )),
}
