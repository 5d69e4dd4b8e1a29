"""TinyWorld must be deterministic, rich enough to learn from, and its labels must match text."""

from __future__ import annotations

import re

import pytest

from bertlab.tinyworld import lexicon
from bertlab.tinyworld.corpus import (
    DEFAULT_DOCUMENTS,
    PUNCTUATION,
    Sentence,
    TinyWorld,
    corpus_stats,
    detokenize,
    generate_corpus,
    read_bert_text,
    sentiment_split,
)


@pytest.fixture(scope="module")
def world() -> TinyWorld:
    return generate_corpus(DEFAULT_DOCUMENTS, seed=0)


def test_same_seed_same_corpus_different_seed_different() -> None:
    first = generate_corpus(300, seed=7)
    again = generate_corpus(300, seed=7)
    other = generate_corpus(300, seed=8)
    assert first.to_bert_text() == again.to_bert_text()
    assert first.to_bert_text() != other.to_bert_text()


def test_any_size() -> None:
    for n in (1, 17, 250):
        assert len(generate_corpus(n, seed=1).documents) == n


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="n_documents"):
        generate_corpus(0)
    with pytest.raises(ValueError, match="unknown document kinds"):
        generate_corpus(10, kinds=("poem",))


def test_default_corpus_is_rich(world: TinyWorld) -> None:
    stats = corpus_stats(world)
    assert stats.types >= 1500
    shapes = {s.shape for d in world.documents for s in d.sentences}
    assert len(shapes) >= 25
    for needed in ("relative_object", "relative_subject", "coordinated_subjects", "negation",
                   "question_yes_no", "fact_question", "because"):
        assert needed in shapes
    assert {d.kind for d in world.documents} == {"story", "review", "report"}
    assert all(len(d.sentences) >= 3 for d in world.documents)


def test_irregular_and_regular_inflection_occur(world: TinyWorld) -> None:
    words = {w for w, _ in corpus_stats(world).frequencies}
    for form in ("mice", "geese", "wolves", "ate", "eaten", "bought", "potatoes", "cherries",
                 "walked", "hurried", "dropped", "dancing", "sitting", "bigger", "happiest"):
        assert form in words, form


def test_sentences_are_well_formed(world: TinyWorld) -> None:
    for document in world.documents[:500]:
        for sentence in document.sentences:
            assert sentence.words[-1] in {".", "?", "!"}
            assert sentence.text[0].isupper()
            assert "  " not in sentence.text and " ." not in sentence.text


def test_entity_spans_are_the_entities(world: TinyWorld) -> None:
    names = set(lexicon.FEMALE_NAMES + lexicon.MALE_NAMES + lexicon.SURNAMES)
    venues = {word for pair in lexicon.VENUES for word in pair}
    checked = 0
    for document in world.documents:
        for sentence in document.sentences:
            for entity in sentence.entities:
                span = sentence.words[entity.start:entity.end]
                if entity.label == "PER":
                    assert all(word in names for word in span), span
                elif entity.label == "LOC":
                    assert span[0] in lexicon.TOWNS and len(span) == 1
                else:
                    assert entity.label == "ORG" and all(word in venues for word in span)
                checked += 1
            tags = sentence.bio_tags()
            assert len(tags) == len(sentence.words)
    assert checked > 1000


def test_verb_subject_positions_point_at_verbs_and_subjects(world: TinyWorld) -> None:
    pairs = world.verb_subject_pairs()
    assert len(pairs) > 10_000
    subjects_ok = {"he", "she", "it", "they", "i", "we"}
    for sentence, link in pairs[:5000]:
        verb, subject = sentence.words[link.verb], sentence.words[link.subject]
        assert verb not in PUNCTUATION and subject not in PUNCTUATION
        assert link.verb != link.subject
        assert subject.lower() in subjects_ok or subject[0].isupper() or subject.isalpha()


def test_agreement_across_relative_clause(world: TinyWorld) -> None:
    animals = {a.plural: a for a in lexicon.ANIMALS}
    singular = {a.name for a in lexicon.ANIMALS}
    seen = 0
    for document in world.documents:
        for sentence in document.sentences:
            if sentence.shape != "relative_object":
                continue
            copula_link = sentence.verb_subjects[-1]
            head = sentence.words[copula_link.subject]
            copula = sentence.words[copula_link.verb]
            if head in animals and head in singular:  # sheep, deer: either number
                assert copula in ("was", "were")
            elif head in singular:
                assert copula == "was"
            else:
                assert head in animals and copula == "were"
            seen += 1
    assert seen > 50


