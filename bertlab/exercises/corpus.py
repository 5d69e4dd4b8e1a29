"""Chapter 00 exercises: Zipf's law on more text, the n-gram on less text, negation in reviews.

Exercises 1 and 2 are predict-then-measure: the learner writes a prediction down, measures, and
the check compares the measurement with its own run of the same experiment. Exercise 3 asks for
a rule-based sentiment labeler, the thing a model must learn from data in chapter 06.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from bertlab.exercises import (
    CheckResult,
    check_measurement,
    failed,
    no_prediction,
    passed,
    run_answer,
)
from bertlab.exercises.concepts import Question, Quiz
from bertlab.tinyworld import lexicon
from bertlab.tinyworld.corpus import (
    DEFAULT_DOCUMENTS,
    CorpusStats,
    corpus_stats,
    generate_corpus,
    sentiment_split,
)
from bertlab.tinyworld.ngram import Blank, NgramFillIn, fill_in_benchmark

BIGGER_CORPUS = 4 * DEFAULT_DOCUMENTS  # exercise 1 fits Zipf's law on four times the chapter's text
ZIPF_RANKS = 100  # the fit covers the top 100 ranks, as the chapter's Zipf plot does
ZIPF_TOLERANCE = 0.02  # another seed moves the slope by under 0.005; a different fit moves it more
LESS_TEXT_SHARE = 10  # exercise 2 trains the n-gram on a tenth of the training documents
LESS_TEXT_TOLERANCE = 0.015  # the five disjoint tenths of the training documents span 1.2 points


def zipf_fit(stats: CorpusStats, top: int = ZIPF_RANKS) -> float:
    """Least-squares slope of log(frequency) against log(rank) over the `top` ranks."""
    ranks, frequencies = stats.zipf()
    xs = [math.log(rank) for rank in ranks[:top]]
    ys = [math.log(frequency) for frequency in frequencies[:top]]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return covariance / sum((x - mean_x) ** 2 for x in xs)


@dataclass(frozen=True)
class ZipfReference:
    """The check's own run of exercise 1, with the numbers its feedback quotes."""

    slope: float  # over the top 100 ranks of the bigger corpus
    slope_all_ranks: float  # the same corpus fitted over every rank (a common slip)
    slope_chapter: float  # the chapter's corpus, for the lesson
    types: int  # distinct words in the bigger corpus
    types_chapter: int  # distinct words in the chapter's corpus


@cache
def zipf_reference() -> ZipfReference:
    """Measure exercise 1 once: Zipf slopes and vocabularies, bigger corpus and chapter's."""
    bigger = corpus_stats(generate_corpus(BIGGER_CORPUS, seed=0))
    chapter = corpus_stats(generate_corpus(DEFAULT_DOCUMENTS, seed=0))
    return ZipfReference(zipf_fit(bigger), zipf_fit(bigger, top=bigger.types), zipf_fit(chapter),
                         bigger.types, chapter.types)


def _prediction_first(exercise: str, prediction: float | None) -> CheckResult | None:
    """The 'not attempted' result while the prediction is still the placeholder, else None."""
    if prediction is None:  # measured nothing yet, so run nothing: the notebook stays fast
        return no_prediction(exercise)
    return None


def check_zipf_bigger(prediction: float | None,
                      zipf_slope: Callable[[int], float]) -> CheckResult:
    """Exercise 1: predict, then measure, the Zipf slope of a corpus four times the chapter's."""
    name = "Exercise 1 (Zipf's law on more text)"
    hint = ("generate_corpus(n_documents, seed=0), then corpus_stats(...).zipf() gives ranks and "
            "frequencies; fit np.polyfit(np.log(ranks[:100]), np.log(freqs[:100]), 1) as the "
            "chapter's Zipf plot does, and return the slope.")
    pending = _prediction_first(name, prediction)
    if pending is not None:
        return pending
    measured = run_answer(name, hint, zipf_slope, BIGGER_CORPUS)
    if isinstance(measured, CheckResult):
        return measured
    reference = zipf_reference()
    if isinstance(measured, int | float) and not math.isnan(measured):
        if measured > 0:
            return failed(name, f"you measured a positive slope {measured:.3f}: frequency falls as "
                                "rank grows, so on a log-log plot the slope is negative.", hint)
        fitted_all = abs(reference.slope_all_ranks - reference.slope) > ZIPF_TOLERANCE
        if fitted_all and abs(measured - reference.slope_all_ranks) < 1e-3:
            return failed(name, f"you measured {measured:.3f}, the slope over all "
                                f"{reference.types:,} ranks, where the tail bends away from the "
                                f"line. Fit the top {ZIPF_RANKS} ranks, as the chapter's plot "
                                "does.", hint)
    same = abs(reference.slope - reference.slope_chapter) < ZIPF_TOLERANCE / 2
    lesson = (f"The chapter's {DEFAULT_DOCUMENTS:,} documents give {reference.slope_chapter:.3f}"
              + (": the slope belongs to the language the generator speaks, not to how much of "
                 "it you read." if same else "."))
    new_words = reference.types - reference.types_chapter
    if new_words == 0:
        lesson += (f" And {BIGGER_CORPUS:,} documents hold the same {reference.types:,} distinct "
                   f"words as {DEFAULT_DOCUMENTS:,}: TinyWorld's vocabulary is closed. Real text "
                   "keeps meeting new words as it grows, which is why BERT spells rare words "
                   "from pieces (chapter 01).")
    else:
        lesson += (f" {BIGGER_CORPUS:,} documents hold {reference.types:,} distinct words, "
                   f"{new_words:,} more than {DEFAULT_DOCUMENTS:,} do.")
    return check_measurement(name, prediction, measured, reference.slope, ZIPF_TOLERANCE,
                             hint=hint, lesson=lesson)


