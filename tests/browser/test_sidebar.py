"""The Pynenc sidebar in a real JupyterLab: an app found through the registry, its live runner,
counts by status, the timeline and an invocation's detail and family tree, all restored on reload."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pynenc_nb.app_registry import public_key
from pynenc_nb.monitor import Monitor
from tests.browser.notebook import wait_for
from tests.browser.server import JupyterLab, poll
from tests.support.oracle import assert_histories_valid

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
TIMEOUT_S = 20.0  # the longest a single wait may take (the machine is shared)
MODULE = "sidebar_tasks"
APP_ID = "sidebar-demo"
RUNNER_NAME = "sidebar-runner"
ADDS, CHILDREN = 6, 3  # SUCCESS: ADDS + CHILDREN add() calls; FAILED: the one pipeline() calling them
MARKUP = "<b>broke</b>"  # in the failure's message: must show as text, never as an element
SIDEBAR = "#pynenc-sidebar"
SIDEBAR_TAB = '.jp-SideBar li[data-id="pynenc-sidebar"]'
TIMELINE = ".pynenc-timeline-panel"
INVOCATION = ".pynenc-invocation-panel"
PLOT = ".pynenc-plot .jp-RenderedPlotly.js-plotly-plot"  # drawn by jupyterlab-plotly's mime renderer
TASKS_SOURCE = textwrap.dedent(
    f'''\
    """Tasks of the sidebar browser test: a SQLite app next to the notebooks JupyterLab serves."""
    from pathlib import Path

    from pynenc_nb import Pynenc

    app = Pynenc(
        config_values={{
            "app_id": "{APP_ID}",
            "backend_url": f"sqlite://{{Path(__file__).resolve().with_name('sidebar.db')}}",
            "logging_level": "warning",
        }}
    )


    @app.task
    def add(x: int, y: int) -> int:
        return x + y


    @app.task
    def pipeline(n: int) -> int:
        total = sum(call.result for call in [add(i, i) for i in range(n)])
        raise ValueError(f"pipeline {MARKUP} after total={{total}}")
    '''
)


@dataclass(frozen=True)
class LiveApp:
    key: str  # the opaque id the browser knows the app by
    failed_id: str
    runner_label: str  # e.g. ThreadRunner(8c403ea4@host:12063)


@pytest.fixture
def live_app(jupyter_lab: JupyterLab) -> Iterator[LiveApp]:
    """The tasks module in the served folder, a runner process on it, and its invocations (one failed).

    Both processes record the app in the test session's registry, which the server reads too."""
    root = jupyter_lab.root_dir
    (root / f"{MODULE}.py").write_text(TASKS_SOURCE)
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(MODULE)
    finally:
        sys.path.remove(str(root))
    app = module.app
    command = [sys.executable, "-m", "pynenc_nb", "--app", f"{MODULE}:app", "runner", "start"]
    command += ["--runner-cls", "ThreadRunner", "--max-threads", "2", "--name", RUNNER_NAME]
    log_path = jupyter_lab.log_path.with_name("sidebar-runner.log")
    with log_path.open("wb") as log:
        runner = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        poll(
            lambda: runner.poll() is not None or any(r.state == "running" for r in app.state_backend.runners()),
            TIMEOUT_S,
            "the runner process to register",
        )
        if runner.poll() is not None:
            raise AssertionError(f"the runner exited with {runner.returncode}:\n{log_path.read_text()}")
        sums = [module.add(i, i) for i in range(ADDS)]
        failing = module.pipeline(CHILDREN)
        assert [call.result_or(TIMEOUT_S) for call in sums] == [2 * i for i in range(ADDS)]
        assert failing.wait(TIMEOUT_S).value == "FAILED"
        (view,) = [view for view in Monitor(app).runners() if view.name == RUNNER_NAME]
        yield LiveApp(public_key(APP_ID, app.conf.backend_url), failing.invocation_id, view.label)
        assert runner.poll() is None, "the runner must stay up for the whole test"
        assert_histories_valid(app)
    finally:
        runner.terminate()
        try:
            runner.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait(5)
        app.close()
        sys.modules.pop(MODULE, None)


