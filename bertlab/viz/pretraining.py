"""Chapter 05's views: the loss curves of a run as it trains, and a fill-mask explorer."""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from bertlab.model import BertForPreTraining
from bertlab.pretraining import EvalResult, StepLog
from bertlab.probes import predict_masked
from bertlab.tokenizer import BertTokenizer
from bertlab.viz import View


class LiveLossPlot(View):
    """A training callback that redraws one figure in place: losses by step, held-out scores.

    Show it (`plot.show()`, or as a cell's last value) before training starts and pass it in
    `callbacks`; it redraws at most every `every_seconds` and at each evaluation.
    """

    def __init__(self, every_seconds: float = 2.0, baseline: float | None = None,
                 baseline_label: str = "baseline") -> None:
        super().__init__()
        self.every_seconds = every_seconds
        self.fig = Figure(figsize=(10.0, 3.4), dpi=80)
        self.loss_ax, self.score_ax = self.fig.subplots(1, 2)
        (self.mlm_line,) = self.loss_ax.plot([], [], label="MLM loss (train)", lw=1)
        (self.nsp_line,) = self.loss_ax.plot([], [], label="NSP loss (train)", lw=1)
        (self.eval_mlm_line,) = self.loss_ax.plot([], [], "o-", ms=3,
                                                  label="MLM loss (held out)")
        (self.mlm_acc_line,) = self.score_ax.plot([], [], "o-", ms=3,
                                                  label="masked-token accuracy")
        (self.nsp_acc_line,) = self.score_ax.plot([], [], "s-", ms=3, label="NSP accuracy")
        if baseline is not None:
            self.score_ax.axhline(baseline, color="grey", ls="--", lw=1, label=baseline_label)
        self.loss_ax.set(xlabel="step", ylabel="loss", title="training loss")
        self.score_ax.set(xlabel="step", ylabel="accuracy", ylim=(0, 1),
                          title="held-out scores")
        for ax in (self.loss_ax, self.score_ax):
            ax.legend(loc="best", fontsize=8)
            ax.grid(alpha=0.3)
        self.fig.tight_layout()
        self.steps: list[StepLog] = []
        self.evals: list[EvalResult] = []
        self._last_draw = 0.0
        self._draw_seconds = 0.0

    def __call__(self, trainer: Any, record: StepLog | EvalResult) -> None:
        """Record a step or an evaluation; redraw when it is time to."""
        if isinstance(record, StepLog):
            self.steps.append(record)
        else:
            self.evals.append(record)
        # redraw at most every every_seconds, and never spend more than a tenth of the time
        # drawing: on a busy CPU a PNG takes long enough to slow training down
        wait = max(self.every_seconds, 10 * self._draw_seconds)
        if isinstance(record, EvalResult) or time.perf_counter() - self._last_draw >= wait:
            self.refresh()

    def refresh(self) -> None:
        """Redraw the figure and update the displayed image."""
        started = time.perf_counter()
        self.update()
        self._last_draw = time.perf_counter()
        self._draw_seconds = self._last_draw - started

    def draw(self) -> None:
        steps = [s.step for s in self.steps]
        self.mlm_line.set_data(steps, [s.mlm_loss for s in self.steps])
        self.nsp_line.set_data(steps, [s.nsp_loss for s in self.steps])
        eval_steps = [e.step for e in self.evals]
        self.eval_mlm_line.set_data(eval_steps, [e.mlm_loss for e in self.evals])
        self.mlm_acc_line.set_data(eval_steps, [e.mlm_accuracy for e in self.evals])
        self.nsp_acc_line.set_data(eval_steps, [e.nsp_accuracy for e in self.evals])
        for ax in (self.loss_ax, self.score_ax):
            ax.relim()
            ax.autoscale_view(scaley=ax is self.loss_ax)


class FillMaskExplorer(View):
    """Type a sentence with [MASK] in it; see the model's top-k guesses as a bar chart.

    With `compare=(name, model, tokenizer)` a second model's guesses stand beside the first's.
    """

    def __init__(self, model: BertForPreTraining, tokenizer: BertTokenizer,
                 text: str = "The dog [MASK] the ball.", k: int = 8, *, name: str = "model",
                 compare: tuple[str, BertForPreTraining, BertTokenizer] | None = None) -> None:
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        self.models = [(name, model, tokenizer)] + ([compare] if compare is not None else [])
        self.text = widgets.Text(value=text, description="sentence", continuous_update=False,
                                 layout=widgets.Layout(width="520px"))
        self.k = widgets.IntSlider(value=k, min=1, max=20, description="top k")
        self.which = widgets.Dropdown(options=[("[MASK] 1", 0)], value=0, description="mask")
        self.widget = widgets.VBox([self.text, widgets.HBox([self.k, self.which])])
        self.fig = Figure(figsize=(5.0 * len(self.models), 3.2), dpi=80)
        self.axes = list(self.fig.subplots(1, len(self.models), squeeze=False)[0])
        self.guesses: list[tuple[str, float]] = []  # the first model's, for the mask shown
        for control in (self.text, self.k, self.which):
            control.observe(self._on_change, names="value")
        self.draw()

    def draw(self) -> None:
        all_predictions = [predict_masked(model, tokenizer, self.text.value, self.k.value)
                           for _, model, tokenizer in self.models]
        predictions = all_predictions[0]
        options = [(f"[MASK] {i + 1}", i) for i in range(max(1, len(predictions)))]
        if [o[1] for o in self.which.options] != [o[1] for o in options]:
            with self.which.hold_trait_notifications():
                self.which.options = options
                self.which.value = 0
        self.guesses = predictions[min(self.which.value, len(predictions) - 1)] \
            if predictions else []
        colours = ("tab:blue", "tab:orange")
        for ax, (name, _, _), guesses_per_mask, colour in zip(
                self.axes, self.models, all_predictions, colours[:len(self.models)],
                strict=True):
            ax.clear()
            if not guesses_per_mask:
                ax.text(0.5, 0.5, "type a sentence with [MASK] in it", ha="center",
                        va="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            ax.set_axis_on()
            guesses = guesses_per_mask[min(self.which.value, len(guesses_per_mask) - 1)]
            tokens = [t for t, _ in guesses][::-1]
            ax.barh(tokens, [p for _, p in guesses][::-1], color=colour)
            ax.set(xlim=(0, 1), xlabel="probability",
                   title=f"{name}: top {len(tokens)} for [MASK] {self.which.value + 1}")
        self.fig.tight_layout()
