"""Attention views that work offline: heatmaps (one head, a layer's heads, or every head before
and after training), head, layer and model views, and a softmax slider.

Every view is ipywidgets controls plus one matplotlib figure that the controls redraw in
place and that is displayed as a plain PNG, so it renders in an exported notebook with no
network. `to_bertviz` and the `bertviz_*` functions hand the same attentions to bertviz, whose
richer views are drawn by JavaScript that `bertlab.viz.bertviz_offline` inlines, so they need no
network either.

Attentions come as Hugging Face and bertlab models return them (a tuple with one
(batch, heads, seq, seq) tensor per layer) or as one (layers, heads, seq, seq) tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bertlab.viz import View
from bertlab.viz.bertviz_offline import offline_bertviz_html

MAX_WIDTH_INCHES = 14.0  # about the width of a notebook's output area at 72 dpi
ALL = -1  # the "all heads" / "all tokens" choice in a selector (ipywidgets treats None as unset)

BERTVIZ_OFFLINE_NOTE = (
    "bertviz draws this view with JavaScript (require.js, d3, jQuery) that bertlab puts inside "
    "this output, so it needs no network. If it is blank, run the cell: JupyterLab runs no saved "
    "scripts in a notebook it does not trust. The matplotlib view above needs no JavaScript."
)


def _to_numpy(array: Any, what: str) -> np.ndarray:
    if hasattr(array, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        return array.detach().float().cpu().numpy()
    if isinstance(array, np.ndarray):
        return array.astype(np.float32, copy=False)
    raise TypeError(f"{what} must be a torch tensor or a NumPy array, got {type(array).__name__}")


def _check_tokens(tokens: Sequence[str], seq_len: int) -> list[str]:
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise TypeError("tokens must be a list of strings, one per position (e.g. from tokenize())")
    if len(tokens) != seq_len:
        raise ValueError(
            f"got {len(tokens)} tokens but the attention covers {seq_len} positions; "
            "pass one token per position, padding included"
        )
    return list(tokens)


def stack_attentions(attentions: Any, batch_index: int = 0) -> np.ndarray:
    """Bring per-layer model attentions or one (L, nh, T, T) tensor to one (L, nh, T, T) array.

    Accepts a tuple/list of per-layer tensors shaped (batch, nh, T, T) or (nh, T, T), as
    Hugging Face and bertlab models return them, or a single tensor (L, nh, T, T) or
    (L, batch, nh, T, T); `batch_index` picks the sentence when there is a batch.
    """
    if isinstance(attentions, (list, tuple)):
        if len(attentions) == 0:
            raise ValueError("attentions is empty: ask the model for output_attentions=True")
        layers = []
        for index, layer in enumerate(attentions):
            array = _to_numpy(layer, f"attentions[{index}]")
            if array.ndim == 4:
                if not 0 <= batch_index < array.shape[0]:
                    raise IndexError(
                        f"batch_index {batch_index} is out of range for a batch of {array.shape[0]}"
                    )
                array = array[batch_index]
            elif array.ndim != 3:
                raise ValueError(
                    f"attentions[{index}] has shape {array.shape}; expected one tensor per layer "
                    "shaped (batch, heads, seq, seq) or (heads, seq, seq)"
                )
            layers.append(array)
        shapes = {layer.shape for layer in layers}
        if len(shapes) != 1:
            raise ValueError(f"every layer must have one (heads, seq, seq) shape, got {shapes}")
        stacked = np.stack(layers)  # (L, nh, T, T)
    else:
        stacked = _to_numpy(attentions, "attentions")
        if stacked.ndim == 5:
            stacked = stacked[:, batch_index]  # (L, nh, T, T)
        elif stacked.ndim != 4:
            raise ValueError(
                "a single attention tensor must be (layers, heads, seq, seq), got "
                f"{stacked.shape}; pass a model's per-layer tuple as it is"
            )
    if stacked.shape[-1] != stacked.shape[-2]:
        raise ValueError(f"self-attention weights must be square (seq, seq), got {stacked.shape}")
    if not np.isfinite(stacked).all():
        raise ValueError("attentions contain NaN or infinity; check the mask and the scores")
    return stacked


def attention_heatmap(
    weights: Any,
    tokens: Sequence[str],
    ax: Axes | None = None,
    *,
    title: str | None = None,
    annotate: bool | None = None,
    vmax: float = 1.0,
) -> Axes:
    """Draw one head's (query x key) weights with token labels: each row shows where a token looks.

    `annotate` writes each weight in its cell (default: when there are at most 12 tokens).
    """
    matrix = _to_numpy(weights, "weights")
    if matrix.ndim != 2:
        raise ValueError(f"weights must be one head's (seq, seq) matrix, got shape {matrix.shape}")
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"weights must be square (seq, seq), got {matrix.shape}")
    labels = _check_tokens(tokens, matrix.shape[0])
    if ax is None:
        import matplotlib.pyplot as plt

        size = 1.0 + 0.45 * len(labels)
        _, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=vmax)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    if title is not None:
        ax.set_title(title)
    if annotate is None:
        annotate = len(labels) <= 12
    if annotate:
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                colour = "white" if value > 0.6 * vmax else "black"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=colour)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def attention_entropy(attentions: Any, batch_index: int = 0) -> np.ndarray:
    """Each head's mean entropy over its query rows, in bits (L, nh): low means it focuses.

    A head that spreads every row evenly over T tokens has log2(T) bits; one that puts all of
    a row on one token has 0.
    """
    weights = stack_attentions(attentions, batch_index)  # (L, nh, T, T)
    logs = np.log2(np.clip(weights, 1e-12, None))
    return 0.0 - (weights * logs).sum(-1).mean(-1)  # 0.0 - x: no "-0.00" for a one-hot row


def before_after_heatmaps(
    before: Any,
    after: Any,
    tokens: Sequence[str],
    *,
    labels: tuple[str, str] = ("before training", "after training"),
    batch_index: int = 0,
) -> Figure:
    """Every head before and after training as small heatmaps, side by side, to see them change.

    Each panel is one head's (query x key) weights; its title gives the head's mean entropy in
    bits (lower: more focused). The head whose entropy fell most is framed in red on both sides.
    """
    grids = [stack_attentions(before, batch_index), stack_attentions(after, batch_index)]
    if grids[0].shape != grids[1].shape:
        raise ValueError(f"before and after must have one shape, got {grids[0].shape} and "
                         f"{grids[1].shape}")
    num_layers, num_heads, seq_len, _ = grids[0].shape
    names = _check_tokens(tokens, seq_len)
    entropies = [attention_entropy(grid) for grid in grids]
    drop = entropies[0] - entropies[1]
    framed = np.unravel_index(int(np.argmax(drop)), drop.shape)
    cell = max(1.5, 0.16 * seq_len)  # inches a panel: room for 8 pt token labels
    figure = Figure(figsize=(2 * num_heads * cell + 2.2, num_layers * cell + 1.6), dpi=80,
                    layout="constrained")
    sides = figure.subfigures(1, 2, wspace=0.04)
    for side, grid, entropy, label in zip(sides, grids, entropies, labels, strict=True):
        axes = side.subplots(num_layers, num_heads, squeeze=False)
        for (layer, head), ax in np.ndenumerate(axes):
            ax.imshow(grid[layer, head], cmap="Blues", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
            ax.set_title(f"L{layer} H{head}: {entropy[layer, head]:.2f} bits", fontsize=8)
            ax.set_xticks(range(seq_len), names if layer == num_layers - 1 else [],
                          rotation=90, fontsize=8)
            ax.set_yticks(range(seq_len), names if head == 0 else [], fontsize=8)
            if (layer, head) == framed:
                for spine in ax.spines.values():
                    spine.set(color="tab:red", linewidth=2.5)
        side.suptitle(f"{label} (rows: query, columns: key): mean {entropy.mean():.2f} bits "
                      f"(uniform: {np.log2(seq_len):.2f})", fontsize=10)
    return figure


def head_colours(num_heads: int) -> list[tuple[float, float, float]]:
    """One distinct colour per head, shared by the head view's lines and legend."""
    palette = matplotlib.colormaps["tab10" if num_heads <= 10 else "tab20"]
    return [palette(h % palette.N)[:3] for h in range(num_heads)]


