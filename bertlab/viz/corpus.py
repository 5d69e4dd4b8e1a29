"""Chapter 00's corpus explorer: browse TinyWorld documents with their ground truth, offline.

The figure (top words of the chosen kind of document) is a PNG and the document is plain HTML,
both updated in place by the controls (`bertlab.viz.View`), so both render with no network.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from bertlab.tinyworld.corpus import DOCUMENT_KINDS, Document, TinyWorld, generate_corpus, words_of
from bertlab.viz import View

ENTITY_COLOURS = {"PER": "#ffd8a8", "LOC": "#b2f2bb", "ORG": "#a5d8ff"}


def document_html(document: Document) -> str:
    """Render a document with its entities coloured, its label and its questions."""
    lines = [f"<b>{escape(document.kind)}</b>"]
    if document.label is not None:
        lines[0] += f" — sentiment label: <b>{'positive' if document.label else 'negative'}</b>"
    for sentence in document.sentences:
        starts = {e.start: e for e in sentence.entities}
        ends = {e.end - 1 for e in sentence.entities}
        words = []
        for index, word in enumerate(sentence.words):
            text = escape(word)
            if index in starts:
                colour = ENTITY_COLOURS[starts[index].label]
                text = (f'<span style="background:{colour};padding:0 2px" '
                        f'title="{starts[index].label}">' + text)
            if index in ends:
                text += f"<sub>{next(e.label for e in sentence.entities if e.end - 1 == index)}"
                text += "</sub></span>"
            words.append(text)
        lines.append(" ".join(words).replace(" .", ".").replace(" ,", ",").replace(" ?", "?"))
    for qa in document.questions[:3]:
        lines.append(f"<i>Q: {escape(qa.question)} → A: {escape(qa.answer)}</i>")
    return "<div style='font-family:sans-serif;line-height:1.6'>" + "<br>".join(lines) + "</div>"


class CorpusExplorer(View):
    """Pick a seed, a kind of document and a document; see it and its kind's commonest words."""

    def __init__(self, n_documents: int = 300, seed: int = 0, top: int = 15) -> None:
        super().__init__()
        self.n_documents = n_documents
        self.top = top
        self.seed = widgets.IntSlider(value=seed, min=0, max=50, description="seed")
        self.kind = widgets.Dropdown(options=DOCUMENT_KINDS, value="story", description="kind")
        self.index = widgets.IntSlider(value=0, min=0, max=20, description="document")
        self.widget = widgets.HBox([self.seed, self.kind, self.index])
        self.fig = Figure(figsize=(8, 3), dpi=90)
        self.ax = self.fig.add_subplot()
        self._world: TinyWorld | None = None
        self.draw()
        for control in (self.seed, self.kind, self.index):
            control.observe(self._on_change, names="value")

    @property
    def documents(self) -> list[Document]:
        """The documents of the chosen kind in the current corpus."""
        assert self._world is not None
        return [d for d in self._world.documents if d.kind == self.kind.value]

    @property
    def document(self) -> Document:
        """The document the controls point at."""
        return self.documents[min(self.index.value, len(self.documents) - 1)]

    def top_words(self) -> list[tuple[str, int]]:
        """Most frequent words (punctuation excluded) across documents of the chosen kind."""
        counts: Counter[str] = Counter()
        for document in self.documents:
            counts.update(w for w in words_of(document.text) if w[0].isalnum())
        return counts.most_common(self.top)

    def draw(self) -> None:
        """Regenerate if the seed changed, then redraw the bar chart."""
        if self._world is None or self._world.seed != self.seed.value:
            self._world = generate_corpus(self.n_documents, seed=self.seed.value)
        self.index.max = max(0, len(self.documents) - 1)
        words, counts = zip(*self.top_words(), strict=True)
        self.ax.clear()
        self.ax.bar(range(len(words)), counts, color="#4c6ef5")
        self.ax.set_xticks(range(len(words)), words, rotation=45, ha="right")
        kind, seed = self.kind.value, self.seed.value
        self.ax.set_title(f"commonest words in {kind} documents (seed {seed})")
        self.ax.set_ylabel("count")
        self.fig.tight_layout()

    def outputs(self) -> list[Any]:
        """The bar chart (PNG), then the chosen document as HTML."""
        from IPython.display import HTML

        return [*super().outputs(), HTML(document_html(self.document))]
