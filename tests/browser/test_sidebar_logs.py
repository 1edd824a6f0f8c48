"""The Log explorer in a real JupyterLab: lines logged by a real run (our text format) plus a line in
no format are pasted into the panel the sidebar opens; Parse shows the parsed rows (the odd line
marked unparsed), links from invocation ids to the invocation panel, and the mini-timeline. The
invocation panel of a long-running invocation has a Kill button that ends it KILLED on its runner."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pynenc_nb.app_registry import public_key
from pynenc_nb.invocation.status import InvocationStatus
from tests.browser.notebook import wait_for
from tests.browser.server import JupyterLab, poll
from tests.monitor.log_workload import logged_to
from tests.support.oracle import assert_histories_valid
from tests.unit.runner_support import running

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
TIMEOUT_S = 20.0
MODULE = "logs_tasks"
APP_ID = "logs-demo"
SIDEBAR = "#pynenc-sidebar"
SIDEBAR_TAB = '.jp-SideBar li[data-id="pynenc-sidebar"]'
LOGS_PANEL = ".jp-MainAreaWidget .pynenc-logs-panel"
PLOT = ".pynenc-logs-timeline .jp-RenderedPlotly.js-plotly-plot"
TASKS_SOURCE = textwrap.dedent(
    f'''\
    """Tasks of the log explorer browser test: a SQLite app next to the notebooks JupyterLab serves."""
    import time
    from pathlib import Path

    from pynenc_nb import Pynenc

    app = Pynenc(
        config_values={{
            "app_id": "{APP_ID}",
            "backend_url": f"sqlite://{{Path(__file__).resolve().with_name('logs.db')}}",
            "logging_level": "debug",
            "runner_heartbeat_interval_s": 0.5,
        }}
    )


    @app.task
    def square(x: int) -> int:
        square.logger.info("squaring %d", x)
        return x * x


    @app.task
    def linger(seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
        return "lingered"
    '''
)


@dataclass(frozen=True)
class Logged:
    key: str
    module: Any
    lines: str  # the log of the run
    squared: list[str]  # invocation ids of the run


@pytest.fixture
def logged(jupyter_lab: JupyterLab, tmp_path: Path) -> Iterator[Logged]:
    """The tasks module in the served folder, and a run of ``square`` on a ThreadRunner logged to a file."""
    root = jupyter_lab.root_dir
    (root / f"{MODULE}.py").write_text(TASKS_SOURCE)
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(MODULE)
    finally:
        sys.path.remove(str(root))
    app = module.app
    log = tmp_path / "run.log"
    try:
        with logged_to(log, "text"), running(app, max_threads=2):
            runs = [module.square(x) for x in range(4)]
            assert [inv.result_or(TIMEOUT_S) for inv in runs] == [0, 1, 4, 9]
        yield Logged(public_key(APP_ID, app.conf.backend_url), module, log.read_text(), [r.invocation_id for r in runs])
        assert_histories_valid(app)
    finally:
        app.close()
        sys.modules.pop(MODULE, None)


def _open_log_explorer(page: Page, jupyter_lab: JupyterLab, key: str) -> None:
    page.goto(jupyter_lab.url("lab", reset=""))
    wait_for(page, SIDEBAR_TAB).click()
    sidebar = wait_for(page, SIDEBAR)
    wait_for(page, f'{SIDEBAR} select.pynenc-app-select option[value="{key}"]', state="attached")
    sidebar.locator("select.pynenc-app-select").select_option(key)
    sidebar.locator("button.pynenc-open-logs").click()
    wait_for(page, f"{LOGS_PANEL} textarea.pynenc-logs-input")


def test_pasted_lines_are_parsed_linked_and_drawn(
    jupyter_lab: JupyterLab, logged: Logged, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given JupyterLab and the log of a run on a ThreadRunner, with one line in no format
    pasted = logged.lines + "this line is in no log format\n"
    lines = [line for line in pasted.splitlines() if line.strip()]

    # When the Log explorer is opened from the sidebar, the lines pasted and parsed
    _open_log_explorer(page, jupyter_lab, logged.key)
    page.locator(f"{LOGS_PANEL} textarea.pynenc-logs-input").fill(pasted)
    page.locator(f"{LOGS_PANEL} button.pynenc-logs-parse").click()

    # Then every line is a row, the odd one marked unparsed, and the summary counts them
    rows = page.locator(f"{LOGS_PANEL} table.pynenc-logs-lines tr.pynenc-logs-line")
    poll(lambda: rows.count() == len(lines), TIMEOUT_S, f"{len(lines)} rows")
    unparsed = page.locator(f"{LOGS_PANEL} tr.pynenc-logs-unparsed")
    assert unparsed.count() == 1 and "this line is in no log format" in unparsed.inner_text()
    summary = page.locator(f"{LOGS_PANEL} .pynenc-logs-summary").inner_text()
    assert f"{len(lines) - 1} parsed, 1 unparsed" in summary and "4 of 4 invocations found" in summary
    # and a task's line links its invocation, with its status
    said = page.locator(f"{LOGS_PANEL} tr.pynenc-logs-line", has_text="squaring 3").first
    assert said.locator(".pynenc-badge").inner_text() == "SUCCESS"
    assert "TR(" in said.inner_text()
    # and the mini-timeline is drawn
    wait_for(page, f"{LOGS_PANEL} {PLOT}")
    poll(lambda: page.locator(f"{LOGS_PANEL} {PLOT} .bars path").count() > 0, TIMEOUT_S, "bars in the mini-timeline")
    screenshot("log-explorer")

    # When an invocation id is clicked
    said.locator("a.pynenc-link").first.click()

    # Then the invocation panel opens on it
    panel = wait_for(page, ".jp-MainAreaWidget .pynenc-invocation-panel .pynenc-detail h2")
    poll(lambda: "square" in panel.inner_text(), TIMEOUT_S, "the invocation panel")
    screenshot("log-explorer-invocation")

    assert page_log.page_errors == []
    ours = [line for line in page_log.console_errors if "pynenc" in line.lower()]
    assert ours == [], ours


def test_the_kill_button_ends_a_long_running_invocation_killed(
    jupyter_lab: JupyterLab, logged: Logged, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given an invocation running on a ThreadRunner for a long while
    app = logged.module.app
    with running(app, max_threads=1):
        long = logged.module.linger(30.0)
        poll(lambda: long.status is InvocationStatus.RUNNING, TIMEOUT_S, "the invocation RUNNING")

        # When its invocation panel is opened (from the Log explorer's link) and Kill clicked
        line = f"2026-03-05 07:56:08.002+01:00 INFO     pynenc.app [{long.invocation_id}:{long.task_id}] lingering"
        _open_log_explorer(page, jupyter_lab, logged.key)
        page.locator(f"{LOGS_PANEL} textarea.pynenc-logs-input").fill(line)
        page.locator(f"{LOGS_PANEL} button.pynenc-logs-parse").click()
        wait_for(page, f"{LOGS_PANEL} tr.pynenc-logs-line a.pynenc-link").click()
        head = wait_for(page, ".jp-MainAreaWidget .pynenc-invocation-panel .pynenc-detail h2")
        poll(lambda: "RUNNING" in head.inner_text(), TIMEOUT_S, "the panel shows it RUNNING")
        kill = page.locator(".pynenc-invocation-panel button.pynenc-kill")
        assert kill.is_visible()
        screenshot("invocation-kill-button")
        kill.click()

        # Then it ends KILLED and the panel shows it so, without the button
        poll(lambda: long.status is InvocationStatus.KILLED, TIMEOUT_S, "the invocation KILLED")
        poll(lambda: "KILLED" in head.inner_text(), TIMEOUT_S, "the panel shows KILLED")
        assert page.locator(".pynenc-invocation-panel button.pynenc-kill").count() == 0
        screenshot("invocation-killed")
        # and its one slot is free again long before the 30 s it would have lingered
        assert logged.module.square(5).result_or(TIMEOUT_S) == 25

    assert page_log.page_errors == []
    ours = [line for line in page_log.console_errors if "pynenc" in line.lower()]
    assert ours == [], ours