class HeadView(View):
    """Tokens on two sides, lines weighted by attention; pick a layer, a head and a token."""

    def __init__(
        self,
        attentions: Any,
        tokens: Sequence[str],
        *,
        layer: int = 0,
        head: int = ALL,
        batch_index: int = 0,
        min_weight: float = 0.01,
    ) -> None:
        super().__init__()
        self.attentions = stack_attentions(attentions, batch_index)  # (L, nh, T, T)
        num_layers, num_heads, seq_len, _ = self.attentions.shape
        self.tokens = _check_tokens(tokens, seq_len)
        self.min_weight = min_weight
        self.colours = head_colours(num_heads)
        self.layer = widgets.Dropdown(
            options=[(f"layer {i}", i) for i in range(num_layers)], value=layer, description="layer"
        )
        self.head = widgets.Dropdown(
            options=[("all heads", ALL)] + [(f"head {h}", h) for h in range(num_heads)],
            value=head,
            description="head",
        )
        self.direction = widgets.ToggleButtons(
            options=[("attends to →", "from"), ("← attended by", "to")],
            value="from",
            description="token",
            tooltips=["lines from the token on the left", "lines into the token on the right"],
        )
        self.token = widgets.ToggleButtons(
            options=[("all", ALL)] + [(f"{i}:{t}", i) for i, t in enumerate(self.tokens)],
            value=ALL,
            style={"button_width": "auto"},
        )
        self.widget = widgets.VBox(
            [widgets.HBox([self.layer, self.head]), self.direction, self.token]
        )
        self.fig = Figure(figsize=(5.0, 1.2 + 0.32 * seq_len), dpi=90)
        self.ax = self.fig.add_subplot()
        for control in (self.layer, self.head, self.direction, self.token):
            control.observe(self._on_change, names="value")
        self.draw()

    def _visible(self, weights: np.ndarray) -> np.ndarray:
        """Keep only the selected token's row (outgoing) or column (incoming)."""
        token = self.token.value
        if token == ALL:
            return weights
        kept = np.zeros_like(weights)
        if self.direction.value == "from":
            kept[token] = weights[token]
        else:
            kept[:, token] = weights[:, token]
        return kept

    def draw(self) -> None:
        """Redraw the lines and tokens for the current layer, head and token selection."""
        ax = self.ax
        ax.cla()
        ax.set_axis_off()
        seq_len = len(self.tokens)
        ax.set_xlim(-0.7, 1.7)
        ax.set_ylim(-seq_len + 0.5, 0.8)
        heads = range(self.attentions.shape[1]) if self.head.value == ALL else [self.head.value]
        for h in heads:
            weights = self._visible(self.attentions[self.layer.value, h])
            queries, keys = np.nonzero((weights >= self.min_weight) & (weights > 0.0))
            alphas = np.clip(weights[queries, keys], 0.0, 1.0)
            segments = [[(0.05, -q), (0.95, -k)] for q, k in zip(queries, keys, strict=True)]
            colours = [(*self.colours[h], a) for a in alphas]
            ax.add_collection(LineCollection(segments, colors=colours, linewidths=2.0))
        token = self.token.value
        for i, text in enumerate(self.tokens):
            picked_left = token == i and self.direction.value == "from"
            picked_right = token == i and self.direction.value == "to"
            ax.text(0.0, -i, text, ha="right", va="center", fontsize=10,
                    fontweight="bold" if picked_left else "normal",
                    backgroundcolor="#ffe08a" if picked_left else "none")
            ax.text(1.0, -i, text, ha="left", va="center", fontsize=10,
                    fontweight="bold" if picked_right else "normal",
                    backgroundcolor="#ffe08a" if picked_right else "none")
        label = "all heads" if self.head.value == ALL else f"head {self.head.value}"
        ax.set_title(f"layer {self.layer.value}, {label}", fontsize=11)
        if self.head.value == ALL:
            handles = [Line2D([], [], color=c, linewidth=3) for c in self.colours]
            ax.legend(handles, [f"{h}" for h in range(len(handles))], title="head",
                      loc="lower center", bbox_to_anchor=(0.5, 1.02 + 0.2 / seq_len),
                      ncol=min(len(handles), 6), fontsize=8, title_fontsize=8, frameon=False)


