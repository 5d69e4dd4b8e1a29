"""Chapter 06's views: learning curves, and a question-answering explorer."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from bertlab.finetuning import Answer, LearningCurve, answer_question
from bertlab.model import BertForQuestionAnswering
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
        self.fig = Figure(figsize=(10, 2.8), dpi=90)
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
        self.ax.set_title(f"answer: {self.answer.text!r}", fontsize=10)
        self.ax.legend(loc="upper right", fontsize=8)
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
