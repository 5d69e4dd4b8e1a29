"""Chapter 05's bias figures: a model's P(woman | role) against its corpus's, and MiniLM's
embedding association of the same roles with women's and men's names."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bertlab.bias import GENERATOR_FEMALE_RATE, EmbeddingAssociation, RoleCount
from bertlab.viz.diagrams import Diagram

LABEL_SIZE = 9


def rates_figure(counts: Sequence[RoleCount], model_rates: Sequence[float],
                 truth: float = GENERATOR_FEMALE_RATE, labelled: Sequence[str] = (),
                 model_name: str = "course model") -> Diagram:
    """Model vs corpus P(woman | role), one dot a role with its 95% interval, at two zooms.

    Left: both axes on the same scale, so a model that copied the corpus would lie on the
    diagonal and one that learned the generator lies on the flat line. Right: the model's axis
    zoomed in, with the least-squares line, to show what is left of the corpus's skew.
    """
    x = np.array([c.rate for c in counts])
    y = np.asarray(model_rates, float)
    low, high = np.array([c.interval() for c in counts]).T
    fig = Diagram(figsize=(12, 4.8), dpi=100)
    wide, zoom = fig.subplots(1, 2)
    slope, intercept = np.polyfit(x, y, 1)
    span = max(np.abs(x - truth).max(), np.abs(high - truth).max(), np.abs(low - truth).max())
    limits = (truth - span - 0.03, truth + span + 0.03)
    deviation = max(np.abs(y - truth).max(), 1e-3)
    for ax, ylim in ((wide, limits), (zoom, (truth - 1.6 * deviation, truth + 1.6 * deviation))):
        ax.errorbar(x, y, xerr=[x - low, high - x], fmt="o", ms=4, color="tab:blue",
                    ecolor="lightsteelblue", elinewidth=0.8, alpha=0.9, capsize=0,
                    label="a role (bar: corpus's 95% interval)")
        grid = np.linspace(*limits, 2)
        ax.plot(grid, grid, ls="--", color="tab:red", lw=1,
                label="copies the corpus (slope 1)")
        ax.axhline(truth, color="grey", lw=1.2, label=f"generator's truth ({truth:.2f})")
        ax.axvline(truth, color="grey", lw=0.6, ls=":")
        ax.set(xlim=limits, ylim=ylim)
        ax.set_xlabel("corpus: share of women among the role's subjects", fontsize=LABEL_SIZE + 1)
        ax.set_ylabel(f"{model_name}: implied P(woman | role)", fontsize=LABEL_SIZE + 1)
        ax.tick_params(labelsize=LABEL_SIZE)
        ax.grid(alpha=0.3)
    zoom.plot(grid, slope * grid + intercept, color="tab:green", lw=1.2,
              label=f"least squares (slope {slope:.2f})")
    wide.set_title("same scale on both axes", fontsize=LABEL_SIZE + 2)
    zoom.set_title("model axis zoomed in", fontsize=LABEL_SIZE + 2)
    roles = [c.role for c in counts]
    extremes = {roles[int(np.argmin(x))], roles[int(np.argmax(x))]}
    for i, role in enumerate(roles):
        if role in labelled or role in extremes:
            zoom.annotate(role, (x[i], y[i]), xytext=(4, 3), textcoords="offset points",
                          fontsize=LABEL_SIZE, weight="bold")
    wide.legend(fontsize=LABEL_SIZE, loc="upper left")
    zoom.legend(fontsize=LABEL_SIZE, loc="upper left", handles=zoom.get_lines()[-1:])
    fig.tight_layout()
    return fig


def association_figure(association: EmbeddingAssociation, q: float = 0.99,
                       model_name: str = "MiniLM", extra: Sequence[str] = ()) -> Diagram:
    """Each word's embedding association, sorted, with the band random name splits reach.

    The title says what the number is: a difference of cosines between vectors, not a
    fill-mask probability. Words in `extra` (not TinyWorld roles) are drawn hatched.
    """
    order = np.argsort(association.scores)
    words = [association.words[i] for i in order]
    scores = association.scores[order]
    noise = association.null_quantile(q)
    colours = ["tab:orange" if s > noise else "tab:purple" if s < -noise else "lightgrey"
               for s in scores]
    fig = Diagram(figsize=(12, 4.2), dpi=100)
    ax = fig.subplots()
    bars = ax.bar(range(len(words)), scores, color=colours)
    for bar, word in zip(bars, words, strict=True):
        if word in extra:
            bar.set_hatch("//")
            bar.set_edgecolor("black")
    ax.axhspan(-noise, noise, color="grey", alpha=0.15,
               label=f"random halves of the names reach this ({q:.0%} of the time)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(words)), words, rotation=90, fontsize=LABEL_SIZE)
    ax.set_xlim(-0.7, len(words) - 0.3)
    ax.tick_params(axis="y", labelsize=LABEL_SIZE)
    ax.set_ylabel("cos to women's names - cos to men's", fontsize=LABEL_SIZE + 1)
    ax.set_title(f"{model_name}: embedding association of each role with women's vs men's names "
                 "(cosines of contextual vectors, not a fill-mask probability)",
                 fontsize=LABEL_SIZE + 2)
    ax.legend(fontsize=LABEL_SIZE, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
