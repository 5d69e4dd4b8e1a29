"""Chapter 05's bias figures draw what they are given, readably, and say what their numbers are."""

from __future__ import annotations

import numpy as np
from matplotlib.text import Text

from bertlab.bias import EmbeddingAssociation, RoleCount
from bertlab.viz.bias import association_figure, rates_figure

COUNTS = [RoleCount("nurse", 15, 15), RoleCount("pilot", 18, 8), RoleCount("tailor", 8, 16),
          RoleCount("king", 19, 14), RoleCount("queen", 11, 11)]


def _smallest_font(fig) -> float:
    return min(t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip())


def test_rates_figure_shows_each_role_at_two_zooms_with_its_interval():
    model = [0.50, 0.51, 0.49, 0.505, 0.5]
    fig = rates_figure(COUNTS, model, labelled=("king", "queen"))
    wide, zoom = fig.axes
    for ax in (wide, zoom):
        xs, ys = ax.lines[0].get_data()  # the dots of the error bar plot
        np.testing.assert_allclose(xs, [c.rate for c in COUNTS])
        np.testing.assert_allclose(ys, model)
    assert wide.get_xlim() == wide.get_ylim()  # the same scale on both axes
    assert zoom.get_ylim()[1] - zoom.get_ylim()[0] < 0.1 < wide.get_ylim()[1] - wide.get_ylim()[0]
    low, high = COUNTS[1].interval()
    assert wide.get_xlim()[0] < COUNTS[2].interval()[0] and high < wide.get_xlim()[1] and low > 0
    labels = {t.get_text() for t in zoom.texts}
    assert {"king", "queen", "pilot", "tailor"} <= labels and "nurse" not in labels
    assert any("slope 0.0" in t.get_text() for t in zoom.get_legend().get_texts())
    assert _smallest_font(fig) >= 8
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_association_figure_sorts_words_marks_the_noise_band_and_says_what_it_is():
    rng = np.random.default_rng(0)
    words = ("king", "nurse", "queen", "waitress", "clerk")
    association = EmbeddingAssociation(words, np.array([-0.08, 0.17, 0.14, 0.10, 0.001]),
                                       0.01 * rng.standard_normal((50, 5)))
    fig = association_figure(association, extra=("waitress",))
    (ax,) = fig.axes
    heights = [bar.get_height() for bar in ax.patches if bar.get_width() < 1]
    assert heights == sorted(heights) and len(heights) == len(words)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["king", "clerk", "waitress", "queen",
                                                           "nurse"]
    hatched = [bar for bar in ax.patches if bar.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_height() == 0.10
    assert "not a fill-mask probability" in ax.get_title()
    assert _smallest_font(fig) >= 8
