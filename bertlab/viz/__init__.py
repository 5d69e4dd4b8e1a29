"""Every widget and figure of the course, under one display protocol: `View`.

A view is ipywidgets controls plus outputs (one matplotlib figure shown as a plain PNG, and
sometimes an HTML part) that the controls redraw in place. PNG and HTML need no network, so
every view renders in JupyterLab offline and in an exported notebook. These are the only
modules of bertlab that import ipywidgets or matplotlib; the chapters' modules never do.

- `bertlab.viz.attention`: heatmaps, head and model views, the softmax slider, bertviz (ch02-04)
- `bertlab.viz.corpus`: the TinyWorld explorer (ch00)
- `bertlab.viz.pretraining`: the live loss plot and the fill-mask explorer (ch05)
- `bertlab.viz.finetuning`: learning curves and the question-answering explorer (ch06)
- `bertlab.viz.diagrams`: concept diagrams drawn from a config, sizes read from the code (ch02-06)
"""

from __future__ import annotations

import io
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure


class View:
    """Controls plus outputs that the controls redraw in place: the course's display protocol.

    A subclass builds `self.widget` (or leaves it None) and `self.fig`, and implements `draw`;
    one with text to show overrides `outputs` to add HTML beside the figure.
    """

    widget: widgets.Widget | None = None
    fig: Figure

    def __init__(self) -> None:
        self._handles: list[Any] = []

    def draw(self) -> None:  # pragma: no cover - every view overrides it
        """Redraw `self.fig` from the current state of the controls."""
        raise NotImplementedError

    def png(self) -> bytes:
        """Render the current figure to PNG bytes (what the notebook shows; needs no network)."""
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.fig.dpi, bbox_inches="tight")
        return buffer.getvalue()

    def outputs(self) -> list[Any]:
        """What `show` displays under the controls: the figure as a PNG image."""
        from IPython.display import Image

        return [Image(data=self.png(), format="png")]

    def update(self) -> None:
        """Redraw, then replace the displayed outputs in place (if the view is shown)."""
        self.draw()
        if not self._handles:
            return
        for handle, output in zip(self._handles, self.outputs(), strict=True):
            handle.update(output)

    def _on_change(self, _change: dict[str, Any]) -> None:
        self.update()

    def show(self) -> None:
        """Display the controls, then the outputs, which later changes update in place."""
        from IPython.display import display

        if self.widget is not None:
            display(self.widget)
        self._handles = [display(output, display_id=True) for output in self.outputs()]

    def _ipython_display_(self) -> None:
        self.show()
