"""Chapters in JupyterLab, as a learner meets them: Run All, then move every widget.

JupyterLab is started by `make lab` in quick mode, on copies of the chapters (so nothing it saves
touches the committed notebooks) and with its own settings: every cell kept in the page
(`windowingMode: none`, so all outputs can be inspected) and no news fetched.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from bertviz_check import VIEWS, bertviz_check_notebook
from conftest import ARTIFACTS, ROOT, PageWatch

PlaywrightTimeout = pytest.importorskip(
    "playwright.sync_api", reason="pip install playwright (make browser-test does)"
).TimeoutError

# chapter, and how many bertviz views it must draw on its first Run All
CHAPTERS = [
    ("00_welcome.ipynb", 0),
    ("02_self_attention.ipynb", 0),
    ("03_multi_head_attention.ipynb", 2),
    ("05a_pretraining.ipynb", 0),  # first: 05b and 06b load the model 05a saves
    ("05b_what_pretraining_learns.ipynb", 0),
    ("06a_finetuning_sentences_tokens.ipynb", 0),
    ("06b_finetuning_spans_transfer.ipynb", 0),
]
RUN_ALL_TIMEOUT_S = 900
UPDATE_TIMEOUT_S = 30
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

# The outputs of one cell, reduced to what a widget may change: a digest of every image and
# the text of every non-widget output (the widget controls themselves are left out).
SNAPSHOT_JS = """area => {
  const digest = s => {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return h;
  };
  const children = [...area.querySelectorAll(':scope .jp-OutputArea-child')];
  return {
    count: children.length,
    images: [...area.querySelectorAll('img')].map(img => digest(img.src)),
    texts: children.filter(c => !c.querySelector('.jupyter-widgets'))
                   .map(c => c.textContent.slice(0, 2000)),
  };
}"""

# Widget descriptions that do not fit their label (the "temperat…" kind of bug).
CUT_LABELS_JS = """area => [...area.querySelectorAll('.widget-label')]
  .filter(l => l.offsetParent !== null && l.scrollWidth > l.clientWidth + 1)
  .map(l => l.textContent)"""

CONTROLS = ".noUi-handle, .widget-dropdown select, .widget-toggle-button, .widget-text input"

STARTED_JS = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""

ALL_PROMPTS_DONE_JS = """() => {
  const cells = [...document.querySelectorAll('.jp-CodeCell')]  // an empty cell never runs
    .filter(c => (c.querySelector('.cm-content')?.textContent || '').trim());
  const prompts = cells.map(c => c.querySelector('.jp-InputArea-prompt'));
  const errors = [...document.querySelectorAll('.jp-OutputArea-output')]
    .filter(o => o.textContent.includes('Traceback (most recent call last)'));
  const done = prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
  return errors.length > 0 || done;
}"""


@dataclass
class Lab:
    url: str
    token: str
    notebooks: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _without_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The chapter with no saved outputs or counts, so that a numbered prompt means it ran now."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    return notebook


@pytest.fixture(scope="module")
def lab(artifacts: Path) -> Iterator[Lab]:
    """`make lab` in quick mode on copies of the chapters, until the tests are done.

    The copies have no saved outputs, so a numbered prompt means the cell ran in this session.
    """
    work = artifacts / "lab"
    notebooks = work / "notebooks"
    notebooks.mkdir(parents=True)
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nbformat.write(_without_outputs(nbformat.read(path, as_version=4)), notebooks / path.name)
    settings = work / "settings"
    for name, values in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")
    port, token = _free_port(), secrets.token_hex(16)
    lab_args = " ".join([
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={work / 'workspaces'}",
    ])
    env = {
        **{k: v for k, v in os.environ.items() if k != "MPLBACKEND"},  # figures inline, as in lab
        "BERTLAB_QUICK": "1",
        "BERTLAB_ARTIFACTS": str(work / "artifacts"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    log = (work / "jupyter.log").open("w")
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_DIR={notebooks}", f"LAB_ARGS={lab_args}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; see {work / 'jupyter.log'}")
                time.sleep(1)
        yield Lab(url, token, notebooks)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _shut_down_kernels(lab: Lab) -> None:
    """Free the finished chapter's memory before the next one starts."""
    api = f"{lab.url}/api/kernels"
    with urllib.request.urlopen(f"{api}?token={lab.token}", timeout=10) as response:
        kernels = json.load(response)
    for kernel in kernels:
        request = urllib.request.Request(
            f"{api}/{kernel['id']}?token={lab.token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()


def _accept_dialog(page, screenshot: str) -> None:
    """Accept a dialog JupyterLab may open on a fresh start (e.g. a kernel choice); keep a shot."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        page.screenshot(path=ARTIFACTS / screenshot)
        dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
        dialog.first.wait_for(state="detached", timeout=10_000)


def _run_all(page, lab: Lab, chapter: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{chapter}?reset&token={lab.token}")
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        timeout=120_000
    )
    for attempt in range(5):  # a Run All sent before the kernel is connected is lost
        _accept_dialog(page, f"{Path(chapter).stem}-dialog-{attempt}.png")
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            page.wait_for_function(STARTED_JS, timeout=20_000, polling=500)
            break
        except PlaywrightTimeout:
            continue
    try:
        page.wait_for_function(ALL_PROMPTS_DONE_JS, timeout=RUN_ALL_TIMEOUT_S * 1000, polling=2000)
    except PlaywrightTimeout:
        page.screenshot(path=ARTIFACTS / f"{Path(chapter).stem}-run-all-unfinished.png")
        raise


def _tracebacks(page) -> list[str]:
    outputs = page.locator(".jp-OutputArea-output")
    texts = outputs.evaluate_all("os => os.map(o => o.textContent)")
    return [t[:3000] for t in texts if "Traceback (most recent call last)" in t]


def _controls(area):
    """The controls to try, in order: sliders, dropdowns, toggle buttons, then text boxes."""
    yield from (("slider", h) for h in area.locator(".noUi-handle").all())
    yield from (("dropdown", s) for s in area.locator(".widget-dropdown select").all())
    yield from (
        ("toggle", b) for b in area.locator(".widget-toggle-button:not(.mod-active)").all()[:1]
    )
    yield from (("text", t) for t in area.locator(".widget-text input").all()[:1])


def _change(kind: str, control) -> bool:
    """Move one control to another value; False when it has no other value to take."""
    if kind == "slider":
        before = control.get_attribute("aria-valuenow")
        control.focus()
        control.press("ArrowRight")
        if control.get_attribute("aria-valuenow") == before:
            control.press("ArrowLeft")
        return control.get_attribute("aria-valuenow") != before
    if kind == "dropdown":
        options = control.locator("option").count()
        if options < 2:
            return False
        current = control.evaluate("s => s.selectedIndex")
        control.select_option(index=(current + 1) % options)
        return True
    if kind == "text":  # a learner types a sentence of their own and presses Enter
        control.fill("mia said that " + control.input_value())
        control.press("Enter")
        return True
    control.click()
    return True


def _updated(area, before: dict) -> dict | None:
    deadline = time.monotonic() + UPDATE_TIMEOUT_S
    while time.monotonic() < deadline:
        after = area.evaluate(SNAPSHOT_JS)
        if after != before:
            time.sleep(0.3)  # let a redraw that is still arriving finish
            return area.evaluate(SNAPSHOT_JS)
        time.sleep(0.1)
    return None


def _assert_bertviz_drawn(page, expected: int, shots: Path) -> None:
    """bertviz drew its SVG on the first run, from the scripts inside each output."""
    drawn = page.locator(".jp-OutputArea-output:has([id^='bertviz-'])")
    assert drawn.count() == expected
    for index in range(expected):
        view = drawn.nth(index)
        view.locator("svg").first.wait_for(timeout=10_000)
        marks = view.evaluate("v => v.querySelectorAll('svg *').length")
        assert marks > 20, f"bertviz view {index} drew only {marks} SVG elements"
        view.screenshot(path=shots / f"bertviz-{index}.png")


@pytest.mark.parametrize("chapter, bertviz_views", CHAPTERS, ids=[c for c, _ in CHAPTERS])
def test_chapter_runs_all_and_every_widget_updates_in_place(
    browser, lab: Lab, artifacts: Path, chapter: str, bertviz_views: int
) -> None:
    shots = artifacts / Path(chapter).stem
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = PageWatch(page, chapter)
    try:
        started = time.monotonic()
        _run_all(page, lab, chapter)
        print(f"{chapter}: Run All took {time.monotonic() - started:.0f} s")
        page.screenshot(path=shots / "after-run-all.png")
        assert not _tracebacks(page), "\n\n".join(_tracebacks(page))

        _assert_bertviz_drawn(page, bertviz_views, shots)

        # outputs with a control a learner moves (a progress bar is a widget too, but no control)
        areas = page.locator(f".jp-Cell-outputArea:has({CONTROLS})").all()
        assert areas, f"{chapter} shows no widget"
        for number, area in enumerate(areas):
            area.scroll_into_view_if_needed()
            assert not area.evaluate(CUT_LABELS_JS), "widget labels cut off"
            area.screenshot(path=shots / f"widget-{number}-before.png")
            before = area.evaluate(SNAPSHOT_JS)
            after = None
            for kind, control in _controls(area):
                if _change(kind, control):
                    after = _updated(area, before)
                    if after is not None:
                        break
            assert after is not None, f"widget {number}: no control changed its output"
            assert after["count"] == before["count"], "the output was appended, not updated"
            if before["images"]:
                assert after["images"] != before["images"], "the figure did not change"
            area.screenshot(path=shots / f"widget-{number}-after.png")
        assert not _tracebacks(page), "\n\n".join(_tracebacks(page))
        watch.assert_clean()
    finally:
        page.close()
        _shut_down_kernels(lab)


def test_bertviz_head_and_model_views_draw_on_bertlab_model_and_minilm(
    browser, lab: Lab, artifacts: Path
) -> None:
    """Both bertviz views, on bertlab's BertModel and on the real MiniLM, on the first Run All."""
    nbformat.write(bertviz_check_notebook(), lab.notebooks / "bertviz_check.ipynb")
    shots = artifacts / "bertviz_check"
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = PageWatch(page, "bertviz_check.ipynb")
    try:
        _run_all(page, lab, "bertviz_check.ipynb")
        assert not _tracebacks(page), "\n\n".join(_tracebacks(page))
        _assert_bertviz_drawn(page, len(VIEWS), shots)
        watch.assert_clean()
    finally:
        page.close()
        _shut_down_kernels(lab)
