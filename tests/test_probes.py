"""bertlab.probes: planted heads are found, baselines are what they say, probes read geometry."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from bertlab import probes
from bertlab.fill_in import fill_in_input
from bertlab.model import BertForSequenceClassification
from bertlab.pretraining import PretrainingDataset
from bertlab.tinyworld.corpus import sentiment_split
from bertlab.tinyworld.ngram import HELD_OUT, fill_in_benchmark
from bertlab.tokenizer import BertTokenizer

MAX_SEQ = 48  # the tiny model's positions


def test_positional_baselines():
    words = ("A", "sheep", "that", "lives", "in", "the", "meadow", "eats", "plums", ".")
    guesses = probes._positional_guesses(words, 7)
    assert guesses["nearest noun to the left"] == 6  # meadow: wrong across the clause
    assert guesses["first noun"] == 1 and guesses["1 to the left"] == 6
    assert guesses["first word"] == 0 and guesses["4 to the left"] == 3


def test_head_scores_match_a_planted_previous_word_head(world, monkeypatch, tiny_model):
    # a vocabulary with every word whole, so "one token to the left" is "one word to the left"
    tokenizer = BertTokenizer.train(world.sentences(), 5000)
    model = tiny_model(tokenizer.vocab_size)
    pairs = world.verb_subject_pairs()[:200]

    class Planted(torch.nn.Module):
        """The real encoder, except that layer 0 head 1 always looks one token to the left."""

        def __init__(self, bert):
            super().__init__()
            self.inner = bert

        def forward(self, input_ids, attention_mask=None, output_attentions=False):
            output = self.inner(input_ids, attention_mask, output_attentions=True)
            batch, _, seq, _ = output.attentions[0].shape
            previous = torch.zeros(batch, seq, seq)
            previous[:, torch.arange(1, seq), torch.arange(seq - 1)] = 1.0  # token i -> i - 1
            first = output.attentions[0].clone()
            first[:, 1] = previous
            output.attentions = (first, *output.attentions[1:])
            return output

    monkeypatch.setattr(model, "bert", Planted(model.bert))
    scores = probes.score_heads_on_subjects(model, tokenizer, pairs)
    assert scores.cases == len(pairs)
    assert scores.accuracy.shape == (2, 2)
    assert scores.accuracy[0, 1] == pytest.approx(scores.baselines["1 to the left"])
    name, value = scores.best_baseline()
    assert value == max(scores.baselines.values()) and value > 0.3
    counts = Counter(sentence.shape for sentence, _ in pairs)
    assert len(counts) > 5


def test_copy_head_scores_find_a_planted_copy_head_and_not_a_first_word_head(world, tiny_model):
    tokenizer = BertTokenizer.train(world.sentences(), 5000)
    model = tiny_model(tokenizer.vocab_size)
    train, blanks = fill_in_benchmark(world, n_blanks=600)
    documents = world.split(HELD_OUT)[1].as_documents()
    answer_of = {}
    for blank in blanks:
        ids, _, _, answer = fill_in_input(blank, documents[blank.document], tokenizer,
                                          model.config.max_position_embeddings)
        answer_of[tuple(ids)] = answer[0]

    class Planted(torch.nn.Module):
        """The real encoder, except that two heads of layer 1 are planted: head 0 looks back
        from each [MASK] at the last earlier copy of the hidden word, head 1 at the first word."""

        def __init__(self, bert):
            super().__init__()
            self.inner = bert

        def forward(self, input_ids, attention_mask, *args, **kwargs):
            output = self.inner(input_ids, attention_mask, *args, **kwargs)
            second = output.attentions[1].clone()  # (B, nh, T, T)
            second[:, 1] = 0.0
            second[:, 1, :, 1] = 1.0  # position 0 is [CLS]
            rows = zip(input_ids.tolist(), attention_mask.tolist(), strict=True)
            for row, (ids, mask) in enumerate(rows):
                ids = ids[:sum(mask)]
                where = ids.index(tokenizer.mask_token_id)
                copies = [j for j in range(where) if ids[j] == answer_of[tuple(ids)]]
                if copies:
                    second[row, 0, where] = 0.0
                    second[row, 0, where, copies[-1]] = 1.0
            output.attentions = (output.attentions[0], second)
            return output

    model.bert = Planted(model.bert)
    scores = probes.score_heads_on_copies(model, tokenizer, blanks, documents)
    assert scores.cases > 10 and scores.accuracy.shape == (2, 2)
    assert scores.accuracy[1, 0] == 1.0 and scores.best_head()[:2] == (1, 0)
    assert scores.accuracy[1, 1] == 0.0  # the first word is never the earlier mention scored
    assert 0 < scores.baselines["a random earlier word"] < 0.5
    with pytest.raises(ValueError, match="no blank"):
        probes.score_heads_on_copies(model, tokenizer, [b for b in blanks if b.answer == "the"],
                              documents)


def test_nsp_breakdown_sorts_negatives_by_the_kind_of_their_document(world, tokenizer, tiny_model):
    documents = world.as_documents()
    kinds = [d.kind for d in world.documents]
    data = PretrainingDataset.from_documents(documents[:200], tokenizer, MAX_SEQ, seed=0,
                                             dynamic=False)
    breakdown = probes.nsp_by_negative_kind(tiny_model(tokenizer.vocab_size), data, kinds)
    counts = breakdown.counts
    assert sum(counts.values()) == len(data) and min(counts.values()) > 0
    negatives = [p for p in data.pairs if p.is_random_next]
    same = sum(kinds[p.b_document] == kinds[p.document] for p in negatives)
    assert counts["same_kind"] == same and counts["other_kind"] == len(negatives) - same
    assert breakdown.kind_reader_ceiling == pytest.approx(
        (counts["is_next"] + counts["other_kind"]) / len(data))
    for value in (breakdown.is_next, breakdown.same_kind, breakdown.other_kind):
        assert 0.0 <= value <= 1.0


def test_polarity_probe_reads_the_embedding_geometry(small_config) -> None:
    from bertlab.tinyworld.lexicon import NEGATIVE, POSITIVE

    split = sentiment_split(4, 4, seed=0)
    words = sorted(POSITIVE + NEGATIVE)
    vocab = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])
    model = BertForSequenceClassification(small_config(vocab_size=vocab.vocab_size, hidden_size=32,
                                                        num_attention_heads=2))
    table = model.bert.embeddings.word_embeddings.weight  # (V, H)
    generator = torch.Generator().manual_seed(0)
    direction = torch.randn(table.shape[1], generator=generator)
    sign = torch.tensor([1.0 if w in POSITIVE else -1.0 for w in words])
    with torch.no_grad():  # positive adjectives along +direction, negative ones along -direction
        table.normal_(0, 0.05, generator=generator)
        table[5:] += sign[:, None] * direction
    assert probes.adjective_polarity_probe(model, vocab, split) == 1.0
    with torch.no_grad():  # flip the held-out adjectives: every one lands on the wrong side
        for word in split.test_adjectives:
            table[vocab.vocab[word]] *= -1
    assert probes.adjective_polarity_probe(model, vocab, split) == 0.0


def test_corpus_polarity_probe_counts_the_cues() -> None:
    from bertlab.tinyworld.lexicon import POSITIVE

    split = sentiment_split(4, 4, seed=0)
    adjectives = [*split.train_adjectives, *split.test_adjectives]

    def documents(flip_held_out: bool) -> list[list[str]]:
        docs = []
        for word in adjectives:
            positive = (word in POSITIVE) != (flip_held_out and word in split.test_adjectives)
            for negated in (False, True):  # 'not ADJ' flips the review's verdict
                verdict = positive != negated
                closing = "We will come back soon." if verdict else "We will never return."
                docs.append([f"The stew was {'not ' if negated else ''}{word}.", closing])
        return docs

    assert probes.corpus_polarity_probe(documents(False), split) == 1.0
    assert probes.corpus_polarity_probe(documents(True), split) == 0.0
    with pytest.raises(ValueError, match="never uses"):
        probes.corpus_polarity_probe([["The stew was tasty.", "Yes."]], split)


# ---------------------------------------------------------------- chapter 07's additions


def _story(*sentences):  # type: ignore[no-untyped-def]
    from bertlab.tinyworld.corpus import Document, Entity, Sentence

    built = []
    for words, people in sentences:
        built.append(Sentence(tuple(words), "test", tuple(Entity(i, j, "PER") for i, j in people)))
    return Document("story", built)


def test_pronoun_links_follow_gender_to_the_named_people(tokenizer):
    document = _story((["Mia", "Stone", "lived", "in", "town", "."], [(0, 2)]),
                      (["Tom", "met", "her", "."], [(0, 1)]),
                      (["He", "smiled", "at", "Mia", "."], [(3, 4)]))
    window = probes.document_window(document, tokenizer, 48)
    links = probes.pronoun_links(window)
    assert [window.words[link.pronoun] for link in links] == ["her", "He"]
    her, he = links
    assert [window.words[i] for i in her.mentions] == ["Mia", "Stone"]
    assert her.refers_to_first_named and not he.refers_to_first_named
    assert [window.words[i] for i in he.mentions] == ["Tom"]


def test_document_window_keeps_whole_sentences_that_fit(world, tokenizer):
    document = max(world.documents, key=lambda d: len(d.sentences))
    window = probes.document_window(document, tokenizer, 30)
    assert len(window.ids) <= 30 and window.ids[0] == tokenizer.cls_token_id
    assert window.ids[-1] == tokenizer.sep_token_id
    kept = [w for s in window.sentences for w in s.words]
    assert window.words == kept[:len(window.words)]
    for word, (start, end) in zip(window.words, window.spans, strict=True):
        assert window.ids[start:end] == tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))


def test_referent_scores_are_shares_with_their_baselines(world, tokenizer, tiny_model):
    model = tiny_model(tokenizer.vocab_size)
    scores = probes.score_heads_on_referents(model, tokenizer, world.documents)
    assert scores.cases > 20 and scores.accuracy.shape == (2, 2)
    assert ((0 <= scores.accuracy) & (scores.accuracy <= 1)).all()
    assert {"nearest name to the left", "first name", "a random earlier word"} <= set(
        scores.baselines)
    with pytest.raises(ValueError, match="no story"):
        probes.score_heads_on_referents(model, tokenizer,
                                        [d for d in world.documents if d.kind != "story"])


def test_removing_a_head_equals_zeroing_its_value_slice(tokenizer, tiny_model):
    model = tiny_model(tokenizer.vocab_size).eval()
    ids = torch.tensor([tokenizer.encode("Mia had a dog. She fed it.").input_ids])
    with torch.no_grad():
        before = model(ids).prediction_logits
        with probes.heads_ablated(model, [(1, 0)]):
            ablated = model(ids).prediction_logits
        after = model(ids).prediction_logits
        size = model.config.head_size
        value = model.bert.encoder.layers[1].attention.value
        value.weight[:size] = 0.0  # head 0's values are zero, so its output is zero
        value.bias[:size] = 0.0
        zeroed = model(ids).prediction_logits
    torch.testing.assert_close(ablated, zeroed, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(before, ablated)
    torch.testing.assert_close(after, before)  # the hook is gone after the block
    with pytest.raises(ValueError, match="no head"):
        with probes.heads_ablated(model, [(2, 0)]):
            pass


def test_head_importance_rescores_with_each_head_removed(world, tokenizer, tiny_model):
    model = tiny_model(tokenizer.vocab_size)
    _, blanks = fill_in_benchmark(world, n_blanks=40)
    documents = world.split(HELD_OUT)[1].as_documents()
    importance = probes.head_importance(model, tokenizer, blanks, documents)
    assert importance.ablated["overall"].shape == (2, 2) and importance.counts["overall"] == 40
    with probes.heads_ablated(model, [(0, 1)]):
        expected = probes.fill_in_accuracy(model, tokenizer, blanks, documents).accuracy
    assert importance.ablated["overall"][0, 1] == expected
    assert importance.drop()[0, 1] == importance.full["overall"] - expected


def test_referent_scores_find_a_planted_nearest_name_head(world, tiny_model):
    from bertlab.tinyworld.lexicon import FEMALE_NAMES, MALE_NAMES, SURNAMES

    tokenizer = BertTokenizer.train(world.sentences(), 5000)  # every word one piece
    model = tiny_model(tokenizer.vocab_size)
    name_ids = set(tokenizer.convert_tokens_to_ids(
        [n.lower() for n in FEMALE_NAMES + MALE_NAMES + SURNAMES]))

    class Planted(torch.nn.Module):
        """The real encoder, except that layer 1 head 1 looks from every token at the nearest
        earlier name, and layer 0 head 0 at the token two before it."""

        def __init__(self, bert):
            super().__init__()
            self.inner = bert

        def forward(self, input_ids, attention_mask=None, *args, **kwargs):
            output = self.inner(input_ids, attention_mask, *args, **kwargs)
            second = output.attentions[1].clone()
            second[:, 1] = 0.0
            first = output.attentions[0].clone()
            first[:, 0] = torch.diag(torch.ones(input_ids.shape[1] - 2), -2)  # i -> i - 2
            for row, ids in enumerate(input_ids.tolist()):
                last = 0
                for i, token in enumerate(ids):
                    second[row, 1, i, last] = 1.0
                    if token in name_ids:
                        last = i
            output.attentions = (first, second)
            return output

    model.bert = Planted(model.bert)
    scores = probes.score_heads_on_referents(model, tokenizer, world.documents)
    assert scores.accuracy[1, 1] == pytest.approx(scores.baselines["nearest name to the left"],
                                                  abs=0.02)
    assert scores.accuracy[1, 1] > 0.6
    assert scores.accuracy[0, 0] == pytest.approx(scores.baselines["2 to the left"])
    assert scores.baselines["2 to the left"] > 0
