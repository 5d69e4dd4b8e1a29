"""bertlab.finetuning: label alignment, offsets, metrics against hand-computed values, the loop."""

from __future__ import annotations

import math

import pytest
import torch

from bertlab import finetuning as ft
from bertlab.model import (
    IGNORE_INDEX,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from bertlab.tinyworld.corpus import QAExample, detokenize, generate_corpus, sentiment_split
from bertlab.tokenizer import BertTokenizer


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    return generate_corpus(150, seed=3)


@pytest.fixture(scope="module")
def tokenizer(world) -> BertTokenizer:  # type: ignore[no-untyped-def]
    # a small vocabulary, so many words split into several pieces
    return BertTokenizer.train(world.sentences(), 500)


@pytest.fixture
def tiny_config(small_config, tokenizer):  # type: ignore[no-untyped-def]
    """The shared small shape as one 2-head layer over this file's vocabulary, no dropout."""
    shape = dict(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                 num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                 hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return lambda **overrides: small_config(**{**shape, **overrides})


# --- label alignment -------------------------------------------------------------------------


def test_align_labels_first_piece_only() -> None:
    # [CLS] leo visit ##ed river ##gate ##s . [SEP] [PAD]
    word_ids = [None, 0, 1, 1, 2, 2, 2, 3, None, None]
    assert ft.align_labels_to_tokens(word_ids, [1, 0, 3, 0]) == [
        IGNORE_INDEX, 1, 0, IGNORE_INDEX, 3, IGNORE_INDEX, IGNORE_INDEX, 0, IGNORE_INDEX,
        IGNORE_INDEX,
    ]
    with pytest.raises(ValueError, match="no label"):
        ft.align_labels_to_tokens([None, 0, 1, None], [5])


def test_word_ids_from_offsets_follow_the_dataset_words() -> None:
    # the dataset keeps "U.S." as one word; the tokenizer splits it into u . s .
    text = "Leo visited the U.S. today"
    spans = [(0, 3), (4, 11), (12, 15), (16, 20), (21, 26)]
    offsets = [None, (0, 3), (4, 9), (9, 11), (12, 15), (16, 17), (17, 18), (18, 19), (19, 20),
               (21, 26), None]
    assert ft.word_ids_from_offsets(offsets, spans) == [None, 0, 1, 1, 2, 3, 3, 3, 3, 4, None]
    assert [text[a:b] for a, b in spans] == ["Leo", "visited", "the", "U.S.", "today"]
    with pytest.raises(ValueError, match="no word span"):
        ft.word_ids_from_offsets([(11, 12)], spans)  # the space between words


def test_entities_are_labelled_on_first_pieces(world, tokenizer) -> None:  # type: ignore[no-untyped-def]
    examples = world.ner_examples()[:60]
    data = ft.encode_entities(tokenizer, examples, max_length=64)
    split_words = 0
    for index, (words, tags) in enumerate(examples):
        labels = data.features["labels"][index]
        ids = data.word_ids[index]
        _, spans = detokenize(words)
        text, _ = detokenize(words)
        tokens = data.features["input_ids"][index]
        offsets = tokenizer.encode(text, max_length=64).offsets
        for word, (start, end) in enumerate(spans):
            positions = [i for i, w in enumerate(ids) if w == word]
            assert positions, f"word {words[word]!r} lost its tokens"
            first = positions[0]
            assert offsets[first][0] == start  # the first piece starts the word
            assert offsets[positions[-1]][1] == end  # and the last piece ends it
            assert labels[first] == ft.NER_LABELS.index(tags[word])
            assert all(labels[i] == IGNORE_INDEX for i in positions[1:])
            split_words += len(positions) > 1
        assert sum(label != IGNORE_INDEX for label in labels) == len(words)
        assert tokens[0] == tokenizer.cls_token_id
    assert split_words > 50  # the check above really met words of several pieces


def test_word_predictions_read_first_pieces_and_fill_truncated_words() -> None:
    word_ids = [None, 0, 0, 1, None]
    assert ft.word_predictions(word_ids, [9, 4, 5, 6, 9], n_words=3) == [4, 6, 0]


def test_answer_offsets_round_trip(world, tokenizer) -> None:  # type: ignore[no-untyped-def]
    examples = world.qa_examples()
    data = ft.encode_questions(tokenizer, examples, max_length=256)
    assert all(data.answer_in_window)
    for index, example in enumerate(examples):
        start = int(data.features["start_positions"][index])
        end = int(data.features["end_positions"][index])
        assert 0 < start <= end
        assert data.features["token_type_ids"][index][start] == 1  # inside the passage
        assert ft.span_text(example.context, data.offsets[index], start, end) == example.answer


def test_truncated_answers_point_at_cls(world, tokenizer) -> None:  # type: ignore[no-untyped-def]
    examples = world.qa_examples()[:80]
    data = ft.encode_questions(tokenizer, examples, max_length=40)
    cut = [i for i, inside in enumerate(data.answer_in_window) if not inside]
    kept = [i for i, inside in enumerate(data.answer_in_window) if inside]
    assert cut and kept
    for i in cut:
        assert data.features["start_positions"][i] == data.features["end_positions"][i] == 0
        offsets = [o for o, t in zip(data.offsets[i], data.features["token_type_ids"][i],
                                     strict=True) if t == 1 and o is not None]
        answer_end = examples[i].answer_start + len(examples[i].answer)
        assert offsets[-1][1] < answer_end  # the passage really stops before the answer ends
    for i in kept:
        s, e = int(data.features["start_positions"][i]), int(data.features["end_positions"][i])
        assert ft.span_text(examples[i].context, data.offsets[i], s, e) == examples[i].answer
    assert data.score([examples[i].answer for i in range(80)])["truncated"] == len(cut) / 80


def test_answer_token_span_by_hand() -> None:
    # [CLS] who ? [SEP] leo saw twelve swan ##s [SEP]; passage "Leo saw twelve swans"
    offsets = [None, (0, 3), (3, 4), None, (0, 3), (4, 7), (8, 14), (15, 19), (19, 20), None]
    types = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert ft.answer_token_span(offsets, types, 8, 20) == (6, 8)  # "twelve swans"
    assert ft.answer_token_span(offsets, types, 0, 3) == (4, 4)  # "Leo", not the question's "who"
    assert ft.answer_token_span(offsets[:7] + [None], types[:8], 8, 20) is None  # cut away
    with pytest.raises(ValueError, match="non-empty"):
        ft.answer_token_span(offsets, types, 5, 5)


def test_best_span_respects_order_passage_and_length() -> None:
    start = torch.tensor([9.0, 0.0, 1.0, 5.0, 0.0, 0.0])
    end = torch.tensor([9.0, 3.0, 0.0, 0.0, 2.0, 0.0])
    allowed = torch.tensor([False, True, True, True, True, True])
    # best unconstrained would be (0, 0) = [CLS], or (3, 1) = end before start
    assert ft.best_span(start, end, allowed)[:2] == (3, 4)
    assert ft.best_span(start, end, allowed)[2] == pytest.approx(7.0)
    assert ft.best_span(start, end, allowed, max_answer_tokens=1)[:2] == (3, 3)
    with pytest.raises(ValueError, match="truncated"):
        ft.best_span(start, end, torch.zeros(6, dtype=torch.bool))
    with pytest.raises(ValueError, match="of one length"):  # was broadcast over all 6 before
        ft.best_span(start, end, torch.ones(1, dtype=torch.bool))




# --- metrics ---------------------------------------------------------------------------------










# --- datasets --------------------------------------------------------------------------------


def test_select_cuts_every_field_alike(world, tokenizer) -> None:  # type: ignore[no-untyped-def]
    data = ft.encode_questions(tokenizer, world.qa_examples()[:20])
    part = data.select([5, 2])
    assert len(part) == 2
    assert part.examples == [data.examples[5], data.examples[2]]
    assert part.features["input_ids"][1] == data.features["input_ids"][2]
    assert part.passage_mask[0] == data.passage_mask[5]
    assert part.offsets[1] == data.offsets[2]
    with pytest.raises(IndexError):
        data.select([20])


def test_batches_are_padded_to_their_longest_example(world, tokenizer) -> None:  # type: ignore[no-untyped-def]
    data = ft.encode_entities(tokenizer, world.ner_examples()[:12], max_length=64)
    lengths = [len(ids) for ids in data.features["input_ids"]]
    assert len(set(lengths)) > 1, "the encodings are stored unpadded"
    rows = [3, 0, 7]
    batch = data.batch(rows)
    longest = max(lengths[i] for i in rows)
    assert batch["input_ids"].shape == batch["labels"].shape == (3, longest)
    for row, i in enumerate(rows):
        n = lengths[i]
        assert batch["input_ids"][row, :n].tolist() == data.features["input_ids"][i]
        assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (longest - n)
        assert (batch["input_ids"][row, n:] == tokenizer.pad_token_id).all()
        assert (batch["labels"][row, n:] == IGNORE_INDEX).all()
    qa = ft.encode_questions(tokenizer, world.qa_examples()[:5])
    assert qa.batch([0, 1])["start_positions"].tolist() == qa.features["start_positions"][:2]


def test_bad_inputs_raise_clear_errors(tokenizer, tiny_config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        ft.encode_entities(tokenizer, [(["Leo", "ran"], ["B-PER"])])
    with pytest.raises(ValueError, match="B-FOO"):
        ft.encode_entities(tokenizer, [(["Leo"], ["B-FOO"])])
    with pytest.raises(ValueError, match="not at character"):
        ft.encode_questions(tokenizer, [QAExample("Leo ran.", "Who ran?", "Leo", 3)])
    with pytest.raises(ValueError, match="label"):
        ft.encode_sentences(tokenizer, [("good", 2)])
    data = ft.encode_sentences(tokenizer, [("it was good", 1)])
    with pytest.raises(TypeError, match="BertForSequenceClassification"):
        ft.fine_tune(BertForTokenClassification(tiny_config()), data, progress=False)
    small = BertForSequenceClassification(tiny_config(vocab_size=10))
    with pytest.raises(ValueError, match="vocabulary"):
        data.evaluate(small)


# --- the training loop -----------------------------------------------------------------------


def keyword_task(tokenizer: BertTokenizer, n: int, seed: int) -> ft.SentenceClassificationData:
    """Label 1 iff the review says 'not': learnable from one token."""
    reviews = sentiment_split(n, 1, seed=seed).train
    return ft.encode_sentences(tokenizer, [(r.text, int(" not " in r.text)) for r in reviews])


def test_sentence_classifier_learns_and_is_reproducible(tokenizer, tiny_config) -> None:  # type: ignore[no-untyped-def]
    train, validation = keyword_task(tokenizer, 160, 1), keyword_task(tokenizer, 80, 2)
    settings = ft.TrainingSettings(epochs=6, batch_size=16, learning_rate=3e-3, patience=6)
    results, accuracies = [], []
    for _ in range(2):
        torch.manual_seed(0)
        model = BertForSequenceClassification(tiny_config())
        before = validation.evaluate(model)["accuracy"]
        results.append(ft.fine_tune(model, train, validation, settings, progress=False))
        accuracies.append(validation.evaluate(model)["accuracy"])
    assert accuracies[0] >= 0.95 > before + 0.2
    assert results[0].train_loss[-1] < results[0].train_loss[0] / 2
    assert results[0].train_loss == results[1].train_loss  # same seed, same numbers
    assert accuracies[0] == accuracies[1]
    assert results[0].best["accuracy"] == accuracies[0]  # the kept weights are the best epoch's


def test_token_classifier_learns_entities(world, tiny_config) -> None:  # type: ignore[no-untyped-def]
    tokenizer = BertTokenizer.train(world.sentences(), 1500)  # names as few pieces
    data = ft.encode_entities(tokenizer, world.ner_examples()[:260])
    train, validation = data.select(range(200)), data.select(range(200, 260))
    torch.manual_seed(0)
    model = BertForTokenClassification(tiny_config(vocab_size=tokenizer.vocab_size,
                                                   num_labels=len(ft.NER_LABELS)))
    before = validation.evaluate(model)["f1"]
    result = ft.fine_tune(model, train, validation,
                          ft.TrainingSettings(epochs=4, batch_size=8, learning_rate=3e-3),
                          progress=False)
    after = validation.evaluate(model)
    assert after["f1"] > max(0.45, before + 0.3)
    assert result.best["f1"] == after["f1"]


def test_early_stopping_keeps_the_best_epoch(tokenizer, tiny_config) -> None:  # type: ignore[no-untyped-def]
    train = keyword_task(tokenizer, 32, 3)
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_config())
    settings = ft.TrainingSettings(epochs=20, learning_rate=1e-9, patience=2)
    result = ft.fine_tune(model, train, train, settings, progress=False)
    # a learning rate this small changes nothing: epoch 1 stays best and 2 epochs later it stops
    assert result.best_epoch == 1 and result.stopped_early
    assert len(result.train_loss) == len(result.validation) == 3
    assert result.steps == 3 * math.ceil(32 / settings.batch_size)


def test_qa_predictions_are_passage_text(world, tokenizer, tiny_config) -> None:  # type: ignore[no-untyped-def]
    examples = world.qa_examples()[:12]
    data = ft.encode_questions(tokenizer, examples)
    torch.manual_seed(0)
    model = BertForQuestionAnswering(tiny_config())
    answers = data.predict(model)
    for answer, example in zip(answers, examples, strict=True):
        assert answer and answer in example.context
    scores = data.score([e.answer for e in examples])
    assert scores["exact_match"] == scores["f1"] == 1.0


# --- learning curve and widget ---------------------------------------------------------------


def test_learning_curve_runs_every_count_and_seed(tokenizer, tiny_config) -> None:  # type: ignore[no-untyped-def]
    split = sentiment_split(60, 30, seed=4)
    calls = []

    def make_model() -> BertForSequenceClassification:
        calls.append(1)
        return BertForSequenceClassification(tiny_config())

    curve = ft.learning_curve("tiny", make_model, tokenizer, split, [8, 16], [0, 1],
                              ft.TrainingSettings(epochs=1), validation_size=20, min_steps=2,
                              progress=False)
    assert len(calls) == 4 and curve.label_counts == [8, 16]
    assert all(len(curve.scores[n]) == 2 for n in (8, 16))
    for n, mean, std, low, high in curve.table():
        values = curve.scores[n]
        assert mean == pytest.approx(sum(values) / 2) and low <= mean <= high
        assert std == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    with pytest.raises(ValueError, match="exceed"):
        ft.learning_curve("x", make_model, tokenizer, split, [100], [0], ft.TrainingSettings(),
                          validation_size=20, progress=False)








