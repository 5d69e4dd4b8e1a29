"""TinyWorld: the course's embedded corpus, generated from a seed in seconds, in any size.

A real pretraining corpus cannot ship with a course that must work offline, and real text carries
no ground truth about what a model should have learned. TinyWorld is a small world of people,
animals, places, foods and things, told as short coherent documents (stories, reviews, reports),
whose generator records what real text never tells us: review sentiment, entity spans, question /
answer spans, and for every verb the position of its subject.

Masked-word prediction in TinyWorld needs syntax (agreement across relative clauses), semantics
(which animals eat what, who can cook) and discourse (pronoun gender, the same characters across a
document), so a model that reads the whole context beats counting n-grams. Real text in the BERT
pretraining format (one sentence per line, a blank line between documents) is read by
`read_bert_text` and yields the same `list[list[str]]` that `TinyWorld.as_documents` does.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bertlab.tinyworld import lexicon as lx
from bertlab.tinyworld.lexicon import Animal, Food

DEFAULT_DOCUMENTS = 6000
DEFAULT_SEED = 0
DOCUMENT_KINDS = ("story", "review", "report")
KIND_WEIGHTS = (0.5, 0.25, 0.25)
PUNCTUATION = frozenset({".", ",", "?", "!"})
ENTITY_LABELS = ("PER", "LOC", "ORG")

# ----------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class Entity:
    """A named entity as a word span [start, end) of its sentence, with its type."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class VerbSubject:
    """A verb and the head word of its grammatical subject, as word indices of its sentence."""

    verb: int
    subject: int


