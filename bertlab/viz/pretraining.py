"""Chapter 05's views: what masking does to a batch, the loss curves of a run as it trains, and a
fill-mask explorer."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from bertlab.model import BertForPreTraining
from bertlab.pretraining import EvalResult, PretrainingDataset, StepLog, mask_tokens
from bertlab.probes import predict_masked
from bertlab.tokenizer import BertTokenizer
from bertlab.viz import View

MASKING_COLOURS = ("#f0f0f0", "#d62728", "#ff7f0e", "#2ca02c", "#9e9e9e")
MASKING_KINDS = ("kept as is", "[MASK]", "random token", "unchanged, predicted", "special/padding")


class MaskingView(View):
    """The first sequences of a dataset, one row each, coloured by what masking did to each token.

    Sliders set the masking probability and the epoch whose masks are drawn; the title counts
    the share of tokens chosen for prediction and the share the model sees changed. At the
    dataset's own probability the rows are exactly what `dataset.example(i, epoch)` gives.
    """

    def __init__(self, dataset: PretrainingDataset, rows: int = 8,
                 mask_prob: float | None = None) -> None:
        super().__init__()
        self.dataset = dataset
        self.rows = min(rows, len(dataset))
        start = dataset.scheme.mask_prob if mask_prob is None else mask_prob
        self.mask_prob = widgets.FloatSlider(value=start, min=0.05, max=0.6, step=0.05,
                                             description="mask prob.", readout_format=".2f")
        self.epoch = widgets.IntSlider(value=0, min=0, max=9, description="epoch")
        self.widget = widgets.HBox([self.mask_prob, self.epoch])
        self.fig = Figure(figsize=(11.0, 3.0), dpi=80)
        self.ax = self.fig.subplots()
        self.codes = np.zeros((0, 0))
        self.shares: dict[str, float] = {}
        for control in (self.mask_prob, self.epoch):
            control.observe(self._on_change, names="value")
        self.draw()

    def masked(self, index: int) -> tuple[list[int], list[int], list[int]]:
        """Pair `index`: its tokens, what the model reads, and the labels, at the sliders."""
        pair = self.dataset.pairs[index]
        ids, _ = pair.encode(self.dataset.cls_id, self.dataset.sep_id)
        scheme = replace(self.dataset.scheme, mask_prob=self.mask_prob.value)
        epoch = self.epoch.value if self.dataset.dynamic else 0
        rng = random.Random(f"{self.dataset.seed}:{epoch}:{index}")  # as dataset.example does
        masked = mask_tokens(ids, scheme, rng)
        return ids, masked.input_ids, masked.labels

    def draw(self) -> None:
        """Colour every token of the shown rows, and count what masking chose and changed."""
        rows = [self.masked(i) for i in range(self.rows)]
        width = max(len(ids) for ids, _, _ in rows)
        codes = np.full((self.rows, width), 4)  # padding
        predicted = changed = total = 0
        for row, (ids, shown, labels) in enumerate(rows):
            for col, (token, seen, label) in enumerate(zip(ids, shown, labels, strict=True)):
                if token in self.dataset.scheme.never_mask:
                    codes[row, col] = 4
                elif label == -100:
                    codes[row, col] = 0
                elif seen == self.dataset.scheme.mask_id:
                    codes[row, col] = 1
                else:
                    codes[row, col] = 2 if seen != token else 3
            total += len(ids)
            predicted += sum(label != -100 for label in labels)
            changed += sum(a != b for a, b in zip(ids, shown, strict=True))
        self.codes = codes
        self.shares = {"predicted": predicted / total, "changed": changed / total}
        self.ax.clear()
        self.ax.imshow(codes, cmap=ListedColormap(MASKING_COLOURS), vmin=0, vmax=4,
                       aspect="auto", interpolation="nearest")
        self.ax.set_xlabel("position", fontsize=9)
        self.ax.set_ylabel("sequence", fontsize=9)
        self.ax.tick_params(labelsize=8)
        self.ax.set_title(
            f"mask probability {self.mask_prob.value:.2f}, epoch {self.epoch.value}: "
            f"{self.shares['predicted']:.1%} of the tokens predicted, "
            f"{self.shares['changed']:.1%} changed", fontsize=10)
        handles = [self.ax.add_patch(_patch(colour)) for colour in MASKING_COLOURS]
        self.ax.legend(handles, MASKING_KINDS, fontsize=8, ncols=5, loc="upper center",
                       bbox_to_anchor=(0.5, -0.22), frameon=False)
        self.fig.tight_layout()


def _patch(colour: str) -> Any:
    """An invisible legend swatch of one colour."""
    from matplotlib.patches import Rectangle

    return Rectangle((0, 0), 0, 0, facecolor=colour, edgecolor="#666666", linewidth=0.5)


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
        # the sentence-level task is NSP, or ALBERT's sentence order (SOP), or none at all
        sop = any(s.sop_loss is not None for s in self.steps)
        self.nsp_line.set_data(steps, [s.sop_loss if sop else s.nsp_loss for s in self.steps])
        eval_steps = [e.step for e in self.evals]
        self.eval_mlm_line.set_data(eval_steps, [e.mlm_loss for e in self.evals])
        self.mlm_acc_line.set_data(eval_steps, [e.mlm_accuracy for e in self.evals])
        self.nsp_acc_line.set_data(eval_steps, [e.sop_accuracy if sop else e.nsp_accuracy
                                                for e in self.evals])
        if sop and self.nsp_line.get_label().startswith("NSP"):
            self.nsp_line.set_label("SOP loss (train)")
            self.nsp_acc_line.set_label("SOP accuracy")
            for ax in (self.loss_ax, self.score_ax):
                ax.legend(loc="best", fontsize=8)
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
