"""bertlab.fill_in: chapter 00's blanks as a BERT reads them, and how its guesses are scored."""

from __future__ import annotations

import pytest
import torch

from bertlab.fill_in import FillInResult, FillInTask, fill_in_accuracy, fill_in_input, word_class
from bertlab.model import BertConfig, BertForPreTraining
from bertlab.tinyworld.corpus import generate_corpus
from bertlab.tinyworld.ngram import HELD_OUT, Blank, fill_in_benchmark
from bertlab.tokenizer import BertTokenizer


@pytest.fixture(scope="module")
def world():
    return generate_corpus(160, seed=5)


@pytest.fixture(scope="module")
def tokenizer(world):
    return BertTokenizer.train(world.sentences(), 600)


def test_fill_in_input_masks_the_word_in_its_context(world, tokenizer):
    documents = world.as_documents()
    words = ("the", "dog", "ate", "an", "apple", ".")
    blank = Blank(words, 4, "apple", 0, 1)
    document = ["Sam lived in Oakton.", "The dog ate an apple.", "It was happy."]
    ids, types, positions, answer = fill_in_input(blank, document, tokenizer, 64)
    assert answer == tokenizer.convert_tokens_to_ids(tokenizer.tokenize("apple"))
    assert [ids[p] for p in positions] == [tokenizer.mask_token_id] * len(answer)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2 and tokens[-1] == "[SEP]"
    first_sep = tokens.index("[SEP]")
    # segment A is the sentence before; the blank's sentence starts segment B
    assert tokenizer.decode(ids[1:first_sep]) == "sam lived in oakton."
    assert types == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)
    assert positions[0] > first_sep
    # a tight budget keeps the blank's sentence and drops context
    ids, types, positions, _ = fill_in_input(blank, document, tokenizer, 12)
    assert len(ids) <= 12 and [ids[p] for p in positions] == [tokenizer.mask_token_id] * len(
        answer)
    assert len(documents) > 0


def test_fill_in_result_counts_exact_words():
    blanks = [Blank(("a", "dog", "ran"), 1, "dog", 0, 0), Blank(("mia", "ran"), 0, "mia", 0, 1),
              Blank(("it", "ran"), 1, "ran", 0, 2)]
    result = FillInResult(blanks, ["dog", "mia", "sat"])
    assert result.hits == 2 and result.accuracy == pytest.approx(2 / 3)
    classes = result.by_class()
    assert classes["animal"] == (1, 1.0) and classes["verb"] == (1, 0.0)
    assert word_class("Mia") == "name" and word_class("the") == "function word"


def test_fill_in_accuracy_guesses_the_best_ordinary_pieces_in_context(world, tokenizer):
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,
                                          num_hidden_layers=2, num_attention_heads=2,
                                          intermediate_size=64, max_position_embeddings=48))
    _, blanks = fill_in_benchmark(world, n_blanks=40)
    documents = world.split(HELD_OUT)[1].as_documents()
    result = fill_in_accuracy(model, tokenizer, blanks, documents, batch_size=16)
    assert len(result.predictions) == len(blanks) and model.training
    special = sorted(tokenizer.special_ids)
    for blank, prediction in list(zip(blanks, result.predictions, strict=True))[:10]:
        ids, types, positions, _ = fill_in_input(blank, documents[blank.document], tokenizer, 48)
        with torch.no_grad():  # one blank alone, no padding: the plain path by hand
            logits = model.eval()(torch.tensor([ids]), token_type_ids=torch.tensor([types]))
        model.train()
        scores = logits.prediction_logits[0, positions]  # (pieces, V)
        scores[:, special] = float("-inf")
        pieces = tokenizer.convert_ids_to_tokens(scores.argmax(-1).tolist())
        assert prediction == pieces[0] + "".join(p.removeprefix("##") for p in pieces[1:])
    scores = FillInTask(tokenizer, blanks, documents)(model)
    assert scores["overall"] == result.accuracy
    assert {kind: accuracy for kind, (_, accuracy) in result.by_class().items()} == \
        {kind: value for kind, value in scores.items() if kind != "overall"}


def test_one_segment_input_holds_the_same_context_without_segment_b(tokenizer):
    """A model pretrained without NSP (RoBERTa's recipe) never saw segment B or its type id."""
    blank = Blank(("the", "dog", "ate", "an", "apple", "."), 4, "apple", 0, 1)
    document = ["Sam lived in Oakton.", "The dog ate an apple.", "It was happy."]
    pair = fill_in_input(blank, document, tokenizer, 64)
    ids, types, positions, answer = fill_in_input(blank, document, tokenizer, 64,
                                                  one_segment=True)
    assert types == [0] * len(ids)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 1 and tokens[-1] == "[SEP]"
    # the same sentences, in order: only the middle [SEP] is gone
    assert [t for t in pair[0] if t != tokenizer.sep_token_id] == ids[:-1]
    assert [ids[p] for p in positions] == [tokenizer.mask_token_id] * len(answer)
    assert answer == pair[3]