def test_animal_facts_respect_diet(world: TinyWorld) -> None:
    for document in world.documents:
        for first, second in zip(document.sentences, document.sentences[1:], strict=False):
            if first.shape != "fact_question":
                continue
            animal = next(a for a in lexicon.ANIMALS if a.plural == first.words[1])
            food_plural = first.words[3]
            eaten = {f.plural for f in lexicon.foods_for_diet(animal.diet)}
            assert (second.words[0] == "Yes") == (food_plural in eaten), (first.text, second.text)


def test_qa_answers_are_spans_of_their_context(world: TinyWorld) -> None:
    examples = world.qa_examples()
    assert len(examples) > 1000
    for example in examples:
        start = example.answer_start
        assert example.context[start:start + len(example.answer)] == example.answer
        assert example.question.endswith("?") and example.answer
    # questions are unique within a document
    for document in world.documents:
        questions = [q.question for q in document.questions]
        assert len(questions) == len(set(questions))


def test_who_questions_answer_with_a_name(world: TinyWorld) -> None:
    names = set(lexicon.FEMALE_NAMES + lexicon.MALE_NAMES)
    who = [q for q in world.qa_examples() if q.question.startswith("Who ")]
    assert who and all(q.answer in names for q in who)


def test_review_labels_follow_polarity_and_negation(world: TinyWorld) -> None:
    reviews = [d for d in world.documents if d.kind == "review"]
    assert {d.label for d in reviews} == {0, 1}
    for document in reviews:
        for sentence in document.sentences:
            words = [w.lower() for w in sentence.words]
            if sentence.shape not in ("review_dish", "review_staff"):
                continue
            adjective = words[-2]
            polarity = adjective in lexicon.POSITIVE
            assert polarity or adjective in lexicon.NEGATIVE
            negated = "not" in words
            assert (polarity != negated) == bool(document.label), sentence.text


def test_sentiment_split_holds_out_its_adjectives(world: TinyWorld) -> None:
    split = sentiment_split(600, 600, seed=0)
    assert not set(split.train_adjectives) & set(split.test_adjectives)
    train_words = {w for r in split.train for w in re.findall(r"[a-z]+", r.text.lower())}
    assert not train_words & set(split.test_adjectives)
    test_used = {a for r in split.test for a in r.adjectives}
    assert test_used <= set(split.test_adjectives) and len(test_used) > 10
    # the held-out adjectives do occur in the unlabeled pretraining text
    corpus_words = {w for w, _ in corpus_stats(world).frequencies}
    assert set(split.test_adjectives) <= corpus_words
    # labels agree with adjectives and negation, and both labels occur
    for review in split.train + split.test:
        sentences = re.split(r"(?<=\.) ", review.text)
        for sentence, adjective in zip(sentences, review.adjectives, strict=True):
            negated = " not " in sentence
            assert ((adjective in lexicon.POSITIVE) != negated) == bool(review.label)
    assert {r.label for r in split.test} == {0, 1}


def test_split_is_by_document(world: TinyWorld) -> None:
    train, test = world.split(0.1)
    assert len(train.documents) + len(test.documents) == len(world.documents)
    assert test.documents[0] is world.documents[len(train.documents)]


def test_bert_text_round_trip(world: TinyWorld) -> None:
    small = TinyWorld(world.documents[:50], world.seed)
    assert read_bert_text(small.to_bert_text()) == small.as_documents()


def test_reader_handles_blank_lines_whitespace_and_unicode(tmp_path) -> None:
    text = (
        "\n\n  Première phrase.  \nZweite Zeile — mit Ümlaut.\t\n"
        "   \n\n\n"
        "日本語の文です。\r\n"
        "😀 emoji line\n"
        "\n"
    )
    expected = [
        ["Première phrase.", "Zweite Zeile — mit Ümlaut."],
        ["日本語の文です。", "😀 emoji line"],
    ]
    assert read_bert_text(text) == expected
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    assert read_bert_text(path) == expected
    assert read_bert_text(str(path)) == expected
    assert read_bert_text(text.splitlines()) == expected
    assert read_bert_text("") == []
    with pytest.raises(TypeError):
        read_bert_text(42)  # type: ignore[arg-type]


def test_stats_count_what_they_say() -> None:
    stats = corpus_stats([["The cat sat.", "The cat ran!"], ["A dog."]])
    assert (stats.documents, stats.sentences, stats.tokens, stats.types) == (2, 3, 8, 6)
    assert stats.frequencies[0] == ("the", 2) or stats.frequencies[0] == ("cat", 2)
    ranks, freqs = stats.zipf()
    assert ranks[0] == 1 and freqs == sorted(freqs, reverse=True)


def test_detokenize_offsets() -> None:
    text, offsets = detokenize(["Anna", ",", "who", "ran", "."])
    assert text == "Anna, who ran."
    assert [text[a:b] for a, b in offsets] == ["Anna", ",", "who", "ran", "."]
    sentence = Sentence(("Hi", "Bob", "!"), "test")
    assert sentence.text == "Hi Bob!"
