"""TinyWorld's lexicon: the people, animals, places, foods and things of the world, with inflection.

The lexicon is fixed (not seeded), so every seed of the corpus speaks the same language and a
vocabulary trained on one seed covers another. Inflection follows English rules with real
irregular forms (mouse/mice, eat/ate/eaten), so WordPiece has genuine subwords to find
("##s", "##ed", "##ing", town names built from "oak" + "##ton").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# ----------------------------------------------------------------------------- inflection

_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")
_VOWELS = "aeiou"


def pluralize(noun: str) -> str:
    """Regular English plural, for nouns without an irregular form in the lexicon."""
    if noun.endswith(_SIBILANT_ENDINGS):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in _VOWELS:
        return noun[:-1] + "ies"
    return noun + "s"


@dataclass(frozen=True)
class Verb:
    """A verb with every form the generator needs."""

    base: str
    third: str
    past: str
    participle: str
    ing: str


def _regular_verb(base: str, double: bool) -> Verb:
    stem = base + base[-1] if double else base
    third = pluralize(base)
    if base.endswith("e"):
        past = base + "d"
    elif base.endswith("y") and base[-2] not in _VOWELS:
        past = base[:-1] + "ied"
    else:
        past = stem + "ed"
    if base.endswith("e") and not base.endswith("ee"):
        ing = base[:-1] + "ing"
    else:
        ing = stem + "ing"
    return Verb(base, third, past, past, ing)


def make_verb(spec: str) -> Verb:
    """Build a verb from 'walk', 'stop*' (doubled consonant) or 'eat|ate|eaten' (irregular)."""
    if "|" in spec:
        base, past, participle = spec.split("|")
        double = base.endswith("*")
        base = base.rstrip("*")
        regular = _regular_verb(base, double)
        return Verb(base, regular.third, past, participle, regular.ing)
    return _regular_verb(spec.rstrip("*"), spec.endswith("*"))


def _comparative(adjective: str) -> tuple[str, str]:
    """Comparative and superlative of a short adjective ('big' -> 'bigger', 'biggest')."""
    if adjective.endswith("e"):
        return adjective + "r", adjective + "st"
    if adjective.endswith("y"):
        return adjective[:-1] + "ier", adjective[:-1] + "iest"
    if (
        len(adjective) >= 3
        and adjective[-1] not in _VOWELS + "wxy"
        and adjective[-2] in _VOWELS
        and adjective[-3] not in _VOWELS
    ):
        return adjective + adjective[-1] + "er", adjective + adjective[-1] + "est"
    return adjective + "er", adjective + "est"


def _words(text: str) -> list[str]:
    return text.split()


# ----------------------------------------------------------------------------- people

FEMALE_NAMES = _words(
    "Anna Bella Clara Daisy Emma Fiona Grace Hannah Iris Julia Kate Lily Maya Nora Olivia "
    "Paula Rosa Sara Tina Uma Vera Wendy Zoe Alice Beth Chloe Dora Ella Freya Gina Helen Ivy "
    "Jane Kira Lena Mia Nina Opal Polly Ruby Sophie Tessa Una Violet Willa Yara Amber Carla "
    "Edith Flora Greta Hazel Irene Lucy Mabel Nell Petra Quinn Rita Stella"
)
MALE_NAMES = _words(
    "Ben Carl David Eric Felix George Henry Ivan Jack Kevin Leo Max Noah Oscar Peter Quentin "
    "Ravi Sam Tom Umar Victor Will Xavier Yusuf Zack Adam Bruno Colin Dan Ethan Frank Gus "
    "Hugo Igor Jonas Karl Liam Marco Nick Otto Paul Rory Simon Theo Ulrich Vince Walter Abel "
    "Cedric Dylan Edgar Fred Glen Harry Isaac Jasper Luke Miles Owen Ralph"
)
SURNAMES = _words(
    "Berg Brook Carter Dale Evans Fisher Gray Hill Irwin Jensen Keller Lang Miller Nash Owens "
    "Price Quill Reed Stone Turner Usher Vance Webb Young Baker Cole Dunn Ellis Ford Grant "
    "Hart Ives Jones Knight Lowe Moss North Page Rowe Shaw Todd Wade Wolfe Banks Clay Drake "
    "Fox Gale Hale Marsh Pike Rhodes Snow Thorne Wells"
)
ROLES = _words(
    "farmer baker teacher doctor nurse cook driver painter singer fisher gardener builder "
    "writer pilot sailor tailor miller vet dentist poet dancer clown king queen knight shepherd "
    "beekeeper carpenter potter grocer butcher mechanic librarian student judge mayor waiter "
    "porter guard clerk artist musician scientist florist plumber"
)
STAFF = _words("waiter waitress cook chef manager owner host server baker cashier")

# ----------------------------------------------------------------------------- animals


@dataclass(frozen=True)
class Animal:
    """An animal with what it eats, how it sounds and where it lives."""

    name: str
    plural: str
    diet: str  # "plants", "meat", "seeds", "omnivore"
    sound: str  # a verb base
    habitat: str
    moves: str  # a motion verb base


def _animal(name: str, diet: str, sound: str, habitat: str, moves: str, plural: str = "") -> Animal:
    return Animal(name, plural or pluralize(name), diet, sound, habitat, moves)


ANIMALS = [
    _animal("dog", "omnivore", "bark", "house", "run*|ran|run"),
    _animal("cat", "meat", "purr", "house", "walk"),
    _animal("horse", "plants", "neigh", "stable", "gallop"),
    _animal("cow", "plants", "moo", "meadow", "walk"),
    _animal("sheep", "plants", "bleat", "meadow", "walk", "sheep"),
    _animal("goat", "plants", "bleat", "hill", "climb"),
    _animal("pig", "omnivore", "oink", "farm", "run*|ran|run"),
    _animal("hen", "seeds", "cluck", "farm", "walk"),
    _animal("duck", "seeds", "quack", "pond", "swim*|swam|swum"),
    _animal("goose", "plants", "honk", "pond", "swim*|swam|swum", "geese"),
    _animal("rabbit", "plants", "squeak", "garden", "hop*"),
    _animal("mouse", "seeds", "squeak", "barn", "run*|ran|run", "mice"),
    _animal("rat", "omnivore", "squeak", "barn", "run*|ran|run"),
    _animal("fox", "meat", "howl", "forest", "run*|ran|run"),
    _animal("wolf", "meat", "howl", "forest", "run*|ran|run", "wolves"),
    _animal("bear", "omnivore", "growl", "forest", "walk"),
    _animal("deer", "plants", "snort", "forest", "run*|ran|run", "deer"),
    _animal("owl", "meat", "hoot", "forest", "fly|flew|flown"),
    _animal("frog", "meat", "croak", "pond", "hop*"),
    _animal("parrot", "seeds", "squawk", "house", "fly|flew|flown"),
    _animal("sparrow", "seeds", "chirp", "garden", "fly|flew|flown"),
    _animal("robin", "seeds", "chirp", "garden", "fly|flew|flown"),
    _animal("crow", "omnivore", "caw", "field", "fly|flew|flown"),
    _animal("donkey", "plants", "bray", "farm", "trot*"),
    _animal("pony", "plants", "neigh", "stable", "trot*"),
    _animal("lamb", "plants", "bleat", "meadow", "hop*"),
    _animal("ox", "plants", "snort", "farm", "walk", "oxen"),
    _animal("calf", "plants", "moo", "meadow", "walk", "calves"),
    _animal("squirrel", "seeds", "chatter", "forest", "climb"),
    _animal("hedgehog", "meat", "snuffle", "garden", "walk"),
    _animal("badger", "omnivore", "growl", "forest", "dig*|dug|dug"),
    _animal("otter", "meat", "whistle", "river", "swim*|swam|swum"),
    _animal("beaver", "plants", "slap*", "river", "swim*|swam|swum"),
    _animal("swan", "plants", "hiss", "lake", "swim*|swam|swum"),
    _animal("turtle", "plants", "hiss", "pond", "crawl"),
    _animal("lion", "meat", "roar", "zoo", "walk"),
    _animal("tiger", "meat", "roar", "zoo", "walk"),
    _animal("monkey", "omnivore", "chatter", "zoo", "climb"),
    _animal("elephant", "plants", "trumpet", "zoo", "walk"),
    _animal("giraffe", "plants", "snort", "zoo", "walk"),
    _animal("puppy", "omnivore", "bark", "house", "run*|ran|run"),
    _animal("kitten", "meat", "purr", "house", "walk"),
]
ANIMAL_BY_NAME = {animal.name: animal for animal in ANIMALS}
PETS = ["dog", "cat", "rabbit", "parrot", "puppy", "kitten", "pony", "goat", "duck", "hen"]

# ----------------------------------------------------------------------------- food


@dataclass(frozen=True)
class Food:
    """A food: its plural (or mass) form, its kind, and how people prepare it."""

    name: str
    plural: str  # equal to name for mass nouns ("rice", "soup")
    kind: str  # fruit, vegetable, grain, baked, meat, dairy, dish, feed
    prepare: str  # "" (raw), "cook" or "bake"

    @property
    def countable(self) -> bool:
        """Whether the food takes 'a' and a plural ('an apple') or is a mass noun ('rice')."""
        return self.plural != self.name


def _foods(kind: str, prepare: str, spec: str) -> list[Food]:
    foods = []
    for item in spec.split():
        if item.endswith("!"):  # mass noun
            name = item[:-1]
            foods.append(Food(name, name, kind, prepare))
        elif "/" in item:
            name, plural = item.split("/")
            foods.append(Food(name, plural, kind, prepare))
        else:
            foods.append(Food(item, pluralize(item), kind, prepare))
    return foods


FOODS = (
    _foods(
        "fruit",
        "",
        "apple pear plum cherry grape peach banana lemon orange berry melon mango/mangoes fig "
        "apricot lime kiwi coconut strawberry blueberry raspberry pineapple",
    )
    + _foods(
        "vegetable",
        "cook",
        "carrot potato/potatoes tomato/tomatoes onion bean pea cabbage lettuce! leek turnip "
        "pumpkin corn! spinach! beetroot! radish parsnip cucumber pepper mushroom broccoli!",
    )
    + _foods("grain", "cook", "rice! pasta! noodle porridge! oats! barley! dumpling")
    + _foods(
        "baked",
        "bake",
        "bread! cake pie cookie bun muffin biscuit pancake waffle loaf/loaves tart scone "
        "pretzel bagel croissant cupcake",
    )
    + _foods("meat", "cook", "sausage ham! bacon! steak chicken! meatball fish! beef! lamb!")
    + _foods("dairy", "", "cheese! milk! butter! yogurt! cream! egg")
    + _foods(
        "dish",
        "cook",
        "soup! stew! salad curry! pizza sandwich/sandwiches omelette pudding! risotto! "
        "casserole chowder! lasagne! burrito taco",
    )
    + _foods("feed", "", "grass! hay! seed worm insect nut acorn clover! straw!")
)
HUMAN_FOOD_KINDS = {"fruit", "vegetable", "grain", "baked", "meat", "dairy", "dish"}
DIETS = {
    "plants": {"fruit", "vegetable", "grain"} | {"grass", "hay", "clover", "straw", "acorn"},
    "meat": {"meat"} | {"worm", "insect", "egg"},
    "seeds": {"grain"} | {"seed", "worm", "insect", "nut", "acorn", "corn", "bread"},
    "omnivore": {"fruit", "vegetable", "meat", "baked"} | {"worm", "egg", "nut"},
}


def foods_for_diet(diet: str) -> list[Food]:
    """The foods an animal with this diet eats (kinds and single foods both count)."""
    allowed = DIETS[diet]
    return [food for food in FOODS if food.kind in allowed or food.name in allowed]


def foods_for_people() -> list[Food]:
    """The foods people eat: everything but animal feed."""
    return [food for food in FOODS if food.kind in HUMAN_FOOD_KINDS]


# ----------------------------------------------------------------------------- things, places

_THINGS = (
    "book ball hat cup bag box key lamp coat shoe sock scarf glove kite drum bell basket "
    "bucket rope map letter pen pencil brush comb clock ring coin toy doll boat bike cart "
    "umbrella blanket pillow candle bottle jar plate bowl spoon fork knife/knives ladder hammer "
    "shovel flute guitar radio camera ticket stamp puzzle necklace mirror wallet backpack "
    "notebook crayon marble feather shell stone stick flag tent jacket sweater boot mitten "
    "helmet apron towel kettle teapot lantern compass whistle wagon sled trumpet violin"
)
THINGS = [
    (item.split("/")[0], item.split("/")[1]) if "/" in item else (item, pluralize(item))
    for item in _THINGS.split()
]
FURNITURE = _words(
    "table bed sofa chair desk bench rug door window tree bush fence cupboard drawer stairs "
    "shelf"
)
PLACES = _words(
    "market park school library river lake forest farm garden beach bakery kitchen station "
    "hospital museum zoo field hill mountain castle harbor bridge barn pond meadow shop "
    "playground cafe office bank theater cinema stable orchard mill cave island valley "
    "cottage palace tower square"
)

_TOWN_HEADS = _words(
    "Oak Mill Ash Stone River Green Red North South East West Fox Bright Clear Elm Pine Cold "
    "High Kings Wood Lake Sun Moon Star Silver Gold Iron Rose Salt Bell Deer Wolf Hazel Maple "
    "Willow Cedar Birch Frost Amber Thorn"
)
_TOWN_TAILS = _words(
    "ton field brook ford wood dale bury port ville haven bridge stead wick mouth worth more "
    "gate hill side well"
)


def _towns(count: int) -> list[str]:
    rng = random.Random(1863)  # fixed: the map of the world does not depend on the corpus seed
    pairs = [(head, tail) for head in _TOWN_HEADS for tail in _TOWN_TAILS]
    rng.shuffle(pairs)
    towns: list[str] = []
    for head, tail in pairs:
        town = head + tail
        if town.lower() not in {t.lower() for t in towns} and head.lower() != tail:
            towns.append(town)
        if len(towns) == count:
            break
    return sorted(towns)


TOWNS = _towns(150)

_VENUE_FIRST = _words(
    "Blue Golden Silver Happy Red Green Little Old Lucky Sleepy Merry Jolly Crooked Copper "
    "Rusty Velvet Hungry Brave Purple Sunny"
)
_VENUE_SECOND = _words(
    "Kettle Spoon Lantern Anchor Acorn Thistle Teapot Fork Ladle Barrel Crown Feather Walrus "
    "Pelican Otter Saucepan Windmill Dragon Badger Pepper"
)
VENUE_KINDS = _words("cafe bakery restaurant diner inn bistro canteen")


def _venues(count: int) -> list[tuple[str, str]]:
    rng = random.Random(2718)
    pairs = [(a, b) for a in _VENUE_FIRST for b in _VENUE_SECOND]
    rng.shuffle(pairs)
    return sorted(pairs[:count])


VENUES = _venues(60)

# ----------------------------------------------------------------------------- adjectives

EMOTIONS = _words(
    "happy sad angry tired hungry thirsty sleepy scared proud bored excited calm busy lonely "
    "worried glad nervous brave curious surprised shy silly sick upset"
)
DESCRIPTIVE = _words(
    "big small tall short old young new long round soft hard warm cold hot wet dry clean dirty "
    "quiet loud fast slow heavy light sharp thin thick wide deep bright dark shiny smooth "
    "rough tiny huge"
)
COLORS = _words("red blue green yellow brown black white grey pink purple golden silver")
COMPARATIVES = {
    adj: _comparative(adj)
    for adj in DESCRIPTIVE + ["happy", "sad", "angry", "busy"]
    if adj != "huge"
}
# words whose comparative is irregular or two words
for _adj, _forms in {"good": ("better", "best"), "bad": ("worse", "worst")}.items():
    COMPARATIVES[_adj] = _forms

POSITIVE = _words(
    "delicious tasty wonderful excellent lovely great friendly perfect superb amazing pleasant "
    "charming cozy splendid marvelous fantastic delightful brilliant terrific generous tender "
    "crisp gorgeous heavenly attentive spotless elegant welcoming flavorful juicy scrumptious "
    "magnificent outstanding impressive exquisite fabulous polite helpful wholesome"
)
NEGATIVE = _words(
    "awful terrible horrible disgusting bland stale rude soggy greasy nasty dreadful gloomy "
    "filthy burnt rotten tasteless mediocre lousy unpleasant sloppy chewy rubbery noisy "
    "cramped careless unfriendly grim miserable shabby watery lumpy overcooked mouldy "
    "appalling sticky smelly grumpy dismal tough"
)

# ----------------------------------------------------------------------------- verbs

EAT = make_verb("eat|ate|eaten")
COOK_VERBS = [
    make_verb(v) for v in ("cook", "fry|fried|fried", "boil", "roast", "grill", "prepare")
]
BAKE_VERBS = [make_verb(v) for v in ("bake",)]
LIKE_VERBS = [make_verb(v) for v in ("like", "love", "want", "enjoy", "hate")]
OBJECT_VERBS = [
    make_verb(v)
    for v in (
        "buy|bought|bought sell|sold|sold find|found|found lose|lost|lost carry "
        "bring|brought|brought hold|held|held drop* hide|hid|hidden keep|kept|kept fix clean "
        "paint wash open close borrow lend|lent|lent mend polish wrap* pack fold fill count "
        "choose|chose|chosen break|broke|broken throw|threw|thrown catch|caught|caught kick "
        "pull push lift drag* take|took|taken"
    ).split()
]
SOCIAL_VERBS = [
    make_verb(v)
    for v in (
        "visit help call meet|met|met thank invite teach|taught|taught hug* greet phone "
        "follow"
    ).split()
]
SEE_VERBS = [make_verb(v) for v in ("see|saw|seen", "watch", "hear|heard|heard", "notice", "chase")]
GO = make_verb("go|went|gone")
MOTION_VERBS = [
    make_verb(v)
    for v in (
        "walk run*|ran|run drive|drove|driven ride|rode|ridden hurry travel return "
        "come|came|come move wander cycle"
    ).split()
]
INTRANSITIVE = [
    make_verb(v)
    for v in (
        "sleep|slept|slept laugh cry smile dance jump sit*|sat|sat rest wait play work "
        "sing|sang|sung shout yawn sneeze whistle"
    ).split()
]
ANIMAL_MOTION = {a.moves: make_verb(a.moves) for a in ANIMALS}
ANIMAL_SOUNDS = {a.sound: make_verb(a.sound) for a in ANIMALS}
GROW = make_verb("grow|grew|grown")
LIVE = make_verb("live")

NUMBERS = _words("two three four five six seven eight nine ten eleven twelve twenty")
WEATHER = _words("sunny rainy windy cloudy foggy snowy stormy frosty")
DAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
TIMES = _words("morning afternoon evening night")
