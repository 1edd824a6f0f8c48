"""Browser-test fixtures: Debian's Chromium driven by Playwright against a real, isolated ``jupyter lab``.

Chromium (``/usr/bin/chromium``, or ``PYNENC_NB_CHROMIUM``) and the ``playwright`` package are
required: tests skip without them, and fail when ``PYNENC_NB_REQUIRE_SERVICES=1`` (CI). Playwright
never downloads a browser here (no ``playwright install``). Screenshots and logs of a failing test
go to ``test-artifacts/`` at the repository root, or ``$PYNENC_NB_ARTIFACTS``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.server import ROOT, JupyterLab, start_jupyter_lab, stop_jupyter_lab
from tests.conftest import skip_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ScreenshotTaker = Callable[[str], Path]


def _require(problem: str) -> None:
    skip_or_fail(problem, ".ci/run installs it")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable Playwright drives (Debian's package, not a Playwright download)."""
    path = os.environ.get("PYNENC_NB_CHROMIUM", DEFAULT_CHROMIUM)
    if not os.access(path, os.X_OK):
        _require(f"no Chromium at {path} (apt-get install chromium fonts-dejavu-core)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _require('the playwright package is not installed (pip install -e ".[test]")')
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots and logs go (created when the first one is saved)."""
    return Path(os.environ.get("PYNENC_NB_ARTIFACTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """A ``jupyter lab`` serving a copy of ``notebooks/``, one per test module, stopped with its kernels."""
    lab = start_jupyter_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield lab
    finally:
        stop_jupyter_lab(lab)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One browser per test module: Playwright's sync API keeps an event loop running in this
    thread while it is open, which would break every later test that calls ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What the page reported: console errors and uncaught exceptions, as text."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}\n{error.stack or ''}")

    def text(self) -> str:
        return "\n".join(["# page errors", *self.page_errors, "# console errors", *self.console_errors]) + "\n"


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(browser: Browser, page_log: PageLog, artifacts_dir: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page in a throwaway profile (a new browser context), 1400x900.

    On failure its screenshot and console log are saved as ``<test>-failure.png`` / ``.log``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("console", page_log.on_console)
    page.on("pageerror", page_log.on_page_error)
    try:
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            artifacts_dir.mkdir(parents=True, exist_ok=True)
            stem = artifacts_dir / f"{_artifact_name(request.node)}-failure"
            page.screenshot(path=stem.with_suffix(".png"), full_page=True)
            stem.with_suffix(".log").write_text(page_log.text())
    finally:
        context.close()


@pytest.fixture
def screenshot(page: Page, artifacts_dir: Path, request: pytest.FixtureRequest) -> ScreenshotTaker:
    """``screenshot(label)`` saves the page as ``<artifacts>/<test>-<label>.png`` and returns the path."""

    def take(label: str) -> Path:
        artifacts_dir.mkdir(parents=True, exist_ok=True)
        path = artifacts_dir / f"{_artifact_name(request.node)}-{label}.png"
        page.screenshot(path=path)
        return path

    return take


def _artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^\w.-]+", "_", f"{Path(item.path).stem}-{item.name}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Keep the call's report on the item (for ``page``); add the server's log tail to a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    lab = getattr(item, "funcargs", {}).get("jupyter_lab")
    if report.failed and isinstance(lab, JupyterLab):
        report.sections.append(("jupyter lab log (tail)", f"{lab.log_path}\n{lab.log_tail()}"))
    return report