def detokenize(words: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join words into text (no space before punctuation) and return each word's char span."""
    pieces: list[str] = []
    offsets: list[tuple[int, int]] = []
    position = 0
    for index, word in enumerate(words):
        if index > 0 and word not in PUNCTUATION:
            pieces.append(" ")
            position += 1
        offsets.append((position, position + len(word)))
        pieces.append(word)
        position += len(word)
    return "".join(pieces), offsets


@dataclass(frozen=True)
class Sentence:
    """One generated sentence: its words and the ground truth the generator knows about it."""

    words: tuple[str, ...]
    shape: str
    entities: tuple[Entity, ...] = ()
    verb_subjects: tuple[VerbSubject, ...] = ()

    @property
    def text(self) -> str:
        """The sentence as a reader sees it."""
        return detokenize(self.words)[0]

    @property
    def offsets(self) -> list[tuple[int, int]]:
        """Character span of every word in `text`."""
        return detokenize(self.words)[1]

    def bio_tags(self) -> list[str]:
        """One BIO tag per word (B-PER, I-ORG, O, ...), for token classification."""
        tags = ["O"] * len(self.words)
        for entity in self.entities:
            tags[entity.start] = f"B-{entity.label}"
            for index in range(entity.start + 1, entity.end):
                tags[index] = f"I-{entity.label}"
        return tags


@dataclass(frozen=True)
class QAExample:
    """An extractive question: the answer is `context[answer_start:answer_start+len(answer)]`."""

    context: str
    question: str
    answer: str
    answer_start: int


@dataclass
class Document:
    """A coherent multi-sentence document of one kind; reviews carry a sentiment label."""

    kind: str
    sentences: list[Sentence]
    label: int | None = None  # reviews: 1 positive, 0 negative
    questions: list[QAExample] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The whole document as one paragraph."""
        return " ".join(sentence.text for sentence in self.sentences)

    def sentence_starts(self) -> list[int]:
        """Character offset in `text` where each sentence begins."""
        starts, position = [], 0
        for sentence in self.sentences:
            starts.append(position)
            position += len(sentence.text) + 1
        return starts


@dataclass(frozen=True)
class LabeledReview:
    """A short review whose only sentiment cues are its adjectives and negation."""

    text: str
    label: int
    adjectives: tuple[str, ...]


@dataclass(frozen=True)
class SentimentSplit:
    """Labeled reviews for a transfer test: test adjectives never occur in the train reviews."""

    train: list[LabeledReview]
    test: list[LabeledReview]
    train_adjectives: tuple[str, ...]
    test_adjectives: tuple[str, ...]


# ----------------------------------------------------------------------------- sentence building


@dataclass(frozen=True)
class Mention:
    """A noun phrase: its words, which word is the head, number, and an optional entity span."""

    words: tuple[str, ...]
    head: int
    plural: bool = False
    entity: str | None = None
    entity_span: tuple[int, int] = (0, 0)


def _noun(*words: str, plural: bool = False) -> Mention:
    return Mention(tuple(words), len(words) - 1, plural)


def _name(name: str) -> Mention:
    return Mention((name,), 0, False, "PER", (0, 1))


def _full_name(first: str, surname: str) -> Mention:
    return Mention((first, surname), 1, False, "PER", (0, 2))


def _town(town: str) -> Mention:
    return Mention((town,), 0, False, "LOC", (0, 1))


def _venue(venue: tuple[str, str]) -> Mention:
    return Mention(("the", *venue), 2, False, "ORG", (1, 3))


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


class _Builder:
    """Accumulates words of one sentence with their entities and verb→subject links."""

    def __init__(self, shape: str) -> None:
        self.shape = shape
        self.words: list[str] = []
        self.entities: list[Entity] = []
        self.links: list[VerbSubject] = []

    def add(self, *words: str) -> int:
        """Append words; return the index of the last one."""
        self.words.extend(words)
        return len(self.words) - 1

    def mention(self, mention: Mention) -> int:
        """Append a noun phrase; return the index of its head word."""
        start = len(self.words)
        self.words.extend(mention.words)
        if mention.entity:
            first, last = mention.entity_span
            self.entities.append(Entity(start + first, start + last, mention.entity))
        return start + mention.head

    def link(self, verb: int, subject: int) -> None:
        """Record that the word at `subject` is the subject of the verb at `verb`."""
        self.links.append(VerbSubject(verb, subject))

    def span_since(self, start: int) -> tuple[int, int]:
        """The word span from `start` to the current end."""
        return start, len(self.words)

    def done(self, mark: str = ".") -> Sentence:
        """Close the sentence with punctuation and a capital first letter."""
        self.words.append(mark)
        first = self.words[0]
        self.words[0] = first[:1].upper() + first[1:]
        return Sentence(tuple(self.words), self.shape, tuple(self.entities), tuple(self.links))


# ----------------------------------------------------------------------------- characters


@dataclass(frozen=True)
class Character:
    """A person in a story: name, surname and the pronouns that refer back to them."""

    name: str
    surname: str
    female: bool

    @property
    def subject(self) -> str:
        return "she" if self.female else "he"

    @property
    def object(self) -> str:
        return "her" if self.female else "him"

    @property
    def possessive(self) -> str:
        return "her" if self.female else "his"


def _character(rng: random.Random, female: bool, avoid: str = "") -> Character:
    names = lx.FEMALE_NAMES if female else lx.MALE_NAMES
    name = rng.choice([n for n in names if n != avoid])
    return Character(name, rng.choice(lx.SURNAMES), female)


def _food_phrase(rng: random.Random, food: Food, plural: bool | None = None) -> tuple[str, ...]:
    """'an apple', 'the soup', 'apples', 'some rice' — a food as an object noun phrase."""
    if not food.countable:
        return (rng.choice(["the", "some"]), food.name)
    if plural is None:
        plural = rng.random() < 0.4
    if plural:
        return (food.plural,) if rng.random() < 0.5 else ("the", food.plural)
    return (rng.choice([_article(food.name), "the"]), food.name)


_QA = tuple[str, tuple[int, int]]  # question, answer word span in the same sentence


class _Story:
    """The state of one story: who is in it, where, with which pet; who spoke last."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        female = rng.random() < 0.5
        self.hero = _character(rng, female)
        self.friend = _character(rng, not female)
        self.town = rng.choice(lx.TOWNS)
        self.other_town = rng.choice([t for t in lx.TOWNS if t != self.town])
        self.pet: Animal = lx.ANIMAL_BY_NAME[rng.choice(lx.PETS)]
        self.last_subject: Character | None = None

    def person(self) -> Character:
        """The hero most of the time, sometimes the friend."""
        return self.hero if self.rng.random() < 0.7 else self.friend

    def refer(self, who: Character) -> Mention:
        """A name, or a pronoun when the person was the last subject (so it is unambiguous)."""
        if who is self.last_subject and self.rng.random() < 0.6:
            return _noun(who.subject)
        return _name(who.name)

    def pet_mention(self, owner: Character) -> Mention:
        return _noun(owner.possessive, self.pet.name)


def _subject(b: _Builder, story: _Story, who: Character) -> tuple[int, bool]:
    """Write a person as subject; return the head index and whether a name was used."""
    mention = story.refer(who)
    story.last_subject = who
    return b.mention(mention), mention.entity == "PER"


def _story_lived(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    b = _Builder("intro_lived")
    hero = story.hero
    subject = b.mention(_full_name(hero.name, hero.surname) if story.rng.random() < 0.5
                        else _name(hero.name))
    story.last_subject = hero
    verb = b.add("lived")
    b.link(verb, subject)
    b.add("in")
    town = b.mention(_town(story.town))
    return [(b.done(), [(f"Where did {hero.name} live?", (town, town + 1))])]


def _story_role(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    b = _Builder("intro_role")
    who = story.person()
    subject, _ = _subject(b, story, who)
    verb = b.add("was")
    b.link(verb, subject)
    role = story.rng.choice(lx.ROLES)
    start = b.add(_article(role), role) - 1
    b.add("in")
    b.mention(_town(story.town))
    return [(b.done(), [(f"What was {who.name}?", (start, start + 2))])]


def _story_pet(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("pet_intro")
    subject, _ = _subject(b, story, story.hero)
    verb = b.add("had")
    b.link(verb, subject)
    adjective = rng.choice(lx.DESCRIPTIVE + lx.COLORS)
    head = b.add(_article(adjective), adjective, story.pet.name)
    question = f"What animal did {story.hero.name} have?"
    return [(b.done(), [(question, (head, head + 1))])]


def _story_went(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("went_place")
    who = story.person()
    subject, _ = _subject(b, story, who)
    verb = b.add(rng.choice([lx.GO.past, "walked", "hurried", "drove", "cycled"]))
    b.link(verb, subject)
    place = rng.choice(lx.PLACES)
    head = b.add("to", "the", place)
    if rng.random() < 0.4:
        b.add("with")
        b.mention(story.pet_mention(who))
    return [(b.done(), [(f"Where did {who.name} go?", (head - 1, head + 1))])]


def _story_purpose(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("went_purpose")
    who = story.person()
    subject, _ = _subject(b, story, who)
    verb = b.add(lx.GO.past)
    b.link(verb, subject)
    b.add("to", "the", rng.choice(["market", "shop", "bakery", "farm", "orchard"]))
    start = b.add("to", "buy") - 1
    food = rng.choice(lx.foods_for_people())
    b.add(food.plural if food.countable else "some", *(() if food.countable else (food.name,)))
    qa = [
        (f"Why did {who.name} go there?", (start, len(b.words))),
        (f"What did {who.name} buy?", (start + 2, len(b.words))),
    ]
    return [(b.done(), qa)]


def _story_ate(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("ate")
    if rng.random() < 0.35:
        subject = b.mention(story.pet_mention(story.hero))
        food = rng.choice(lx.foods_for_diet(story.pet.diet))
        question = ""  # questions about a pet would need a possessive; ask only about people
    else:
        who = story.person()
        subject, _ = _subject(b, story, who)
        food = rng.choice(lx.foods_for_people())
        question = f"What did {who.name} eat?"
    verb = b.add(lx.EAT.past)
    b.link(verb, subject)
    start = len(b.words)
    b.add(*_food_phrase(rng, food))
    return [(b.done(), [(question, (start, len(b.words)))] if question else [])]


def _story_cooked(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("cooked")
    who = story.person()
    other = story.friend if who is story.hero else story.hero
    subject, named = _subject(b, story, who)
    food = rng.choice([f for f in lx.FOODS if f.prepare])
    verb_form = rng.choice(lx.BAKE_VERBS if food.prepare == "bake" else lx.COOK_VERBS)
    verb = b.add(verb_form.past)
    b.link(verb, subject)
    start = len(b.words)
    b.add(*_food_phrase(rng, food))
    end = len(b.words)
    b.add("for")
    b.mention(_name(other.name))
    qa = [(f"What did {who.name} {verb_form.base} for {other.name}?", (start, end))]
    if named:
        qa.append((f"Who {verb_form.past} for {other.name}?", (subject, subject + 1)))
    return [(b.done(), qa)]


def _story_cook_and_eat(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("cook_and_eat")
    who = story.person()
    subject, _ = _subject(b, story, who)
    food = rng.choice([f for f in lx.FOODS if f.prepare == "cook"])
    plural = food.countable and rng.random() < 0.5
    verb = b.add(rng.choice(lx.COOK_VERBS).past)
    b.link(verb, subject)
    b.add("the", food.plural if plural else food.name, "and")
    second = b.add(lx.EAT.past)
    b.link(second, subject)
    b.add("them" if plural else "it")
    return [(b.done(), [])]


def _story_gave(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("gave")
    who = story.person()
    other = story.friend if who is story.hero else story.hero
    subject, named = _subject(b, story, who)
    verb = b.add("gave")
    b.link(verb, subject)
    b.mention(_name(other.name))
    thing = rng.choice(lx.THINGS)[0]
    start = len(b.words)
    b.add(_article(thing), thing)
    qa = [(f"What did {who.name} give {other.name}?", (start, start + 2))]
    if named:
        qa.append((f"Who gave {other.name} {_article(thing)} {thing}?", (subject, subject + 1)))
    return [(b.done(), qa)]


def _story_negation(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("negation")
    who = story.person()
    subject, _ = _subject(b, story, who)
    b.add("did", "not")
    verb = b.add(rng.choice(["like", "want", "eat", "finish"]))
    b.link(verb, subject)
    food = rng.choice(lx.foods_for_people())
    b.add("the", food.name)
    return [(b.done(), [])]


def _story_relative_object(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("relative_object")
    animal = rng.choice(lx.ANIMALS)
    plural = rng.random() < 0.5
    head = b.add("the", animal.plural if plural else animal.name)
    b.add("that")
    who = story.person()
    inner = b.mention(_name(who.name))
    verb = b.add(rng.choice(["fed", "saw", "found", "chased", "liked", "helped"]))
    b.link(verb, inner)
    copula = b.add("were" if plural else "was")
    b.link(copula, head)
    b.add(rng.choice(lx.EMOTIONS))
    return [(b.done(), [])]


def _story_relative_subject(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    b = _Builder("relative_subject")
    friend, hero = story.friend, story.hero
    subject = b.mention(_name(friend.name))
    b.add(",", "who")
    lived = b.add("lived")
    b.link(lived, subject)
    b.add("in")
    town = b.mention(_town(story.other_town))
    b.add(",")
    verb = b.add("visited")
    b.link(verb, subject)
    b.mention(_name(hero.name))
    story.last_subject = friend
    qa = [
        (f"Who visited {hero.name}?", (subject, subject + 1)),
        (f"Where did {friend.name} live?", (town, town + 1)),
    ]
    return [(b.done(), qa)]


def _story_coordination(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("coordinated_subjects")
    first = b.mention(_name(story.hero.name))
    b.add("and")
    b.mention(_name(story.friend.name))
    verb = b.add(rng.choice(["walked", "ran", "drove", "went", "cycled"]))
    b.link(verb, first)
    b.add("to", "the", rng.choice(lx.PLACES), "together")
    story.last_subject = None
    return [(b.done(), [])]


def _story_because(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("because")
    who = story.person()
    subject, _ = _subject(b, story, who)
    copula = b.add("was")
    b.link(copula, subject)
    sad = rng.random() < 0.5
    b.add(rng.choice(["sad", "upset", "worried", "angry"]) if sad else
          rng.choice(["happy", "glad", "proud", "excited"]))
    start = b.add("because")
    pronoun = b.add(who.subject)
    verb = b.add("lost" if sad else "found")
    b.link(verb, pronoun)
    thing = rng.choice(lx.THINGS)[0]
    b.add(who.possessive, thing)
    qa = [(f"Why was {who.name} {b.words[copula + 1]}?", (start, len(b.words)))]
    return [(b.done(), qa)]


def _story_when(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("when_clause")
    who = story.hero
    b.add("when")
    subject, _ = _subject(b, story, who)
    verb = b.add(rng.choice(["came", "got", "went"]), "home")
    b.link(verb - 1, subject)
    b.add(",")
    pet = b.mention(story.pet_mention(who))
    sound = b.add(lx.ANIMAL_SOUNDS[story.pet.sound].past)
    b.link(sound, pet)
    return [(b.done(), [])]


def _story_saw(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("saw")
    who = story.person()
    subject, _ = _subject(b, story, who)
    base = rng.choice(["see", "watch", "hear", "notice"])
    verb = b.add({"see": "saw", "watch": "watched", "hear": "heard", "notice": "noticed"}[base])
    b.link(verb, subject)
    animal = rng.choice(lx.ANIMALS)
    start = len(b.words)
    if rng.random() < 0.5:
        b.add(_article(animal.name), animal.name)
    else:
        b.add(rng.choice(lx.NUMBERS), animal.plural)
    end = len(b.words)
    place = rng.choice(lx.PLACES)
    b.add("near", "the", place)
    return [(b.done(), [(f"What did {who.name} {base} near the {place}?", (start, end))])]


def _story_lost_and_found(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    who = story.person()
    thing = rng.choice(lx.THINGS)[0]
    lost = _Builder("lost")
    subject, _ = _subject(lost, story, who)
    verb = lost.add("lost")
    lost.link(verb, subject)
    lost.add(who.possessive, thing)
    q = _Builder("question_where")
    copula = q.add("where", "was")
    pronoun = q.add("it")
    q.link(copula - 1, pronoun)
    a = _Builder("answer_it")
    pronoun = a.add("it")
    copula = a.add("was")
    a.link(copula, pronoun)
    place = a.add(rng.choice(["under", "behind", "on", "near"]), "the", rng.choice(lx.FURNITURE))
    b = _Builder("found")
    subject, _ = _subject(b, story, who)
    verb = b.add("found")
    b.link(verb, subject)
    b.add("it", "at", "last")
    qa = [(f"Where did {who.name} find the {thing}?", (place - 2, place + 1))]
    return [(lost.done(), []), (q.done("?"), []), (a.done(), qa), (b.done(), [])]


def _story_passive(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("passive")
    if rng.random() < 0.3:  # eaten by the pet: the agent must be an animal that eats it
        food = rng.choice(lx.foods_for_diet(story.pet.diet))
        head = b.add("the", food.name)
        copula = b.add("was")
        participle = b.add(lx.EAT.participle)
        b.link(copula, head)
        b.link(participle, head)
        b.add("by")
        b.mention(story.pet_mention(story.hero))
        return [(b.done(), [])]
    food = rng.choice([f for f in lx.FOODS if f.prepare])
    head = b.add("the", food.name)
    copula = b.add("was")
    verb_form = rng.choice(lx.BAKE_VERBS if food.prepare == "bake" else lx.COOK_VERBS)
    participle = b.add(verb_form.participle, "by") - 1
    b.link(copula, head)
    b.link(participle, head)
    who = story.person()
    agent = b.mention(_name(who.name))
    qa = [(f"Who {verb_form.past} the {food.name}?", (agent, agent + 1))]
    return [(b.done(), qa)]


def _story_progressive(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("progressive")
    who = story.person()
    subject, _ = _subject(b, story, who)
    verb_form = rng.choice(lx.INTRANSITIVE)
    copula = b.add("was")
    verb = b.add(verb_form.ing)
    b.link(copula, subject)
    b.link(verb, subject)
    place = b.add("in", "the", rng.choice(lx.PLACES))
    qa = [(f"Where was {who.name} {verb_form.ing}?", (place - 1, place + 1))]
    return [(b.done(), qa)]


def _story_comparative(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("comparative")
    first, second = rng.sample(lx.ANIMALS, 2)
    plural = rng.random() < 0.3
    head = b.add("the", first.plural if plural else first.name)
    copula = b.add("were" if plural else "was")
    b.link(copula, head)
    adjective = rng.choice(sorted(lx.COMPARATIVES))
    b.add(lx.COMPARATIVES[adjective][0], "than", "the", second.plural if plural else second.name)
    return [(b.done(), [])]


def _story_there_were(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("existential")
    animal = rng.choice(lx.ANIMALS)
    number = rng.choice(lx.NUMBERS)
    b.add("there")
    copula = b.add("were")
    count = b.add(number)
    head = b.add(animal.plural)
    b.link(copula, head)
    place = rng.choice(lx.PLACES)
    b.add("in", "the", place)
    return [(b.done(), [(f"How many {animal.plural} were in the {place}?", (count, count + 1))])]


def _story_said(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("reported_speech")
    who = story.person()
    subject, _ = _subject(b, story, who)
    verb = b.add("said")
    b.link(verb, subject)
    b.add("that")
    food = rng.choice([f for f in lx.foods_for_people() if not f.countable])
    head = b.add("the", food.name)
    copula = b.add("was")
    b.link(copula, head)
    positive = rng.random() < 0.5
    b.add(rng.choice(lx.POSITIVE if positive else lx.NEGATIVE))
    first = b.done()
    c = _Builder("reaction")
    pronoun = c.add(who.subject)
    if positive:
        reaction = c.add(rng.choice(["loved", "enjoyed", "finished"]))
    else:
        c.add("did", "not")
        reaction = c.add(rng.choice(["like", "finish", "want"]))
    c.link(reaction, pronoun)
    c.add("it")
    story.last_subject = who
    return [(first, []), (c.done(), [])]


def _story_habit(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("habit")
    b.add("every", rng.choice(lx.TIMES[:3]), ",")
    who = story.hero
    subject, _ = _subject(b, story, who)
    verb = b.add(rng.choice(["walked", "fed", "washed", "brushed"]))
    b.link(verb, subject)
    b.mention(story.pet_mention(who))
    return [(b.done(), [])]


def _story_pet_likes(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("pet_likes")
    head = b.mention(story.pet_mention(story.hero))
    verb = b.add(rng.choice(["liked", "loved", "wanted"]))
    b.link(verb, head)
    food = rng.choice(lx.foods_for_diet(story.pet.diet))
    b.add(food.plural)
    return [(b.done(), [])]


def _story_pet_sound(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("pet_sound")
    head = b.add("the", story.pet.name)
    verb = b.add(lx.ANIMAL_SOUNDS[story.pet.sound].past)
    b.link(verb, head)
    b.add("at", "the", rng.choice(lx.ANIMALS).name)
    return [(b.done(), [])]


def _story_question(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    who = story.person()
    food = rng.choice(lx.foods_for_people())
    q = _Builder("question_yes_no")
    q.add("did")
    subject = q.mention(_name(who.name))
    verb = q.add(rng.choice(["like", "want", "eat"]))
    q.link(verb, subject)
    q.add("the", food.name)
    a = _Builder("short_answer")
    yes = rng.random() < 0.5
    a.add("yes" if yes else "no", ",")
    pronoun = a.add(who.subject)
    did = a.add("did") if yes else a.add("did", "not") - 1
    a.link(did, pronoun)
    story.last_subject = who
    return [(q.done("?"), []), (a.done(), [])]


def _story_then(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("sequence")
    who = story.person()
    subject, _ = _subject(b, story, who)
    verb_form = rng.choice(lx.OBJECT_VERBS)
    verb = b.add(verb_form.past)
    b.link(verb, subject)
    thing = rng.choice(lx.THINGS)[0]
    b.add("the", thing, ",", "and", "then")
    pronoun = b.add(who.subject)
    second = b.add(rng.choice(lx.INTRANSITIVE).past)
    b.link(second, pronoun)
    return [(b.done(), [])]


def _story_ending(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("ending")
    b.add(*rng.choice([("that", "night"), ("in", "the", "end"), ("at", "last")]))
    who = story.hero
    choice = rng.random()
    b.add(",")
    subject, _ = _subject(b, story, who)
    if choice < 0.5:
        verb = b.add("slept")
        b.add("well")
    else:
        verb = b.add("was")
        b.add(rng.choice(["happy", "tired", "calm", "glad"]))
    b.link(verb, subject)
    return [(b.done(), [])]


def _story_past_perfect(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("past_perfect")
    who = story.person()
    subject, _ = _subject(b, story, who)
    had = b.add("had")
    b.link(had, subject)
    b.add(rng.choice(["already", "just", "never"]))
    verb_form = rng.choice(lx.OBJECT_VERBS)
    verb = b.add(verb_form.participle)
    b.link(verb, subject)
    thing, plural = rng.choice(lx.THINGS)
    start = len(b.words)
    b.add(who.possessive, plural if rng.random() < 0.4 else thing)
    question = f"What had {who.name} {b.words[verb - 1]} {verb_form.participle}?"
    return [(b.done(), [(question, (start, start + 2))])]


def _story_interrupted(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("interrupted")
    who = story.person()
    other = story.friend if who is story.hero else story.hero
    subject, _ = _subject(b, story, who)
    copula = b.add("was")
    verb = b.add(rng.choice(lx.OBJECT_VERBS).ing)
    b.link(copula, subject)
    b.link(verb, subject)
    thing, plural = rng.choice(lx.THINGS)
    b.add("the", plural if rng.random() < 0.5 else thing, "when")
    caller = b.mention(_name(other.name))
    called = b.add(rng.choice(["called", "arrived", "knocked", "shouted"]))
    b.link(called, caller)
    return [(b.done(), [])]


def _story_superlative(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("superlative")
    animal = rng.choice(lx.ANIMALS)
    head = b.add("the", animal.name)
    copula = b.add("was")
    b.link(copula, head)
    adjective = rng.choice(sorted(lx.COMPARATIVES))
    b.add("the", lx.COMPARATIVES[adjective][1], "animal", "in")
    b.mention(_town(story.town))
    return [(b.done(), [])]


def _story_social(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("social")
    who = story.person()
    other = story.friend if who is story.hero else story.hero
    subject, _ = _subject(b, story, who)
    verb_form = rng.choice(lx.SOCIAL_VERBS)
    verb = b.add(verb_form.past)
    b.link(verb, subject)
    target = b.mention(_name(other.name))
    place = rng.choice(lx.PLACES)
    b.add("at", "the", place)
    question = f"Who did {who.name} {verb_form.base} at the {place}?"
    return [(b.done(), [(question, (target, target + 1))])]


def _story_wanted(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("infinitive")
    who = story.person()
    subject, _ = _subject(b, story, who)
    verb = b.add(rng.choice(["wanted", "tried", "forgot", "hoped"]))
    b.link(verb, subject)
    b.add("to", rng.choice(lx.OBJECT_VERBS).base, "the", rng.choice(lx.THINGS)[0])
    return [(b.done(), [])]


def _story_animals_move(story: _Story) -> list[tuple[Sentence, list[_QA]]]:
    rng = story.rng
    b = _Builder("animals_move")
    animal = rng.choice(lx.ANIMALS)
    if rng.random() < 0.5:
        head = b.add("the", animal.name)
        verb = b.add(lx.ANIMAL_MOTION[animal.moves].past)
        b.link(verb, head)
        b.add("to", "the", animal.habitat)
    else:
        head = b.add("the", animal.plural)
        copula = b.add("were")
        verb = b.add(lx.ANIMAL_SOUNDS[animal.sound].ing)
        b.link(copula, head)
        b.link(verb, head)
        b.add("in", "the", animal.habitat)
    return [(b.done(), [])]


_INTRO_EVENTS = (_story_lived, _story_role)
_MIDDLE_EVENTS: tuple[Callable[[_Story], list[tuple[Sentence, list[_QA]]]], ...] = (
    _story_went, _story_purpose, _story_ate, _story_cooked, _story_cook_and_eat, _story_gave,
    _story_negation, _story_relative_object, _story_relative_subject, _story_coordination,
    _story_because, _story_when, _story_saw, _story_lost_and_found, _story_passive,
    _story_progressive, _story_comparative, _story_there_were, _story_said, _story_habit,
    _story_pet_likes, _story_pet_sound, _story_question, _story_then, _story_past_perfect,
    _story_interrupted, _story_superlative, _story_social, _story_wanted,
    _story_animals_move,
)


# ----------------------------------------------------------------------------- reports


def _animal_subject(b: _Builder, animal: Animal, plural: bool) -> int:
    if plural:
        return b.add(animal.plural)
    return b.add(_article(animal.name), animal.name)


def _report_eats(rng: random.Random, animal: Animal) -> list[Sentence]:
    b = _Builder("fact_eat")
    plural = rng.random() < 0.6
    head = _animal_subject(b, animal, plural)
    verb = b.add(lx.EAT.base if plural else lx.EAT.third)
    b.link(verb, head)
    b.add(rng.choice(lx.foods_for_diet(animal.diet)).plural)
    return [b.done()]


def _report_not_eats(rng: random.Random, animal: Animal) -> list[Sentence]:
    b = _Builder("fact_not_eat")
    plural = rng.random() < 0.6
    head = _animal_subject(b, animal, plural)
    b.add("do" if plural else "does", "not")
    verb = b.add(lx.EAT.base)
    b.link(verb, head)
    eaten = {food.name for food in lx.foods_for_diet(animal.diet)}
    b.add(rng.choice([food for food in lx.FOODS if food.name not in eaten]).plural)
    return [b.done()]


def _report_relative(rng: random.Random, animal: Animal) -> list[Sentence]:
    b = _Builder("fact_relative")
    plural = rng.random() < 0.5
    head = _animal_subject(b, animal, plural)
    b.add("that")
    live = b.add(lx.LIVE.base if plural else lx.LIVE.third)
    b.link(live, head)
    b.add("in", "the", animal.habitat)
    verb = b.add(lx.EAT.base if plural else lx.EAT.third)
    b.link(verb, head)
    b.add(rng.choice(lx.foods_for_diet(animal.diet)).plural)
    return [b.done()]


def _report_question(rng: random.Random, animal: Animal) -> list[Sentence]:
    eaten = lx.foods_for_diet(animal.diet)
    yes = rng.random() < 0.5
    if yes:
        food = rng.choice(eaten)
    else:
        names = {f.name for f in eaten}
        food = rng.choice([f for f in lx.FOODS if f.name not in names])
    q = _Builder("fact_question")
    q.add("do")
    head = q.add(animal.plural)
    verb = q.add(lx.EAT.base)
    q.link(verb, head)
    q.add(food.plural)
    a = _Builder("short_answer")
    a.add("yes" if yes else "no", ",")
    pronoun = a.add("they")
    did = a.add("do") if yes else a.add("do", "not") - 1
    a.link(did, pronoun)
    return [q.done("?"), a.done()]


def _report_sound(rng: random.Random, animal: Animal) -> list[Sentence]:
    b = _Builder("fact_sound")
    plural = rng.random() < 0.6
    head = _animal_subject(b, animal, plural)
    sound = lx.ANIMAL_SOUNDS[animal.sound]
    verb = b.add(sound.base if plural else sound.third)
    b.link(verb, head)
    b.add("when")
    pronoun = b.add("they" if plural else "it")
    copula = b.add("are" if plural else "is")
    b.link(copula, pronoun)
    b.add(rng.choice(lx.EMOTIONS))
    return [b.done()]


def _report_moves(rng: random.Random, animal: Animal) -> list[Sentence]:
    b = _Builder("fact_motion")
    plural = rng.random() < 0.6
    head = _animal_subject(b, animal, plural)
    motion = lx.ANIMAL_MOTION[animal.moves]
    verb = b.add(motion.base if plural else motion.third)
    b.link(verb, head)
    b.add(rng.choice(["fast", "slowly", "every", "at"]))
    if b.words[-1] == "every":
        b.add("day")
    elif b.words[-1] == "at":
        b.add("night")
    return [b.done()]


def _report_lives(rng: random.Random, animal: Animal) -> list[Sentence]:
    b = _Builder("fact_habitat")
    plural = rng.random() < 0.5
    head = _animal_subject(b, animal, plural)
    verb = b.add(lx.LIVE.base if plural else lx.LIVE.third)
    b.link(verb, head)
    b.add("in", "the", animal.habitat)
    return [b.done()]


def _report_can(rng: random.Random, animal: Animal) -> list[Sentence]:
    b = _Builder("fact_ability")
    plural = rng.random() < 0.5
    head = _animal_subject(b, animal, plural)
    can = b.add("can")
    b.link(can, head)
    b.add(lx.ANIMAL_MOTION[animal.moves].base, "and", lx.ANIMAL_SOUNDS[animal.sound].base)
    return [b.done()]


_ANIMAL_FACTS = (_report_can,
    _report_eats, _report_not_eats, _report_relative, _report_question, _report_sound,
    _report_moves, _report_lives,
)


def _town_grow(rng: random.Random, town: str) -> list[Sentence]:
    b = _Builder("town_grow")
    role = rng.choice(["farmers", "gardeners", "people"])
    head = b.add(role)
    b.add("in")
    b.mention(_town(town))
    verb = b.add(lx.GROW.base)
    b.link(verb, head)
    b.add(rng.choice([f for f in lx.FOODS if f.kind in ("fruit", "vegetable")]).plural)
    return [b.done()]


def _town_market(rng: random.Random, town: str) -> list[Sentence]:
    b = _Builder("town_market")
    head = b.add("the", rng.choice(["market", "library", "bakery", "museum", "school"]))
    b.add("in")
    b.mention(_town(town))
    verb = b.add("opens")
    b.link(verb, head)
    b.add("at", rng.choice(lx.NUMBERS[:10]))
    return [b.done()]


def _town_weather(rng: random.Random, town: str) -> list[Sentence]:
    b = _Builder("weather")
    pronoun = b.add("it")
    copula = b.add("is")
    b.link(copula, pronoun)
    b.add(rng.choice(lx.WEATHER), "in")
    b.mention(_town(town))
    b.add("today")
    c = _Builder("weather_tomorrow")
    c.add("tomorrow")
    pronoun = c.add("it")
    will = c.add("will")
    c.link(will, pronoun)
    c.add("be", rng.choice(lx.WEATHER))
    return [b.done(), c.done()]


def _town_people(rng: random.Random, town: str) -> list[Sentence]:
    b = _Builder("relative_plural")
    role = rng.choice(lx.ROLES)
    head = b.add("the", lx.pluralize(role))
    b.add("who")
    live = b.add(lx.LIVE.base)
    b.link(live, head)
    b.add("in")
    b.mention(_town(town))
    like = rng.choice(lx.LIKE_VERBS[:4])
    verb = b.add(like.base)
    b.link(verb, head)
    b.add(rng.choice(lx.foods_for_people()).plural)
    return [b.done()]


def _town_singular(rng: random.Random, town: str) -> list[Sentence]:
    b = _Builder("relative_singular")
    role = rng.choice(lx.ROLES)
    head = b.add("the", role)
    b.add("who")
    work = b.add("works")
    b.link(work, head)
    b.add("in")
    b.mention(_town(town))
    verb_form = rng.choice(lx.OBJECT_VERBS)
    verb = b.add(verb_form.third)
    b.link(verb, head)
    b.add(lx.pluralize(rng.choice(lx.THINGS)[0]) if rng.random() < 0.5 else "things")
    return [b.done()]


_TOWN_FACTS = (_town_grow, _town_market, _town_weather, _town_people, _town_singular)


# ----------------------------------------------------------------------------- reviews

_DISHES = [food for food in lx.FOODS if food.kind in ("dish", "baked", "meat") and
           not food.countable] + [food for food in lx.FOODS if food.kind == "dish" and
                                   food.countable]


def _verdict(b: _Builder, subject: int, positive: bool, rng: random.Random,
             adjectives: Sequence[str] | None = None) -> str:
    """Write 'was [not] ADJ' so that the clause has the given polarity; return the adjective."""
    negate = rng.random() < 0.3
    adjective_positive = positive != negate
    pool = adjectives or (lx.POSITIVE if adjective_positive else lx.NEGATIVE)
    if adjectives is not None:
        pool = [a for a in adjectives if (a in lx.POSITIVE) == adjective_positive]
    copula = b.add("was")
    b.link(copula, subject)
    if negate:
        b.add("not")
    adjective = rng.choice(pool)
    b.add(adjective)
    return adjective


def _review_visit(rng: random.Random, venue: tuple[str, str], town: str,
                  positive: bool) -> list[Sentence]:
    b = _Builder("review_visit")
    pronoun = b.add(rng.choice(["I", "we"]))
    verb = b.add(rng.choice(["visited", "tried"]))
    b.link(verb, pronoun)
    b.mention(_venue(venue))
    b.add("in")
    b.mention(_town(town))
    b.add("last", rng.choice(lx.DAYS))
    return [b.done()]


def _review_venue(rng: random.Random, venue: tuple[str, str], town: str,
                  positive: bool) -> list[Sentence]:
    b = _Builder("review_venue")
    head = b.mention(_venue(venue))
    copula = b.add("is")
    b.link(copula, head)
    kind = rng.choice(lx.VENUE_KINDS)
    b.add(_article(kind), kind, "near", "the", rng.choice(lx.PLACES))
    return [b.done()]


def _review_dish(rng: random.Random, venue: tuple[str, str], town: str,
                 positive: bool) -> list[Sentence]:
    b = _Builder("review_dish")
    head = b.add("the", rng.choice(_DISHES).name)
    _verdict(b, head, positive, rng)
    return [b.done()]


def _review_staff(rng: random.Random, venue: tuple[str, str], town: str,
                  positive: bool) -> list[Sentence]:
    b = _Builder("review_staff")
    head = b.add("the", rng.choice(lx.STAFF))
    _verdict(b, head, positive, rng)
    return [b.done()]


def _review_feeling(rng: random.Random, venue: tuple[str, str], town: str,
                    positive: bool) -> list[Sentence]:
    b = _Builder("review_feeling")
    pronoun = b.add("I")
    if positive:
        verb = b.add(rng.choice(["loved", "enjoyed", "liked"]))
    else:
        verb = b.add(rng.choice(["hated", "disliked"]))
    b.link(verb, pronoun)
    b.add("the", rng.choice(_DISHES).name)
    return [b.done()]


def _review_because(rng: random.Random, venue: tuple[str, str], town: str,
                    positive: bool) -> list[Sentence]:
    b = _Builder("review_because")
    pronoun = b.add("I")
    verb = b.add("liked" if positive else "hated")
    b.link(verb, pronoun)
    b.add("it", "because", "the")
    head = b.add(rng.choice(_DISHES).name)
    copula = b.add("was")
    b.link(copula, head)
    b.add(rng.choice(lx.POSITIVE if positive else lx.NEGATIVE))
    return [b.done()]


def _review_return(rng: random.Random, venue: tuple[str, str], town: str,
                   positive: bool) -> list[Sentence]:
    b = _Builder("review_return")
    pronoun = b.add("we")
    will = b.add("will")
    b.link(will, pronoun)
    if positive:
        b.add("come", "back", rng.choice(["soon", "again"]))
    else:
        b.add("never", "come", "back")
    return [b.done()]


def _review_recommend(rng: random.Random, venue: tuple[str, str], town: str,
                      positive: bool) -> list[Sentence]:
    b = _Builder("review_recommend")
    pronoun = b.add("I")
    if not positive:
        b.add("do", "not")
    verb = b.add("recommend")
    b.link(verb, pronoun)
    b.mention(_venue(venue))
    return [b.done("." if rng.random() < 0.7 else "!")]


def _review_stars(rng: random.Random, venue: tuple[str, str], town: str,
                  positive: bool) -> list[Sentence]:
    b = _Builder("review_stars")
    pronoun = b.add("I")
    verb = b.add("give")
    b.link(verb, pronoun)
    if positive:
        b.add("it", rng.choice(["four", "five"]), "stars")
    else:
        b.add("it", "one", "star")
    return [b.done()]


_REVIEW_BODY = (
    _review_venue, _review_dish, _review_staff, _review_feeling, _review_because, _review_dish,
)
_REVIEW_CLOSE = (_review_return, _review_recommend, _review_stars)


# ----------------------------------------------------------------------------- documents


def _story_document(rng: random.Random) -> Document:
    story = _Story(rng)
    parts: list[tuple[Sentence, list[_QA]]] = []
    parts += rng.choice(_INTRO_EVENTS)(story)
    if rng.random() < 0.6:
        parts += _story_pet(story)
    for _ in range(rng.randint(3, 6)):
        parts += rng.choice(_MIDDLE_EVENTS)(story)
    if rng.random() < 0.5:
        parts += _story_ending(story)
    sentences = [sentence for sentence, _ in parts]
    document = Document("story", sentences)
    document.questions = _questions(document, [qa for _, qa in parts])
    return document


def _questions(document: Document, per_sentence: list[list[_QA]]) -> list[QAExample]:
    """Turn word-span answers into character spans; drop questions asked twice (ambiguous)."""
    context = document.text
    starts = document.sentence_starts()
    asked = Counter(question for qas in per_sentence for question, _ in qas)
    examples = []
    for sentence, start, qas in zip(document.sentences, starts, per_sentence, strict=True):
        offsets = sentence.offsets
        for question, (first, last) in qas:
            if asked[question] > 1:
                continue
            begin = start + offsets[first][0]
            end = start + offsets[last - 1][1]
            examples.append(QAExample(context, question, context[begin:end], begin))
    return examples


def _report_document(rng: random.Random) -> Document:
    if rng.random() < 0.6:
        topic: Animal | str = rng.choice(lx.ANIMALS)
        shapes: tuple[Callable[..., list[Sentence]], ...] = _ANIMAL_FACTS
        length = rng.randint(4, 7)
    else:
        topic, shapes, length = rng.choice(lx.TOWNS), _TOWN_FACTS, rng.randint(4, 6)
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for _ in range(length * 3):  # a report states each fact once
        new = rng.choice(shapes)(rng, topic)
        texts = [s.text for s in new]
        if not seen.intersection(texts):
            sentences += new
            seen.update(texts)
        if len(sentences) >= length:
            break
    return Document("report", sentences)


def _review_document(rng: random.Random) -> Document:
    venue = rng.choice(lx.VENUES)
    town = rng.choice(lx.TOWNS)
    positive = rng.random() < 0.5
    sentences = _review_visit(rng, venue, town, positive)
    for _ in range(rng.randint(2, 4)):
        sentences += rng.choice(_REVIEW_BODY)(rng, venue, town, positive)
    sentences += rng.choice(_REVIEW_CLOSE)(rng, venue, town, positive)
    return Document("review", sentences, label=int(positive))


_MAKERS = {"story": _story_document, "review": _review_document, "report": _report_document}


@dataclass
class TinyWorld:
    """A generated TinyWorld corpus and the ground truth that comes with it."""

    documents: list[Document]
    seed: int

    def sentences(self) -> list[str]:
        """Every sentence's text, in document order."""
        return [s.text for d in self.documents for s in d.sentences]

    def as_documents(self) -> list[list[str]]:
        """Documents as lists of sentence texts: the same shape `read_bert_text` returns."""
        return [[s.text for s in d.sentences] for d in self.documents]

    def to_bert_text(self) -> str:
        """The corpus in BERT's pretraining format: a sentence a line, blank line between docs."""
        return "\n\n".join("\n".join(doc) for doc in self.as_documents()) + "\n"

    def split(self, held_out: float = 0.1) -> tuple[TinyWorld, TinyWorld]:
        """Split by whole documents (the last `held_out` share), so no document leaks across."""
        if not 0.0 < held_out < 1.0:
            raise ValueError(f"held_out must be between 0 and 1, got {held_out}")
        cut = len(self.documents) - max(1, round(len(self.documents) * held_out))
        head, tail = self.documents[:cut], self.documents[cut:]
        return TinyWorld(head, self.seed), TinyWorld(tail, self.seed)

    def reviews(self) -> list[tuple[str, int]]:
        """The corpus's own reviews as (text, label) pairs (they carry many sentiment cues)."""
        return [(d.text, d.label) for d in self.documents if d.kind == "review" and
                d.label is not None]

    def ner_examples(self) -> list[tuple[list[str], list[str]]]:
        """(words, BIO tags) for every sentence that names at least one entity."""
        return [(list(s.words), s.bio_tags()) for d in self.documents for s in d.sentences
                if s.entities]

    def qa_examples(self) -> list[QAExample]:
        """Extractive questions over the stories, with answer character spans."""
        return [qa for d in self.documents for qa in d.questions]

    def verb_subject_pairs(self) -> list[tuple[Sentence, VerbSubject]]:
        """Every generated verb with its subject, for scoring what attention heads track."""
        return [(s, link) for d in self.documents for s in d.sentences for link in s.verb_subjects]


def generate_corpus(n_documents: int = DEFAULT_DOCUMENTS, seed: int = DEFAULT_SEED,
                    kinds: Sequence[str] = DOCUMENT_KINDS) -> TinyWorld:
    """Generate TinyWorld: the same seed always gives the same corpus, in any size."""
    if not isinstance(n_documents, int) or n_documents < 1:
        raise ValueError(f"n_documents must be a positive integer, got {n_documents!r}")
    unknown = [kind for kind in kinds if kind not in _MAKERS]
    if unknown or not kinds:
        raise ValueError(f"unknown document kinds {unknown}; choose from {DOCUMENT_KINDS}")
    rng = random.Random(seed)
    weights = [KIND_WEIGHTS[DOCUMENT_KINDS.index(kind)] for kind in kinds]
    chosen = rng.choices(list(kinds), weights=weights, k=n_documents)
    return TinyWorld([_MAKERS[kind](rng) for kind in chosen], seed)


# ----------------------------------------------------------------------------- sentiment split


def adjective_split(seed: int = DEFAULT_SEED,
                    held_out: float = 0.5) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split sentiment adjectives into train and held-out sets, balanced by polarity."""
    rng = random.Random(seed * 7919 + 17)
    train: list[str] = []
    test: list[str] = []
    for pool in (lx.POSITIVE, lx.NEGATIVE):
        words = sorted(pool)
        rng.shuffle(words)
        cut = round(len(words) * (1 - held_out))
        train += words[:cut]
        test += words[cut:]
    return tuple(sorted(train)), tuple(sorted(test))


def _labeled_review(rng: random.Random, adjectives: Sequence[str]) -> LabeledReview:
    positive = rng.random() < 0.5
    venue = rng.choice(lx.VENUES)
    b = _Builder("labeled_dish")
    head = b.add("the", rng.choice(_DISHES).name, "at")
    b.mention(_venue(venue))
    used = [_verdict(b, head - 1, positive, rng, adjectives)]
    sentences = [b.done()]
    if rng.random() < 0.5:
        c = _Builder("labeled_staff")
        head = c.add("the", rng.choice(lx.STAFF))
        used.append(_verdict(c, head, positive, rng, adjectives))
        sentences.append(c.done())
    text = " ".join(s.text for s in sentences)
    return LabeledReview(text, int(positive), tuple(used))


def sentiment_split(n_train: int = 1000, n_test: int = 1000, seed: int = DEFAULT_SEED,
                    held_out: float = 0.5) -> SentimentSplit:
    """Labeled reviews for transfer: test reviews use only adjectives the train reviews never do.

    Each review's only sentiment cues are its adjectives and negation ('was not tasty' is
    negative), and negation is independent of the label, so a classifier trained from scratch
    cannot know an unseen adjective's polarity; a model pretrained on TinyWorld (where every
    adjective occurs in reviews and stories) can.
    """
    train_adjectives, test_adjectives = adjective_split(seed, held_out)
    rng = random.Random(seed * 104729 + 3)
    train = [_labeled_review(rng, train_adjectives) for _ in range(n_train)]
    test = [_labeled_review(rng, test_adjectives) for _ in range(n_test)]
    return SentimentSplit(train, test, train_adjectives, test_adjectives)


# ----------------------------------------------------------------------------- real text, stats


def _read_utf8(path: Path) -> str:
    """A text file's contents; a file in another encoding is named, with the line to look at."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ValueError(
            f"{path} is not UTF-8 text: line {line} holds the byte "
            f"{raw[error.start:error.start + 1]!r}. Save it as UTF-8 first (it is probably "
            f"Latin-1 or Windows-1252: iconv -f cp1252 -t utf-8 {path.name} > utf8.txt)"
        ) from None


def read_bert_text(source: str | Path | Iterable[str]) -> list[list[str]]:
    """Read text in BERT's pretraining format into documents of sentences.

    One sentence per line, a blank line between documents. Whitespace-only lines count as blank,
    runs of blank lines separate documents once, trailing whitespace is stripped, and any
    unicode is kept as it is. `source` is a path, a whole text, or an iterable of lines.
    """
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and
                                    Path(source).is_file()):
        lines: Iterable[str] = _read_utf8(Path(source)).splitlines()
    elif isinstance(source, str):
        lines = source.splitlines()
    elif isinstance(source, Iterable):
        lines = source
    else:
        raise TypeError(f"read_bert_text needs a path, a text or lines, got {type(source)}")
    documents: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if not isinstance(line, str):
            raise TypeError(f"read_bert_text got a non-text line: {line!r}")
        sentence = line.strip()
        if sentence:
            current.append(sentence)
        elif current:
            documents.append(current)
            current = []
    if current:
        documents.append(current)
    return documents


_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def words_of(text: str) -> list[str]:
    """Split text into lower-cased words and punctuation marks, for counting."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class CorpusStats:
    """Size and shape of a corpus: what a learner should know before training on it."""

    documents: int
    sentences: int
    tokens: int
    types: int
    frequencies: list[tuple[str, int]]  # most frequent first (Zipf's rank order)

    def zipf(self) -> tuple[list[int], list[int]]:
        """Ranks and frequencies, to plot on log-log axes."""
        return list(range(1, len(self.frequencies) + 1)), [f for _, f in self.frequencies]


def corpus_stats(documents: Sequence[Sequence[str]] | TinyWorld) -> CorpusStats:
    """Count documents, sentences, word tokens and types (lower-cased, punctuation excluded)."""
    docs = documents.as_documents() if isinstance(documents, TinyWorld) else documents
    counts: Counter[str] = Counter()
    sentences = 0
    for doc in docs:
        for sentence in doc:
            sentences += 1
            counts.update(w for w in words_of(sentence) if w[0].isalnum())
    return CorpusStats(len(docs), sentences, sum(counts.values()), len(counts),
                       counts.most_common())
