"""Chapter 06's views: learning curves, a tagger explorer and a question-answering explorer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from bertlab.finetuning import (
    MODEL_INPUTS,
    NER_LABELS,
    Answer,
    LearningCurve,
    answer_question,
    word_ids_from_offsets,
)
from bertlab.metrics import bio_entities
from bertlab.model import BertForQuestionAnswering, BertForTokenClassification
from bertlab.tokenizer import BertTokenizer
from bertlab.viz import View


def plot_learning_curves(curves: Sequence[LearningCurve], ax: Any, chance: float = 0.5) -> None:
    """Draw mean test accuracy against labels, with a ±1 std band and each seed as a dot."""
    for curve in curves:
        counts = curve.label_counts
        means = np.array([curve.mean(n) for n in counts])
        spreads = np.array([curve.spread(n) for n in counts])
        (line,) = ax.plot(counts, means, marker="o", label=curve.name)
        ax.fill_between(counts, means - spreads, means + spreads, color=line.get_color(), alpha=0.2)
        for n in counts:
            ax.scatter([n] * len(curve.scores[n]), curve.scores[n], color=line.get_color(), s=8,
                       alpha=0.5)
    ax.axhline(chance, color="grey", linestyle=":", label="chance")
    ax.set_xscale("log")
    counts = sorted({n for curve in curves for n in curve.label_counts})
    ax.set_xticks(counts, [str(n) for n in counts])
    ax.minorticks_off()
    ax.set_xlabel("labelled training reviews")
    ax.set_ylabel("test accuracy (held-out adjectives)")
    ax.legend(loc="best")


def highlight_html(text: str, start: int, end: int) -> str:
    """The text as HTML with characters [start, end) highlighted: how a predicted answer shows."""
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"span [{start}, {end}) is outside a text of {len(text)} characters")
    return (
        f"{escape(text[:start])}<mark style=\"background:#ffd54f\">{escape(text[start:end])}"
        f"</mark>{escape(text[end:])}"
    )


class TaggerExplorer(View):
    """Type a sentence: the tagger's probability of every tag for each word, and its entities.

    Each word is read off its first piece, as in training. The figure (words across, tags
    down) and the sentence with its entities marked are redrawn in place on Enter.
    """

    def __init__(
        self,
        model: BertForTokenClassification,
        tokenizer: BertTokenizer,
        sentence: str = "",
        label_names: Sequence[str] = NER_LABELS,
        max_length: int = 64,
    ) -> None:
        super().__init__()
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length
        self.label_names = tuple(label_names)
        self.sentence = widgets.Text(
            value=sentence, description="sentence", continuous_update=False,
            placeholder="type a sentence and press Enter", layout=widgets.Layout(width="95%"),
        )
        self.widget = self.sentence
        self.fig = Figure(figsize=(9, 3.2), dpi=100)  # shown at full size: 8 pt stays 8 pt
        self.ax = self.fig.add_subplot()
        self.words: list[str] = []
        self.probs = np.zeros((0, len(self.label_names)))  # (words, tags)
        self.sentence.observe(self._on_change, names="value")
        self.draw()

    def tag(self, sentence: str) -> tuple[list[str], np.ndarray]:
        """The sentence's words (those in the window) and each word's tag probabilities."""
        matches = list(re.finditer(r"\w+|[^\w\s]", sentence))
        if not matches:
            return [], np.zeros((0, len(self.label_names)))
        encoding = self.tokenizer.encode(sentence, max_length=self.max_length)
        word_ids = word_ids_from_offsets(encoding.offsets, [m.span() for m in matches])
        inputs = {name: torch.tensor([getattr(encoding, name)]) for name in MODEL_INPUTS}
        self.model.eval()
        with torch.no_grad():
            probs = torch.softmax(self.model(**inputs).logits[0], -1).numpy()  # (T, tags)
        first = {}  # word -> its first piece
        for position, word in enumerate(word_ids):
            if word is not None and word not in first:
                first[word] = position
        return ([matches[w].group() for w in first],
                np.stack([probs[p] for p in first.values()]))

    def draw(self) -> None:
        """Tag the current sentence and redraw the words x tags probability map."""
        self.words, self.probs = self.tag(self.sentence.value)
        self.ax.clear()
        if not self.words:
            self.ax.text(0.5, 0.5, "type a sentence", ha="center", va="center")
            self.ax.set_axis_off()
            return
        self.ax.set_axis_on()
        self.ax.imshow(self.probs.T, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        self.ax.set_xticks(range(len(self.words)), self.words, rotation=45, ha="right",
                           fontsize=9)
        self.ax.set_yticks(range(len(self.label_names)), self.label_names, fontsize=9)
        for word, tag in enumerate(self.probs.argmax(-1)):
            self.ax.text(word, tag, f"{self.probs[word, tag]:.2f}", ha="center", va="center",
                         fontsize=8, color="white" if self.probs[word, tag] > 0.5 else "black")
        self.ax.set_title("P(tag) for each word, read off its first piece", fontsize=11)
        self.fig.tight_layout()

    def entities(self) -> list[tuple[str, int, int]]:
        """The entities (type, first word, end word) the tagger's best tags describe."""
        return bio_entities([self.label_names[i] for i in self.probs.argmax(-1)])

    def html(self) -> str:
        """The words with the entities marked by type."""
        if not self.words:
            return "<p><i>Type a sentence, for example one with a name and a town.</i></p>"
        words = [escape(word) for word in self.words]
        for kind, start, end in self.entities():
            words[start] = f"<mark style=\"background:#ffd54f\">{words[start]}"
            words[end - 1] = f"{words[end - 1]} <sub>{escape(kind)}</sub></mark>"
        return f"<p style='line-height:1.8'>{' '.join(words)}</p>"

    def outputs(self) -> list[Any]:
        """The sentence with its entities (HTML), then the probability map (PNG)."""
        from IPython.display import HTML

        return [HTML(self.html()), *super().outputs()]


