"""Chapter 07's views: which layer knows what, a probe explorer, and attention vs importance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from bertlab.linear_probes import LayerProbes
from bertlab.viz import View


def layer_names(n_layers: int) -> list[str]:
    """Axis labels for the embedding output and each layer."""
    return ["embeddings", *(f"layer {i}" for i in range(1, n_layers + 1))]


def plot_selectivity(results: Mapping[str, Sequence[LayerProbes]], fig: Figure) -> None:
    """One heatmap per model: properties x layers, coloured by selectivity (accuracy minus
    control accuracy), each cell printed with its value."""
    axes = fig.subplots(1, len(results), squeeze=False, sharey=True)[0]
    limit = max(abs(r.selectivity).max() for rows in results.values() for r in rows)
    image = None
    for ax, (model_name, rows) in zip(axes, results.items(), strict=True):
        grid = np.stack([r.selectivity for r in rows])  # (properties, layers + 1)
        image = ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=9,
                    color="white" if abs(value) > 0.6 * limit else "black")
        ax.set_xticks(range(grid.shape[1]), layer_names(grid.shape[1] - 1), fontsize=9,
                      rotation=30)
        ax.set_title(model_name, fontsize=10)
    first = next(iter(results.values()))
    axes[0].set_yticks(range(len(first)), [r.name for r in first], fontsize=9)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="selectivity")


class ProbeExplorer(View):
    """Pick a property: probe accuracy and control accuracy at every layer, for each model."""

    def __init__(self, results: Mapping[str, Sequence[LayerProbes]]) -> None:
        super().__init__()
        if not results:
            raise ValueError("ProbeExplorer needs the probe results of at least one model")
        self.results = {name: {r.name: r for r in rows} for name, rows in results.items()}
        names = list(next(iter(self.results.values())))
        self.property = widgets.Dropdown(options=names, value=names[0], description="property")
        self.property.observe(self._on_change, names="value")
        self.widget = self.property
        self.fig = Figure(figsize=(7, 3), dpi=90)
        self.draw()

    def draw(self) -> None:
        """Redraw the two curves per model for the chosen property."""
        self.fig.clear()
        ax = self.fig.subplots()
        for model_name, by_name in self.results.items():
            result = by_name[self.property.value]
            x = np.arange(len(result.accuracy))
            (line,) = ax.plot(x, result.accuracy, marker="o", label=f"{model_name}: probe")
            ax.plot(x, result.control, marker="x", linestyle="--", color=line.get_color(),
                    label=f"{model_name}: control")
            ax.axhline(result.majority, color="grey", linestyle=":", linewidth=1)
            ax.set_xticks(x, layer_names(len(x) - 1), fontsize=9)
        ax.set_ylabel("test accuracy", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{self.property.value} (dotted: the most common label)", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")


def plot_attention_vs_importance(relation_score: Any, drop: Any, ax: Any, relation: str,
                                 kind: str) -> None:
    """One dot per head: how often it attends to the relation's target (x) against how much
    accuracy on `kind` blanks falls without it (y), each dot labelled layer.head (from 1)."""
    x, y = np.asarray(relation_score).ravel(), np.asarray(drop).ravel()
    heads = relation_score.shape[1]
    ax.scatter(x, y, s=25)
    for index, (xi, yi) in enumerate(zip(x, y, strict=True)):
        ax.annotate(f"{index // heads + 1}.{index % heads + 1}", (xi, yi), fontsize=8,
                    xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"attention: {relation} accuracy", fontsize=9)
    ax.set_ylabel(f"drop in {kind} fill-in when removed", fontsize=9)
    ax.tick_params(labelsize=8)
