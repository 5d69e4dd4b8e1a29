"""A real browser with no network: headless Chromium driven by Playwright, and what it must not see.

Every host but localhost is made unresolvable in Chromium itself, and each page is watched for
console errors, page errors and requests that would leave the machine; a test fails on any.
Screenshots go to build/browser-test/ (the CI artifacts).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "build" / "browser-test"
CHROMIUM_CANDIDATES = (
    "/usr/bin/chromium",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium-browser",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
LOCAL_SCHEMES = {"file", "data", "blob", "about"}


def chromium_path() -> str | None:
    """The Debian chromium binary (Playwright's own browser download cannot work offline)."""
    found = os.environ.get("BERTLAB_CHROMIUM") or next(
        (path for path in CHROMIUM_CANDIDATES if os.access(path, os.X_OK)), None
    )
    return found or shutil.which("chromium")


def leaves_the_machine(url: str) -> bool:
    """True for a request to anything but this machine (file, data and blob URLs stay here)."""
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return False
    return parsed.hostname not in LOCAL_HOSTS


class PageWatch:
    """Collects what a page must never do: log an error, throw, or reach another host."""

    def __init__(self, page, name: str) -> None:  # page: playwright.sync_api.Page
        self.name = name
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", self._request)

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text[:500]}")

    def _request(self, request) -> None:
        if leaves_the_machine(request.url):
            self.problems.append(f"request to another host: {request.url[:200]}")

    def assert_clean(self) -> None:
        """Fail with every problem seen on the page, not just the first."""
        assert not self.problems, f"{self.name}:\n" + "\n".join(self.problems)


@pytest.fixture(scope="session", autouse=True)
def _tear_down_on_sigterm() -> None:
    """A timeout's SIGTERM still runs the teardown that stops JupyterLab and its kernels."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(f"stopped by signal {signum}"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no chromium binary: install it with `apt-get install chromium` (as root, "
            "`make browser-test` does), or point BERTLAB_CHROMIUM at one"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