class QAExplorer(View):
    """Pick a passage, type a question: the predicted answer is highlighted in the passage.

    The passage with its highlighted answer is an HTML output and the model's start/end
    probabilities are one matplotlib figure shown as a PNG; both are updated in place when
    a control changes, so the explorer works (and its first state renders) with no network.
    """

    def __init__(
        self,
        model: BertForQuestionAnswering,
        tokenizer: BertTokenizer,
        passages: Sequence[str],
        question: str = "",
        max_length: int = 128,
    ) -> None:
        super().__init__()
        if not passages:
            raise ValueError("QAExplorer needs at least one passage")
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length
        self.passages = list(passages)
        self.passage = widgets.Dropdown(
            options=[(f"{i}: {p[:70]}…", i) for i, p in enumerate(self.passages)],
            value=0, description="passage", layout=widgets.Layout(width="95%"),
        )
        self.question = widgets.Text(
            value=question, description="question", continuous_update=False,
            placeholder="type a question and press Enter", layout=widgets.Layout(width="95%"),
        )
        self.widget = widgets.VBox([self.passage, self.question])
        self.fig = Figure(figsize=(9, 3.0), dpi=100)  # shown at full size: 8 pt stays 8 pt
        self.ax = self.fig.add_subplot()
        self.answer: Answer | None = None
        self.passage.observe(self._on_change, names="value")
        self.question.observe(self._on_change, names="value")
        self.draw()

    def draw(self) -> None:
        """Answer the current question and redraw the probability figure."""
        passage, question = self.passages[self.passage.value], self.question.value
        self.answer = None
        if question.strip():
            self.answer = answer_question(self.model, self.tokenizer, question, passage,
                                          self.max_length)
        self.ax.clear()
        if self.answer is None:
            self.ax.text(0.5, 0.5, "type a question", ha="center", va="center")
            self.ax.set_axis_off()
            return
        self.ax.set_axis_on()
        positions = np.arange(len(self.answer.tokens))
        self.ax.bar(positions - 0.2, self.answer.start_probs, width=0.4, label="P(start)")
        self.ax.bar(positions + 0.2, self.answer.end_probs, width=0.4, label="P(end)")
        self.ax.set_xticks(positions, self.answer.tokens, rotation=90, fontsize=8)
        self.ax.set_ylim(0, 1)
        self.ax.set_ylabel("probability")
        self.ax.set_title(f"answer: {self.answer.text!r}", fontsize=11)
        self.ax.legend(loc="upper right", fontsize=9)
        self.fig.tight_layout()

    def html(self) -> str:
        """The passage with the predicted answer highlighted, and the answer spelled out."""
        passage = self.passages[self.passage.value]
        if self.answer is None:
            return f"<p>{escape(passage)}</p><p><i>Type a question about this passage.</i></p>"
        marked = highlight_html(passage, self.answer.start_char, self.answer.end_char)
        return (
            f"<p><b>Q:</b> {escape(self.question.value)}<br><b>A:</b> "
            f"{escape(self.answer.text)} <small>(score {self.answer.score:.2f})</small></p>"
            f"<p style='line-height:1.6'>{marked}</p>"
        )

    def outputs(self) -> list[Any]:
        """The highlighted passage (HTML), then the start/end probabilities (PNG)."""
        from IPython.display import HTML

        return [HTML(self.html()), *super().outputs()]
