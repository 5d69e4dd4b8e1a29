"""Chapter 01's view of WordPiece: coloured pieces with their ids, and a widget to type text into.

The pieces are plain HTML (no scripts), updated in place by the controls (`bertlab.viz.View`), so
they render in an exported notebook with no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import ipywidgets as widgets

from bertlab.tokenizer import UNK, BertTokenizer, _check_text, alphabet_size
from bertlab.viz import View

_PALETTE = (
    "#cfe2ff", "#d1e7dd", "#fff3cd", "#f8d7da", "#e2d9f3", "#d2f4ea",
    "#fde2c8", "#e9ecef", "#cff4fc", "#f7d6e6", "#e0f0c0", "#ffe5b4",
)  # fmt: skip


def pieces_html(tokenizer: BertTokenizer, text: str, label: str = "") -> str:
    """Render text's WordPiece tokens as coloured boxes, each with its id (HTML, no scripts)."""
    _check_text(text, "text")
    boxes = []
    for token in tokenizer.tokenize(text):
        token_id = tokenizer.vocab[token]
        if token == UNK:
            style = "background:#ffffff;border:2px solid #cf222e"
        else:
            style = f"background:{_PALETTE[token_id % len(_PALETTE)]};border:1px solid #adb5bd"
        boxes.append(
            f'<span style="display:inline-block;margin:2px;padding:1px 4px;border-radius:4px;'
            f'{style};font-family:monospace;text-align:center">{escape(token)}'
            f'<br><span style="font-size:70%;color:#495057">{token_id}</span></span>'
        )
    count = len(boxes)
    header = f"<b>{escape(label)}</b> " if label else ""
    return (
        f"<div style='margin:4px 0'>{header}<span style='color:#495057'>({count} piece"
        f"{'s' if count != 1 else ''})</span><br>{''.join(boxes) or '<i>no tokens</i>'}</div>"
    )


class TokenizerExplorer(View):
    """Type text; see its pieces under a trained vocabulary (cut to any size) and a reference one.

    A trained vocabulary lists its merges in training order, so its first k tokens are the
    vocabulary training would have stopped at with vocab_size=k: the slider replays training.
    """

    def __init__(
        self,
        trained_vocab: Sequence[str],
        reference: BertTokenizer,
        text: str,
        do_lower_case: bool = True,
        names: tuple[str, str] = ("TinyWorld WordPiece", "bert-base-uncased"),
    ) -> None:
        super().__init__()
        _check_text(text, "text")
        self.trained_vocab = list(trained_vocab)
        self.reference = reference
        self.do_lower_case = do_lower_case
        self.names = names
        self.text = widgets.Textarea(
            value=text, description="text", layout=widgets.Layout(width="95%", height="60px")
        )
        self.vocab_size = widgets.IntSlider(
            value=len(self.trained_vocab),
            min=alphabet_size(self.trained_vocab),
            max=len(self.trained_vocab),
            step=1,
            description="vocab size",
            continuous_update=False,
            layout=widgets.Layout(width="95%"),
        )
        self.text.observe(self._on_change, names="value")
        self.vocab_size.observe(self._on_change, names="value")
        self.widget = widgets.VBox([self.text, self.vocab_size])

    def trained_tokenizer(self) -> BertTokenizer:
        """The trained vocabulary cut to the slider's size, as a tokenizer."""
        return BertTokenizer(self.trained_vocab[: self.vocab_size.value], self.do_lower_case)

    def render(self) -> str:
        """The pieces of the current text under both tokenizers, as HTML."""
        first, second = self.names
        size = self.vocab_size.value
        return pieces_html(
            self.trained_tokenizer(), self.text.value, f"{first} ({size:,} tokens)"
        ) + pieces_html(
            self.reference, self.text.value, f"{second} ({self.reference.vocab_size:,} tokens)"
        )

    def draw(self) -> None:
        """Nothing to draw: the pieces are HTML, made fresh by `outputs`."""

    def outputs(self) -> list[Any]:
        """The pieces of the current text under both tokenizers."""
        from IPython.display import HTML

        return [HTML(self.render())]
