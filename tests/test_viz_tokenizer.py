"""Tests for chapter 01's WordPiece view: coloured pieces with ids, and the explorer widget."""

from __future__ import annotations

from bertlab.tokenizer import SPECIAL_TOKENS, BertTokenizer, alphabet_size, train_wordpiece
from bertlab.viz.tokenizer import TokenizerExplorer, pieces_html

SENTENCES = [
    "The dog that Anna feeds is hungry.",
    "Did Ben cook the soup at Millbrook Bakery?",
    "Anna feeds the hungry dogs, and the dogs eat soup.",
    "Ben cooked soup for the dogs!",
    "The bakery sells bread and soup.",
]
WORDS = ["the", "dog", "cat", "ran", "fast", "un", "##aff", "##able", "##s", "a", ".", ",", "!"]
WORDS += ["?"]


def test_pieces_html_shows_each_piece_with_its_id() -> None:
    tokenizer = BertTokenizer([*SPECIAL_TOKENS, *WORDS, "<"])
    html = pieces_html(tokenizer, "The cats < zebra", label="<small>")
    for token, token_id in [("the", 5), ("cat", 7), ("##s", 13), ("&lt;", 19), ("[UNK]", 1)]:
        assert f'>{token}<br><span style="font-size:70%;color:#495057">{token_id}<' in html
    assert "<b>&lt;small&gt;</b>" in html and "(5 pieces)" in html  # text is escaped


def test_explorer_redraws_when_the_text_or_vocab_size_changes() -> None:
    trained = train_wordpiece(SENTENCES * 2, vocab_size=70)
    explorer = TokenizerExplorer(trained, BertTokenizer([*SPECIAL_TOKENS, *WORDS]), "the dog")
    class Handle:  # stands in for the notebook's display handle
        def update(self, obj: object) -> None:
            self.html = obj.data

    handle = Handle()
    explorer._handles = [handle]
    full = explorer.render()
    assert "TinyWorld WordPiece (70 tokens)" in full and ">dog<br>" in full
    explorer.text.value = "the bakery"
    html = handle.html
    assert ">dog<br>" not in html
    for piece in explorer.trained_tokenizer().tokenize("the bakery"):
        assert f">{piece}<br>" in html
    explorer.vocab_size.value = explorer.vocab_size.min  # only the alphabet: one piece per letter
    assert explorer.vocab_size.min == alphabet_size(trained)
    pieces = explorer.trained_tokenizer().tokenize("the bakery")
    assert pieces == ["t", "##h", "##e", "b", "##a", "##k", "##e", "##r", "##y"]
    assert f"({explorer.vocab_size.min:,} tokens)" in handle.html