class LayerHeadsView(View):
    """One layer's heads side by side, one labelled heatmap each; pick the layer to compare."""

    def __init__(
        self,
        attentions: Any,
        tokens: Sequence[str],
        *,
        layer: int = 0,
        batch_index: int = 0,
        columns: int = 4,
    ) -> None:
        """`columns`: the most heatmaps in a row; long sentences get fewer, so labels stay 8 pt."""
        super().__init__()
        self.attentions = stack_attentions(attentions, batch_index)  # (L, nh, T, T)
        num_layers, num_heads, seq_len, _ = self.attentions.shape
        self.tokens = _check_tokens(tokens, seq_len)
        cell = 0.6 + 0.14 * seq_len  # inches a heatmap: room for one 8 pt label per token
        fits = max(1, int((MAX_WIDTH_INCHES - 1.2) // cell))  # wider would be shrunk on screen
        self.columns = min(columns, num_heads, fits)
        self.layer = widgets.Dropdown(
            options=[(f"layer {i}", i) for i in range(num_layers)], value=layer, description="layer"
        )
        self.widget = self.layer
        rows = -(-num_heads // self.columns)
        self.fig = Figure(figsize=(1.2 + cell * self.columns, 1.4 + cell * rows), dpi=72)
        self.layer.observe(self._on_change, names="value")
        self.draw()

    def draw(self) -> None:
        """Redraw every head of the chosen layer, token labels on the outer axes only."""
        num_heads = self.attentions.shape[1]
        rows = -(-num_heads // self.columns)
        self.fig.clf()
        grid = self.fig.subplots(rows, self.columns, squeeze=False, sharex=True, sharey=True)
        ticks = range(len(self.tokens))
        for index, ax in enumerate(grid.flat):
            if index >= num_heads:
                ax.set_visible(False)
                continue
            row, column = divmod(index, self.columns)
            ax.imshow(self.attentions[self.layer.value, index], cmap="Blues", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
            ax.set_title(f"head {index}", fontsize=10)
            ax.set_xticks(ticks, self.tokens, rotation=90, fontsize=8)
            ax.set_yticks(ticks, self.tokens, fontsize=8)
            ax.tick_params(labelbottom=row == rows - 1 or index + self.columns >= num_heads,
                           labelleft=column == 0)
        self.fig.suptitle(f"layer {self.layer.value}: rows = query (attending), columns = key "
                          "(attended to)", fontsize=11)
        self.fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.97))


class ModelView(View):
    """Every head of every layer at once as small heatmaps, to spot patterns across the model."""

    def __init__(
        self,
        attentions: Any,
        tokens: Sequence[str],
        *,
        batch_index: int = 0,
        max_layers: int = 6,
    ) -> None:
        super().__init__()
        self.attentions = stack_attentions(attentions, batch_index)  # (L, nh, T, T)
        num_layers, _, seq_len, _ = self.attentions.shape
        self.tokens = _check_tokens(tokens, seq_len)
        self.layers = widgets.IntRangeSlider(
            value=(0, min(num_layers, max_layers) - 1),
            min=0,
            max=num_layers - 1,
            description="layers",
        )
        self.token = widgets.Dropdown(
            options=[("all tokens", ALL)] + [(f"{i}: {t}", i) for i, t in enumerate(self.tokens)],
            value=ALL,
            description="query",
        )
        self.widget = widgets.HBox([self.layers, self.token])
        self.fig = Figure(dpi=80)
        for control in (self.layers, self.token):
            control.observe(self._on_change, names="value")
        self.draw()

    def draw(self) -> None:
        """Redraw the grid of (layer, head) thumbnails for the chosen layers and query token."""
        first, last = self.layers.value
        shown = range(first, last + 1)
        num_heads = self.attentions.shape[1]
        self.fig.clf()
        cell = max(1.1, min(2.2, 8.0 / num_heads))  # inches a thumbnail: ~8 in wide when few heads
        self.fig.set_size_inches(0.4 + cell * num_heads, 0.5 + cell * len(shown))
        grid = self.fig.subplots(len(shown), num_heads, squeeze=False)
        cmap = matplotlib.colormaps["Blues"].with_extremes(bad="#eeeeee")
        for row, layer in enumerate(shown):
            for head in range(num_heads):
                ax = grid[row, head]
                weights = self.attentions[layer, head]
                if self.token.value != ALL:
                    hidden = np.ones_like(weights, dtype=bool)
                    hidden[self.token.value] = False
                    weights = np.ma.masked_array(weights, mask=hidden)
                ax.imshow(weights, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"head {head}", fontsize=8)
                if head == 0:
                    ax.set_ylabel(f"layer {layer}", fontsize=8)
        token = self.token.value
        query = "all queries" if token == ALL else f"query {self.tokens[token]!r}"
        self.fig.suptitle(f"rows = query, columns = key; {query}", fontsize=9)


class SoftmaxTemperatureView(View):
    """Slide the softmax temperature: attention sharpens toward argmax or flattens to uniform."""

    def __init__(self, scores: Any, tokens: Sequence[str], *, query: int = 0) -> None:
        super().__init__()
        self.scores = _to_numpy(scores, "scores")
        if self.scores.ndim != 2 or self.scores.shape[0] != self.scores.shape[1]:
            raise ValueError(f"scores must be a square (seq, seq) matrix, got {self.scores.shape}")
        self.tokens = _check_tokens(tokens, self.scores.shape[0])
        self.temperature = widgets.FloatLogSlider(
            value=1.0, base=10, min=-1, max=1, step=0.05, description="temperature",
            style={"description_width": "initial"},
        )
        self.query = widgets.Dropdown(
            options=[(f"{i}: {t}", i) for i, t in enumerate(self.tokens)],
            value=query,
            description="query",
        )
        self.widget = widgets.HBox([self.temperature, self.query])
        self.fig = Figure(figsize=(10.0, 4.2), dpi=80)
        for control in (self.temperature, self.query):
            control.observe(self._on_change, names="value")
        self.draw()

    def weights(self) -> np.ndarray:
        """softmax(scores / temperature) row by row: the attention the slider currently gives."""
        scaled = self.scores / self.temperature.value
        scaled = scaled - scaled.max(axis=-1, keepdims=True)
        exps = np.exp(scaled)
        return exps / exps.sum(axis=-1, keepdims=True)

    def draw(self) -> None:
        """Redraw the chosen query's weights as bars and the whole weight matrix as a heatmap."""
        weights = self.weights()
        row = weights[self.query.value]
        self.fig.clf()  # also drops the previous colorbar
        self.ax_bars, self.ax_matrix = self.fig.subplots(1, 2, width_ratios=[1, 1.2])
        self.ax_bars.bar(range(len(row)), row, color="tab:blue")
        self.ax_bars.set_xticks(range(len(row)), self.tokens, rotation=90)
        self.ax_bars.set_ylim(0, 1)
        self.ax_bars.set_ylabel("attention weight")
        entropy = float(-(row * np.log(np.clip(row, 1e-12, None))).sum())
        self.ax_bars.set_title(
            f"query {self.tokens[self.query.value]!r}: temperature {self.temperature.value:.2f}, "
            f"entropy {entropy:.2f} (uniform = {np.log(len(row)):.2f})",
            fontsize=9,
        )
        attention_heatmap(weights, self.tokens, ax=self.ax_matrix, title="all queries")


def to_bertviz(
    attentions: Any, tokens: Sequence[str], batch_index: int = 0
) -> tuple[list, list[str]]:
    """Reshape attentions into bertviz's input: a list with one (1, nh, T, T) tensor per layer."""
    import torch

    stacked = stack_attentions(attentions, batch_index)  # (L, nh, T, T)
    labels = _check_tokens(tokens, stacked.shape[-1])
    return [torch.from_numpy(layer).unsqueeze(0) for layer in stacked], labels  # L x (1, nh, T, T)


def _bertviz_html(view_name: str, attentions: Any, tokens: Sequence[str], **kwargs: Any) -> Any:
    from IPython.display import HTML

    layers, labels = to_bertviz(attentions, tokens, kwargs.pop("batch_index", 0))
    note = f'<p style="color:#555;font-size:90%"><i>{BERTVIZ_OFFLINE_NOTE}</i></p>'
    try:
        import bertviz
    except ImportError:
        return HTML(note + "<p>bertviz is not installed (pip install bertviz) — skipped.</p>")
    view = getattr(bertviz, view_name)
    html = view(layers, labels, html_action="return", **kwargs)
    return HTML(note + offline_bertviz_html(html.data))


def bertviz_head_view(attentions: Any, tokens: Sequence[str], **kwargs: Any) -> Any:
    """bertviz's head view of the same attentions, drawn with no network."""
    return _bertviz_html("head_view", attentions, tokens, **kwargs)


def bertviz_model_view(attentions: Any, tokens: Sequence[str], **kwargs: Any) -> Any:
    """bertviz's model view of the same attentions, drawn with no network."""
    return _bertviz_html("model_view", attentions, tokens, **kwargs)
