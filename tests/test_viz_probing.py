"""Chapter 07's views: the selectivity heatmap, the probe explorer, attention vs importance."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from bertlab.linear_probes import LayerProbes
from bertlab.viz.probing import (
    ProbeExplorer,
    layer_names,
    plot_attention_vs_importance,
    plot_selectivity,
)


def _results() -> dict[str, list[LayerProbes]]:
    rows = [LayerProbes("word class", np.array([[0.9, 0.95, 0.97]]), np.array([[0.7, 0.7, 0.7]]),
                        0.5, 100),
            LayerProbes("document kind", np.array([[0.4, 0.9, 1.0]]), np.array([[0.4, 0.3, 0.3]]),
                        0.4, 30)]
    flat = [LayerProbes(r.name, r.controls, r.controls, r.majority, r.test_examples) for r in rows]
    return {"trained": rows, "random": flat}


def test_selectivity_heatmap_prints_each_cell_and_keeps_labels_readable() -> None:
    fig = Figure()
    plot_selectivity(_results(), fig)
    first = fig.axes[0]
    values = [t.get_text() for t in first.texts]
    assert values[:3] == ["+0.20", "+0.25", "+0.27"] and len(values) == 6
    assert [t.get_text() for t in first.get_yticklabels()] == ["word class", "document kind"]
    assert [t.get_text() for t in first.get_xticklabels()] == layer_names(2)
    sizes = [t.get_fontsize() for ax in fig.axes for t in [*ax.texts, *ax.get_xticklabels(),
                                                          *ax.get_yticklabels()]]
    assert min(sizes) >= 8


def test_probe_explorer_redraws_the_chosen_property() -> None:
    explorer = ProbeExplorer(_results())
    assert "word class" in explorer.fig.axes[0].get_title()
    explorer.property.value = "document kind"
    ax = explorer.fig.axes[0]
    assert "document kind" in ax.get_title()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.4, 0.9, 1.0])
    assert explorer.png().startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        ProbeExplorer({})


def test_attention_vs_importance_labels_heads_from_one() -> None:
    fig = Figure()
    ax = fig.subplots()
    plot_attention_vs_importance(np.array([[0.1, 0.8], [0.3, 0.2]]),
                                 np.array([[0.0, 0.05], [0.01, 0.0]]), ax, "copy", "name")
    assert [t.get_text() for t in ax.texts] == ["1.1", "1.2", "2.1", "2.2"]
    assert "copy" in ax.get_xlabel() and "name" in ax.get_ylabel()
