"""Chapter 06's checks accept the reference solutions and reject wrong answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_solution

from bertlab.exercises import finetuning as checks

ROOT = Path(__file__).resolve().parent.parent
# a fresh task head and the unused pretraining heads are the point of fine-tuning here
pytestmark = pytest.mark.filterwarnings("ignore:.*(newly initialized|not used by this model).*")


@pytest.fixture(scope="module")
def solutions():  # type: ignore[no-untyped-def]
    return load_solution("ch06_finetuning")


def _placeholder(*_args: object) -> object:
    raise NotImplementedError


def test_align_labels_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_align_labels(solutions.align_labels).passed
    every_piece = checks.check_align_labels(
        lambda ids, labels: [-100 if w is None else labels[w] for w in ids]
    )
    assert not every_piece.passed and "every piece" in every_piece.message
    specials = checks.check_align_labels(
        lambda ids, labels: [0 if w is None else x for w, x in
                             zip(ids, solutions.align_labels(ids, labels), strict=True)]
    )
    assert not specials.passed and "[CLS]" in specials.message
    crashing = checks.check_align_labels(lambda ids, labels: labels[99])
    assert not crashing.passed and crashing.attempted and "IndexError" in crashing.message
    pending = checks.check_align_labels(_placeholder)
    assert not pending.passed and not pending.attempted


def test_bio_entities_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_bio_entities(solutions.entities).passed

    def inclusive(tags):  # type: ignore[no-untyped-def]
        return [(k, s, e - 1) for k, s, e in solutions.entities(tags)]

    wrong_end = checks.check_bio_entities(inclusive)
    assert not wrong_end.passed and "exclusive" in wrong_end.message

    def strict_b(tags):  # type: ignore[no-untyped-def]  # only B- opens an entity
        return [e for e in solutions.entities(tags) if tags[e[1]].startswith("B-")]

    lenient = checks.check_bio_entities(strict_b)
    assert not lenient.passed and "I- tag" in lenient.message

    def drops_last(tags):  # type: ignore[no-untyped-def]
        return [e for e in solutions.entities(tags) if e[2] < len(tags)]

    open_end = checks.check_bio_entities(drops_last)
    assert not open_end.passed and "end" in open_end.message
    assert not checks.check_bio_entities(_placeholder).attempted


def test_pick_span_check(solutions) -> None:  # type: ignore[no-untyped-def]
    assert checks.check_pick_span(solutions.pick_span).passed

    def anywhere(start_logits, end_logits, mask, max_len):  # type: ignore[no-untyped-def]
        return int(start_logits.argmax()), int(end_logits.argmax())

    unconstrained = checks.check_pick_span(anywhere)
    assert not unconstrained.passed

    def ignores_mask(start_logits, end_logits, mask, max_len):  # type: ignore[no-untyped-def]
        import torch

        return solutions.pick_span(start_logits, end_logits, torch.ones_like(mask), max_len)

    outside = checks.check_pick_span(ignores_mask)
    assert not outside.passed and "passage" in outside.message

    def too_long(start_logits, end_logits, mask, max_len):  # type: ignore[no-untyped-def]
        return solutions.pick_span(start_logits, end_logits, mask, 100)

    long = checks.check_pick_span(too_long)
    assert not long.passed and "max_len" in long.message
    assert not checks.check_pick_span(_placeholder).attempted


# ------------------------------------------------------------- predict, then measure (06a, 06b)
# Each check reruns the experiment itself; the data here are small so that a run takes seconds.


@pytest.fixture(scope="module")
def course(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The course model's vocabulary, and a tiny BERT checkpoint on it (fast to fine-tune)."""
    import torch

    from bertlab.course_model import COURSE_MODEL_DIR
    from bertlab.model import BertConfig, BertForPreTraining
    from bertlab.tokenizer import BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(COURSE_MODEL_DIR)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    model_dir = tmp_path_factory.mktemp("tiny-bert")
    BertForPreTraining(config).save_pretrained(model_dir)
    return model_dir, tokenizer


@pytest.fixture(scope="module")
def reviews(course):  # type: ignore[no-untyped-def]
    from bertlab import finetuning as ft
    from bertlab.tinyworld.corpus import sentiment_split

    _, tokenizer = course
    split = sentiment_split(n_train=48, n_test=60, seed=0)
    train = ft.encode_sentences(tokenizer, split.train)
    # validation on the training reviews: a fitted model scores far above its test accuracy,
    # so the "validation accuracy" mistake lies outside the tolerance
    return train, train, ft.encode_sentences(tokenizer, split.test)


def _sentiment_settings():  # type: ignore[no-untyped-def]
    from bertlab.finetuning import TrainingSettings

    return TrainingSettings(epochs=12, batch_size=8, learning_rate=3e-3, patience=12, seed=0)


def test_random_init_accuracy_check(solutions, course, reviews) -> None:  # type: ignore[no-untyped-def]
    model_dir, _ = course
    train, validation, test = reviews
    settings = _sentiment_settings()
    args = (model_dir, train, validation, test, settings)

    right = checks.check_random_init_accuracy(
        0.5, lambda: solutions.random_init_accuracy(*args), *args)
    assert right.passed and "you predicted 0.5" in right.message

    def validation_accuracy() -> float:  # scores the validation reviews, not the test
        from bertlab import finetuning as ft
        from bertlab.environment import set_seed
        from bertlab.model import BertConfig, BertForSequenceClassification

        set_seed(settings.seed)
        model = BertForSequenceClassification(BertConfig.from_pretrained(model_dir, num_labels=2))
        return ft.fine_tune(model, train, validation, settings, progress=False).best["accuracy"]

    wrong = checks.check_random_init_accuracy(0.5, validation_accuracy, *args)
    assert not wrong.passed and "validation accuracy" in wrong.message and wrong.hint
    assert "Hint" in str(wrong)
    nonsense = checks.check_random_init_accuracy(0.5, lambda: 7.0, *args)
    assert not nonsense.passed and "check what your code measures" in nonsense.message
    pending = checks.check_random_init_accuracy(0.5, _placeholder, *args)
    assert not pending.attempted and "Hint" not in str(pending)
    unpredicted = checks.check_random_init_accuracy(None, lambda: 0.5, *args)
    assert not unpredicted.attempted and "prediction" in unpredicted.message
    assert "Hint" not in str(unpredicted)