@dataclass(frozen=True)
class LessTextReference:
    """The check's own run of exercise 2: the n-gram trained on a tenth, and on all, of the text."""

    accuracy: float  # trained on the first tenth of the training documents
    accuracy_all: float  # trained on every training document (the chapter's baseline)
    documents: int  # how many documents the tenth holds


@cache
def _benchmark() -> tuple[tuple[tuple[str, ...], ...], tuple[Blank, ...]]:
    """The chapter's fill-in benchmark: training documents and held-out blanks."""
    train, blanks = fill_in_benchmark(generate_corpus(DEFAULT_DOCUMENTS, seed=0))
    return tuple(tuple(document) for document in train.as_documents()), tuple(blanks)


@cache
def less_text_reference() -> LessTextReference:
    """Measure exercise 2 once: the n-gram's held-out accuracy from a tenth and from all text."""
    documents, blanks = _benchmark()
    tenth = documents[:len(documents) // LESS_TEXT_SHARE]
    return LessTextReference(NgramFillIn().fit(tenth).accuracy(blanks),
                             NgramFillIn().fit(documents).accuracy(blanks), len(tenth))


def check_less_text(
    prediction: float | None,
    accuracy_with_a_tenth: Callable[[list[list[str]], list[Blank]], float],
) -> CheckResult:
    """Exercise 2: predict, then measure, the n-gram's accuracy when it counts a tenth of it."""
    name = "Exercise 2 (counting less text)"
    hint = ("fit NgramFillIn() on train_documents[:len(train_documents) // 10] and return its "
            ".accuracy(blanks), a fraction between 0 and 1.")
    pending = _prediction_first(name, prediction)
    if pending is not None:
        return pending
    documents, blanks = _benchmark()
    measured = run_answer(name, hint, accuracy_with_a_tenth, [list(d) for d in documents],
                          list(blanks))
    if isinstance(measured, CheckResult):
        return measured
    reference = less_text_reference()
    if isinstance(measured, int | float):
        if 1 < measured <= 100:
            return failed(name, f"you returned {measured:g}: give the accuracy as a fraction "
                                "between 0 and 1, as NgramFillIn.accuracy does.", hint)
        counted_all = abs(reference.accuracy_all - reference.accuracy) > LESS_TEXT_TOLERANCE
        if counted_all and abs(measured - reference.accuracy_all) < 1e-9:
            return failed(name, f"{measured:.3f} is the accuracy of the n-gram trained on all "
                                f"{len(documents):,} training documents, the chapter's baseline: "
                                f"train a new one on the first tenth ({reference.documents} "
                                "documents).", hint)
    lost = reference.accuracy_all - reference.accuracy
    lesson = (f"A tenth of the text ({reference.documents} documents) costs only {100 * lost:.1f} "
              f"points: {reference.accuracy_all:.1%} from all {len(documents):,} documents, "
              f"{reference.accuracy:.1%} from a tenth. Counting more of the same two-word windows "
              "soon stops paying: many of the blanks it still misses need words outside its "
              "window (a name said earlier, the gender of a pronoun), and no amount of counting "
              "brings those in. Reading the whole context does.")
    return check_measurement(name, prediction, measured, reference.accuracy, LESS_TEXT_TOLERANCE,
                             hint=hint, lesson=lesson)


def check_review_label(review_label: Callable[[str], int]) -> CheckResult:
    """Exercise 3: label held-out reviews with the adjective lists and negation."""
    name = "Exercise 3 (rule-based sentiment)"
    hint = ("for each sentence, find the adjective in lexicon.POSITIVE or lexicon.NEGATIVE, flip "
            "it when the sentence says 'not', and return 1 for positive, 0 for negative.")
    split = sentiment_split(150, 150, seed=4)
    reviews = split.train + split.test
    wrong = []
    for review in reviews:
        answer = run_answer(name, hint, review_label, review.text)
        if isinstance(answer, CheckResult):
            return answer
        if answer not in (0, 1):
            return failed(name, f"return 1 (positive) or 0 (negative), got {answer!r} for "
                                f"'{review.text}'.", hint)
        if answer != review.label:
            wrong.append(review)
    accuracy = 1 - len(wrong) / len(reviews)
    if accuracy < 0.99:
        example = wrong[0]
        sentiment = "positive" if example.label else "negative"
        if " not " in example.text:
            return failed(name, f"accuracy {accuracy:.2%}. For example '{example.text}' is "
                                f"{sentiment}: it says 'not', which flips the adjective after "
                                "it.", hint)
        return failed(name, f"accuracy {accuracy:.2%}. For example '{example.text}' is "
                            f"{sentiment}.", hint)
    known = len(lexicon.POSITIVE) + len(lexicon.NEGATIVE)
    return passed(name, f"accuracy {accuracy:.2%}, but only because you were handed all {known} "
                        "adjectives. A model must learn them; chapter 06 asks whether pretraining "
                        "can teach it the ones it never saw labeled.")


QUIZZES = {"00": Quiz("00", (
    Question(
        "The n-gram is scored on blanks from documents it never counted. Scored instead on "
        "blanks from its own training documents, what would its accuracy tell you?",
        {"a": "The same thing: blanks are blanks, wherever they come from.",
         "b": "Less: it has counted those very sentences, so it can recall a word instead of "
              "inferring it, and the score overstates what it does on new text.",
         "c": "More: training documents are the ones it knows best, so that score is the fair "
              "one."},
        "b", "a model is judged on text it has not seen; chapter 05 scores its BERT on the same "
             "held-out blanks for that reason.",
        {"a": "a training sentence's context was counted together with its answer, so the "
              "model can recall the word rather than infer it.",
         "c": "knowing the test sentences is exactly what makes the score unfair: it measures "
              "memory, not what carries over to new text."}),
    Question(
        "The two-sided n-gram gets almost every blank that hides was/were/is/are right, and "
        "almost none of those that hide a name. Why?",
        {"a": "Names are longer words, and the model prefers short ones.",
         "b": "There are too few names in the training text to count.",
         "c": "The word that decides 'was' or 'were' is within two words; the word that decides "
              "a name was said a sentence or more earlier, outside its window."},
        "c", "an n-gram only reads two words either side; a name is fixed by the rest of the "
             "document, which attention can reach.",
        {"a": "the model ignores word length; it picks the commonest word seen in the same "
              "context.",
         "b": "names are frequent in TinyWorld; the trouble is that the neighbours of a name "
              "('___ went to the office') fit every name equally well."}),
    Question(
        "A left-to-right model reaches a blank that is the first word of a sentence. What does it "
        "know about that word?",
        {"a": "Nothing but that a sentence starts here, so it guesses the commonest first word "
              "every time.",
         "b": "The whole sentence, because it has read the sentence before predicting.",
         "c": "The next two words, like the two-sided n-gram."},
        "a", "it has read only what comes before the blank; that is why the left-only counter "
             "falls furthest behind the two-sided one on first words.",
        {"b": "a left-to-right model predicts each word before it reads the words after it.",
         "c": "reading the next words is what a left-to-right model cannot do; that is the "
              "whole difference with the two-sided counter."}),
    Question(
        "ELMo also uses the words on both sides of a word. What does BERT do that ELMo does not?",
        {"a": "BERT is a bigger network trained on more text; the two read a sentence the same "
              "way.",
         "b": "ELMo joins the outputs of a left-to-right and a right-to-left model, neither of "
              "which sees the other side; in BERT every layer attends to both sides at once.",
         "c": "BERT reads the left side first and the right side in a second pass, so its "
              "second pass knows both."},
        "b", "a masked language model hides the word itself, so every layer may look both ways "
             "without seeing the answer.",
        {"a": "size and data differ too, but the difference that matters here is how each "
              "layer combines the two sides.",
         "c": "there are no passes: every layer of BERT's encoder attends to the words on both "
              "sides at once."}),
    Question(
        "The test reviews of `sentiment_split` use adjectives that never occur in the labeled "
        "training reviews but do occur in the unlabeled corpus. What does that let chapter 06 "
        "measure?",
        {"a": "Whether pretraining on unlabeled text teaches a model what words mean before any "
              "label shows it.",
         "b": "How well the model copes with reviews longer than the ones it was trained on.",
         "c": "Whether the model memorised the training reviews."},
        "a", "a model trained only on the labeled reviews cannot know the held-out adjectives; "
             "a pretrained one has met them in the unlabeled corpus.",
        {"b": "test and training reviews have the same shapes and lengths; only their "
              "adjectives differ.",
         "c": "memorising training reviews cannot help here: no test adjective is in them."}),
))}
