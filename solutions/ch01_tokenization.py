"""Reference solutions for chapter 01's exercises (tests prove each check accepts them)."""

from __future__ import annotations

from collections.abc import Sequence

from bertlab.tokenizer import BertTokenizer

# Exercise 1: a 30,522-token vocabulary keeps most TinyWorld words whole, but not all.
bert_pieces_prediction = 1.2


def pieces_per_word(tokenizer: BertTokenizer, sentences: Sequence[str]) -> float:
    """WordPiece tokens per word (a punctuation mark counts as a word) over all the sentences."""
    words = sum(len(tokenizer.basic.tokenize(sentence)) for sentence in sentences)
    pieces = sum(len(tokenizer.tokenize(sentence)) for sentence in sentences)
    return pieces / words


# Exercise 2: TinyWorld's vocabulary meets English prose it never saw.
english_unknown_prediction = 0.3


def unknown_share(tokenizer: BertTokenizer, sentences: Sequence[str]) -> float:
    """The share of words (punctuation included) that the vocabulary can only write as [UNK]."""
    words = [word for sentence in sentences for word in tokenizer.basic.tokenize(sentence)]
    return sum(tokenizer.tokenize(word) == ["[UNK]"] for word in words) / len(words)


def pair_inputs(ids_a: list[int], ids_b: list[int], max_length: int) -> dict[str, list[int]]:
    """[CLS] a [SEP] b [SEP] padded to max_length, with segment ids and an attention mask."""
    cls, sep, pad = 2, 3, 0
    input_ids = [cls, *ids_a, sep, *ids_b, sep]
    token_type_ids = [0] * (len(ids_a) + 2) + [1] * (len(ids_b) + 1)
    attention_mask = [1] * len(input_ids)
    padding = max_length - len(input_ids)
    return {
        "input_ids": input_ids + [pad] * padding,
        "token_type_ids": token_type_ids + [0] * padding,
        "attention_mask": attention_mask + [0] * padding,
    }


CONCEPT_ANSWERS = {"01": {1: "b", 2: "a", 3: "c", 4: "b", 5: "a"}}
