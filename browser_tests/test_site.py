"""The offline course site (`make site`), opened from disk and from a local static server.

With every other host unresolvable: the math is typeset (no raw $…$ left in the text), every
image loads, the widgets show their saved state, bertviz draws, and no request leaves the machine.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, PageWatch

SITE = ROOT / "build" / "site"
# page, whether it has math, widgets and bertviz views to check
PAGES = [
    ("index.html", False, 0, 0),
    ("02_self_attention.html", True, 1, 0),
    ("03_multi_head_attention.html", True, 2, 2),
]

# Text of rendered markdown with typeset math, code and scripts taken out: what is left must
# hold no $…$ or \(…\) that MathJax missed.
RAW_MATH_JS = r"""() => {
  const found = [];
  for (const cell of document.querySelectorAll('.jp-RenderedMarkdown')) {
    const copy = cell.cloneNode(true);
    copy.querySelectorAll('mjx-container, code, pre, script').forEach(e => e.remove());
    const raw = copy.textContent.match(/\$[^$\n]+\$|\\\(.+?\\\)|\\\[.+?\\\]/g);
    if (raw) found.push(...raw);
  }
  return found;
}"""

BROKEN_IMAGES_JS = """() => [...document.images]
  .filter(img => !img.complete || img.naturalWidth === 0)
  .map(img => img.src.slice(0, 80))"""


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").exists():
        pytest.fail("no built site in build/site: run `make site` (make browser-test does)")
    return SITE


@pytest.fixture(scope="module")
def static_host(site: Path) -> Iterator[str]:
    """The site behind a plain static file server on localhost, as a static host serves it."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("served", ["file", "http"])
@pytest.mark.parametrize("name, has_math, widgets, bertviz_views", PAGES, ids=[p[0] for p in PAGES])
def test_site_page_renders_offline(
    browser, site: Path, static_host: str, artifacts: Path,
    name: str, has_math: bool, widgets: int, bertviz_views: int, served: str,
) -> None:
    url = (site / name).as_uri() if served == "file" else f"{static_host}/{name}"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = PageWatch(page, f"{name} ({served})")
    try:
        page.goto(url, wait_until="load")
        page.wait_for_function("() => window.MathJax && window.MathJax.startup", timeout=30_000)
        page.evaluate("() => window.MathJax.startup.promise")
        assert page.evaluate(RAW_MATH_JS) == [], "math left untypeset"
        if has_math:
            assert page.locator("mjx-container").count() > 0, "no math typeset"
        assert page.evaluate(BROKEN_IMAGES_JS) == [], "images that did not load"
        assert page.locator("nav.bertlab-site a").count() >= 8  # front page and every chapter

        if widgets:  # the renderer draws each widget in its saved state
            rendered = page.locator(".jupyter-widgets.widget-slider, .widget-dropdown")
            rendered.first.wait_for(timeout=30_000)
            assert rendered.count() >= widgets
        for index in range(bertviz_views):
            view = page.locator("[id^='bertviz-']").nth(index)
            assert view.evaluate("v => v.querySelectorAll('svg *').length") > 20
        if served == "file":
            shots = artifacts / "site"
            shots.mkdir(exist_ok=True)
            page.screenshot(path=shots / f"{Path(name).stem}-top.png")
            if widgets:
                target = page.locator(".jupyter-widgets.widget-slider, .widget-dropdown").first
                target.scroll_into_view_if_needed()
                page.screenshot(path=shots / f"{Path(name).stem}-widget.png")
        watch.assert_clean()
    finally:
        page.close()