def test_sidebar_shows_app_runner_timeline_and_invocation(
    jupyter_lab: JupyterLab, live_app: LiveApp, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given JupyterLab in a clean workspace, with an app whose runner is up and whose tasks ran
    page.goto(jupyter_lab.url("lab", reset=""))

    # When the Pynenc tab is opened
    wait_for(page, SIDEBAR_TAB).click()
    sidebar = show_app(page, live_app.key)

    # Then the app, its running runner and its counts by status are listed
    assert_sidebar_shows(sidebar, live_app)
    screenshot("sidebar")

    # When the timeline opens: a main-area panel draws the app's bars with plotly's renderer
    sidebar.get_by_role("button", name="Timeline").click()
    timeline = wait_for(page, f".jp-MainAreaWidget {TIMELINE}")
    wait_for(page, f"{TIMELINE} {PLOT} .barlayer .point")
    assert timeline.locator(".barlayer .point").count() >= ADDS + CHILDREN + 1
    assert "invocations in the window" in timeline.locator("h3").first.inner_text()
    screenshot("timeline")

    # When the recent failure is opened from the sidebar
    failure = sidebar.locator(".pynenc-invocations li", has_text=live_app.failed_id[:10])
    failure.get_by_role("link", name=live_app.failed_id[:10]).click()

    # Then its detail (task, escaped exception text, history) and its family tree show
    wait_for(page, f".jp-MainAreaWidget {INVOCATION} .pynenc-detail h2")
    assert_invocation_shows(page, live_app)
    screenshot("invocation")
    page.locator(f"{INVOCATION} {PLOT}").scroll_into_view_if_needed()
    screenshot("family-tree")

    # When the page reloads with the saved workspace
    wait_for_saved_layout(jupyter_lab, live_app)
    page.goto(jupyter_lab.url("lab"))

    # Then the sidebar comes back open, with both panels
    sidebar = show_app(page, live_app.key)
    assert "lm-mod-current" in (wait_for(page, SIDEBAR_TAB).get_attribute("class") or "")
    assert_sidebar_shows(sidebar, live_app)
    tabs = page.locator("#jp-main-dock-panel .lm-TabBar-tabLabel")
    poll(lambda: len(tabs.all_inner_texts()) >= 2, TIMEOUT_S, "the panels to be restored")
    labels = tabs.all_inner_texts()
    assert f"Timeline · {APP_ID}" in labels, labels
    assert f"Invocation {live_app.failed_id[:8]}" in labels, labels
    assert_invocation_shows(page, live_app)
    screenshot("restored")
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Timeline").click()
    wait_for(page, f"{TIMELINE} {PLOT} .barlayer .point")

    # When the failed invocation is run again from its panel
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=f"Invocation {live_app.failed_id[:8]}").click()
    page.locator(f"{INVOCATION} .pynenc-rerun").click()
    # Then a panel opens on the new invocation, which the runner runs (and which fails the same way)
    new_tab = page.locator("#jp-main-dock-panel .lm-TabBar-tabLabel", has_text="Invocation ")
    poll(lambda: new_tab.count() >= 2, TIMEOUT_S, "a panel on the new invocation")
    current = page.locator(f".jp-MainAreaWidget:not(.lm-mod-hidden) {INVOCATION} .pynenc-detail h2 .pynenc-badge")
    poll(lambda: current.count() == 1 and current.inner_text() == "FAILED", TIMEOUT_S, "the rerun to fail again")
    screenshot("rerun")

    assert page_log.page_errors == []
    ours = [line for line in page_log.console_errors if "pynenc" in line.lower()]
    assert ours == [], ours


def show_app(page: Page, key: str) -> Locator:
    """The sidebar once it lists app ``key``, with that app selected."""
    sidebar = wait_for(page, SIDEBAR)
    wait_for(page, f'{SIDEBAR} select.pynenc-app-select option[value="{key}"]', state="attached")
    sidebar.locator("select.pynenc-app-select").select_option(key)
    return sidebar


def assert_sidebar_shows(sidebar: Locator, live: LiveApp) -> None:
    option = sidebar.locator("select.pynenc-app-select option:checked")
    assert option.inner_text() == f"{APP_ID} · sqlite: sidebar.db"

    def counts() -> dict[str, str] | None:
        found = {}
        for item in sidebar.locator(".pynenc-counts .pynenc-count").all():
            found[item.locator(".pynenc-badge").inner_text()] = item.locator(".pynenc-count-n").inner_text()
        return found if {"SUCCESS", "FAILED"} <= set(found) else None

    shown = poll(counts, TIMEOUT_S, "counts by status in the sidebar")
    assert shown == {"SUCCESS": str(ADDS + CHILDREN), "FAILED": "1"}, shown
    runner = sidebar.locator(".pynenc-runners li", has_text=RUNNER_NAME)
    runner.wait_for(timeout=TIMEOUT_S * 1000)
    assert runner.locator(".pynenc-runner-state").inner_text() == "running"
    assert "pynenc-alive" in (runner.get_attribute("class") or "")
    assert runner.get_attribute("title") == live.runner_label
    assert sidebar.get_by_role("heading", name="Runners (1 alive)").is_visible()
    failure = sidebar.locator(".pynenc-invocations li", has_text=live.failed_id[:10])
    assert failure.locator(".pynenc-badge").inner_text() == "FAILED"
    assert failure.locator(".pynenc-list-main").inner_text() == f"{MODULE}.pipeline"


def assert_invocation_shows(page: Page, live: LiveApp) -> None:
    panel = wait_for(page, f"{INVOCATION}:visible")
    head = wait_for(page, f"{INVOCATION}:visible .pynenc-detail h2")
    assert f"{MODULE}.pipeline" in head.inner_text() and "FAILED" in head.inner_text()
    message = panel.locator(".pynenc-detail h3", has_text="ValueError")
    assert (
        message.inner_text()
        == f"builtins.ValueError: pipeline {MARKUP} after total={sum(2 * i for i in range(CHILDREN))}"
    )
    assert panel.locator(".pynenc-detail b").count() == 0, "task text must never be parsed as HTML"
    assert "Traceback" in panel.locator(".pynenc-traceback").inner_text()
    history = panel.locator(".pynenc-detail table").nth(1).locator(".pynenc-badge").all_inner_texts()
    assert history[0] == "REGISTERED" and history[-1] == "FAILED" and "RUNNING" in history, history
    wait_for(page, f"{INVOCATION}:visible {PLOT} .scatterlayer .point")
    # the tree: the pipeline and its CHILDREN add() calls, siblings of one task as one node with their count
    assert panel.locator(".scatterlayer .point").count() >= 2
    assert f"add ×{CHILDREN}" in panel.locator(".scatterlayer .textpoint").all_text_contents()


def wait_for_saved_layout(lab: JupyterLab, live: LiveApp) -> None:
    """JupyterLab saves the workspace shortly after the layout changes: wait until it holds ours."""

    def saved() -> bool:
        data: dict[str, Any] = lab.api("lab/api/workspaces/default").get("data", {})
        left = data.get("layout-restorer:data", {}).get("left", {})
        return left.get("current") == "pynenc-sidebar" and any(
            key.startswith("pynenc:invocation:") and live.failed_id in key for key in data
        )

    poll(saved, TIMEOUT_S, "the workspace to be saved with the sidebar and panels")
