"""Chapter 07's ablation figures: fill-in over pretraining per recipe, and each seed's result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bertlab.ablations import COPYING_THRESHOLD, RECIPES, AblationRun, measure

COLOURS = {"nsp": "black", "sop": "tab:orange", "none": "tab:blue", "static": "tab:green",
           "mask40": "tab:purple"}


def _recipes(runs: Sequence[AblationRun]) -> list[str]:
    return [name for name in RECIPES if any(run.recipe.name == name for run in runs)]


def plot_fill_in_curves(runs: Sequence[AblationRun], word_classes: Sequence[str],
                        axes: Sequence[Any]) -> None:
    """Fill-in of each word class against pretraining step: a thin line per seed, the recipe's
    mean over seeds thick, and the copying threshold dashed on copy classes."""
    for ax, word_class in zip(axes, word_classes, strict=True):
        for name in _recipes(runs):
            chosen = [run for run in runs if run.recipe.name == name]
            steps = [e["step"] for e in chosen[0].evals]
            curves = np.array([[e["fill_in"][word_class] for e in run.evals] for run in chosen])
            for curve in curves:
                ax.plot(steps, curve, color=COLOURS[name], lw=0.7, alpha=0.35)
            seeds = f"{len(chosen)} seed{'s' if len(chosen) > 1 else ''}"
            ax.plot(steps, curves.mean(0), color=COLOURS[name], lw=2,
                    label=f"{RECIPES[name].label} ({seeds})")
        if word_class in ("name", "town or venue", "animal"):
            ax.axhline(COPYING_THRESHOLD, color="grey", ls="--", lw=1)
        ax.set_title(f"fill-in: {word_class}", fontsize=10)
        ax.set_xlabel("pretraining step", fontsize=9)
        ax.set_ylabel("accuracy", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)


def plot_seed_results(runs: Sequence[AblationRun], measurements: Sequence[str],
                      axes: Sequence[Any]) -> None:
    """One panel per measurement (see `ablations.measure`): each seed a dot, the mean a bar,
    so a difference between recipes can be compared with the spread within one."""
    names = _recipes(runs)
    for ax, what in zip(axes, measurements, strict=True):
        for x, name in enumerate(names):
            spread = measure(list(runs), name, what)
            ax.bar(x, spread.mean, color=COLOURS[name], alpha=0.35, width=0.7)
            ax.scatter([x] * len(spread.values), spread.values, color=COLOURS[name], s=18,
                       zorder=3)
            ax.plot([x, x], [spread.low, spread.high], color=COLOURS[name], lw=1.5)
        ax.set_xticks(range(len(names)), names, fontsize=9)
        ax.set_title(what.replace("copying", "copying starts at step:")
                     .replace("transfer", "transfer accuracy, labels:"), fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(axis="y", alpha=0.3)
        if what.startswith("transfer"):
            ax.set_ylim(0.4, 1.0)
