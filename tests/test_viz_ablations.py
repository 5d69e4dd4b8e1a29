"""Chapter 07's ablation figures draw every shipped seed, each recipe's mean, and readable text."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from bertlab.ablations import RECIPES, load_runs, measure
from bertlab.viz.ablations import plot_fill_in_curves, plot_seed_results


@pytest.fixture(scope="module")
def runs():
    return load_runs()


def _texts(fig) -> list:
    return [t for t in fig.findobj(Text) if t.get_text().strip()]


def test_curves_draw_each_seed_thin_and_each_recipe_mean_thick(runs):
    fig = Figure()
    axes = fig.subplots(1, 2)
    plot_fill_in_curves(runs, ["overall", "name"], axes)
    for ax, word_class in zip(axes, ["overall", "name"], strict=True):
        thick = [line for line in ax.get_lines() if line.get_linewidth() == 2]
        thin = [line for line in ax.get_lines() if line.get_linewidth() == 0.7]
        assert len(thin) == len(runs) and len(thick) == len(RECIPES)
        course = [run for run in runs if run.recipe.name == "nsp"]
        mean = np.mean([[e["fill_in"][word_class] for e in run.evals] for run in course], axis=0)
        assert np.allclose(thick[0].get_ydata(), mean)
    assert any(line.get_linestyle() == "--" for line in axes[1].get_lines()), "copy threshold"
    assert all(t.get_fontsize() >= 8 for t in _texts(fig))


def test_seed_results_put_every_seed_beside_its_recipe_mean(runs):
    fig = Figure()
    axes = fig.subplots(1, 2)
    plot_seed_results(runs, ["fill-in name", "transfer 100"], axes)
    for ax, what in zip(axes, ["fill-in name", "transfer 100"], strict=True):
        heights = [patch.get_height() for patch in ax.patches]
        assert heights == pytest.approx([measure(runs, name, what).mean for name in RECIPES])
        dots = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
        assert sorted(dots) == pytest.approx(sorted(
            v for name in RECIPES for v in measure(runs, name, what).values))
    assert [t.get_text() for t in axes[0].get_xticklabels()] == list(RECIPES)
    assert all(t.get_fontsize() >= 8 for t in _texts(fig))
