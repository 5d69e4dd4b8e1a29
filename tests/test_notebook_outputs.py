"""The committed chapters as a learner opens them: run, every figure saved, no progress walls."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.ipynb"))
DRAWS = re.compile(r"plt\.show\(|\.subplots\(|plt\.figure\(|display\(fig")
PROGRESS = re.compile(r"\d+%\|")  # a tqdm bar: '42%|████'
IMAGE_TYPES = ("image/png", "image/svg+xml", "application/vnd.jupyter.widget-view+json")
MAX_STDERR = 3000
MAX_BARS = 3


def _code_cells(path: Path) -> list[tuple[int, dict]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code"]


def _text(output: dict) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_ran_and_every_figure_was_saved(path):
    missing, unrun = [], []
    for i, cell in _code_cells(path):
        source = "".join(cell["source"])
        if source.strip() and cell.get("execution_count") is None:
            unrun.append(i)
        outputs = cell.get("outputs", [])
        shown = any(key in o.get("data", {}) for o in outputs for key in IMAGE_TYPES)
        if DRAWS.search(source) and not shown:
            missing.append(i)
    assert not unrun, f"{path.name}: cells {unrun} were saved without running"
    assert not missing, (f"{path.name}: cells {missing} draw a figure but saved no image "
                         "(executed with MPLBACKEND=Agg? run `make notebooks`)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_saved_a_wall_of_progress_text(path):
    walls = []
    for i, cell in _code_cells(path):
        streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        stderr = sum(len(_text(o)) for o in streams if o.get("name") == "stderr")
        bars = sum(len(PROGRESS.findall(_text(o))) for o in streams)
        if stderr > MAX_STDERR or bars > MAX_BARS:
            walls.append(f"cell {i}: {stderr} characters of stderr, {bars} progress bars")
    assert not walls, f"{path.name}: " + "; ".join(walls)


def test_the_check_finds_a_figure_saved_without_its_image(tmp_path):
    notebook = {"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {},
                           "source": ["fig, ax = plt.subplots()\n", "plt.show()"],
                           "outputs": []}]}
    path = tmp_path / "99_broken.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    with pytest.raises(AssertionError, match="draw a figure but saved no image"):
        test_every_cell_ran_and_every_figure_was_saved(path)
    notebook["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stderr",
                                        "text": " 10%|#  | 1/10\r 20%|## | 2/10\r" * 3}]
    path.write_text(json.dumps(notebook), encoding="utf-8")
    with pytest.raises(AssertionError, match="progress bars"):
        test_no_cell_saved_a_wall_of_progress_text(path)