@pytest.fixture(scope="module")
def entities_data(course):  # type: ignore[no-untyped-def]
    from bertlab import finetuning as ft
    from bertlab.tinyworld.corpus import generate_corpus

    _, tokenizer = course
    sentences = generate_corpus(60, seed=11).ner_examples()[:64]
    encode = lambda part: ft.encode_entities(tokenizer, part, max_length=64)  # noqa: E731
    return encode(sentences[:16]), encode(sentences[16:32]), encode(sentences[32:64])


def test_bert_base_rate_check(solutions, course, entities_data) -> None:  # type: ignore[no-untyped-def]
    from bertlab.finetuning import TrainingSettings

    model_dir, _ = course
    train, validation, test = entities_data
    settings = TrainingSettings(epochs=3, batch_size=8, learning_rate=1e-3, patience=3, seed=0)
    args = (model_dir, train, validation, test, settings)

    right = checks.check_bert_base_rate(0.3, lambda: solutions.bert_base_rate_f1(*args), *args)
    assert right.passed and "3e-05" in right.message

    def word_accuracy() -> float:  # the per-word accuracy instead of entity F1
        from dataclasses import replace

        from bertlab import finetuning as ft
        from bertlab.environment import set_seed
        from bertlab.model import BertForTokenClassification

        set_seed(settings.seed)
        tagger = BertForTokenClassification.from_pretrained(model_dir,
                                                            num_labels=len(ft.NER_LABELS))
        ft.fine_tune(tagger, train, validation, replace(settings, learning_rate=3e-5),
                     progress=False)
        return test.evaluate(tagger)["word_accuracy"]

    wrong = checks.check_bert_base_rate(0.3, word_accuracy, *args)
    assert not wrong.passed and "per-word accuracy" in wrong.message and wrong.hint
    words = checks.check_bert_base_rate(0.3, lambda: "high", *args)
    assert not words.passed and "one number" in words.message
    assert not checks.check_bert_base_rate(0.3, _placeholder, *args).attempted
    assert not checks.check_bert_base_rate(None, lambda: 0.3, *args).attempted


def test_single_token_answers_check(solutions, course) -> None:  # type: ignore[no-untyped-def]
    from bertlab import finetuning as ft
    from bertlab.tinyworld.corpus import generate_corpus

    _, tokenizer = course
    questions = ft.encode_questions(tokenizer, generate_corpus(60, seed=11).qa_examples()[:80],
                                    max_length=32)  # short: some answers are truncated away
    assert not all(questions.answer_in_window)
    share = solutions.single_token_share(questions)
    assert 0.1 < share < 0.9  # both kinds of answer occur, so the wrong readings differ

    right = checks.check_single_token_answers(0.5, lambda: share, questions)
    assert right.passed and "single token" in right.message
    several = checks.check_single_token_answers(0.5, lambda: 1 - share, questions)
    assert not several.passed and "several tokens" in several.message

    def with_truncated() -> float:  # counts the answers cut away, which point at [CLS]
        starts, ends = questions.features["start_positions"], questions.features["end_positions"]
        return sum(s == e for s, e in zip(starts, ends, strict=True)) / len(questions)

    truncated = checks.check_single_token_answers(0.5, with_truncated, questions)
    assert not truncated.passed and "[CLS]" in truncated.message and truncated.hint
    assert not checks.check_single_token_answers(0.5, _placeholder, questions).attempted
    assert not checks.check_single_token_answers(None, lambda: share, questions).attempted


def test_one_class_check(solutions, course, reviews) -> None:  # type: ignore[no-untyped-def]
    model_dir, _ = course
    train, validation, test = reviews
    settings = _sentiment_settings()
    args = (model_dir, train, validation, test, settings)
    share = solutions.positive_share(*args)

    right = checks.check_one_class(0.5, lambda: share, *args)
    assert right.passed
    negative = checks.check_one_class(0.5, lambda: 1 - share, *args)
    assert not negative.passed and "negative" in negative.message

    def accuracy() -> float:  # the accuracy, not the share called positive
        from bertlab import finetuning as ft
        from bertlab.environment import set_seed
        from bertlab.model import BertConfig, BertForSequenceClassification

        set_seed(settings.seed)
        model = BertForSequenceClassification(BertConfig.from_pretrained(model_dir, num_labels=2))
        ft.fine_tune(model, train, validation, settings, progress=False)
        return test.evaluate(model)["accuracy"]

    scored = checks.check_one_class(0.5, accuracy, *args)
    assert not scored.passed and "accuracy" in scored.message
    assert not checks.check_one_class(0.5, _placeholder, *args).attempted
    assert not checks.check_one_class(None, lambda: share, *args).attempted


def test_quizzes_shown_in_both_parts() -> None:
    for key in ("06a", "06b"):
        notebook = next((ROOT / "notebooks").glob(f"{key}_*.ipynb")).read_text()
        assert f'QUIZZES[\\"{key}\\"]' in notebook
        assert len(checks.QUIZZES[key].questions) == 4
