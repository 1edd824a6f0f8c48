"""Workflows in a real JupyterLab: a workflow run shows in the sidebar's Workflows section, and a click
opens the Workflow panel with its steps (a deterministic value and a child call with the child's
status), its data keys and its members; the child's invocation id opens the invocation panel."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from pynenc_nb.app_registry import public_key
from pynenc_nb.records import InvocationFilter
from tests.browser.notebook import wait_for
from tests.browser.server import JupyterLab, poll
from tests.support.oracle import assert_histories_valid

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
TIMEOUT_S = 20.0
MODULE = "workflows_tasks"
APP_ID = "workflows-demo"
SIDEBAR = "#pynenc-sidebar"
SIDEBAR_TAB = '.jp-SideBar li[data-id="pynenc-sidebar"]'
WORKFLOW_PANEL = ".pynenc-workflow-panel"
TASKS_SOURCE = textwrap.dedent(
    f'''\
    """Tasks of the workflows browser test: a SQLite app next to the notebooks JupyterLab serves,
    in dev mode (tasks run in the calling thread, no runner needed)."""
    from pathlib import Path

    from pynenc_nb import Pynenc

    app = Pynenc(
        config_values={{
            "app_id": "{APP_ID}",
            "backend_url": f"sqlite://{{Path(__file__).resolve().with_name('workflows.db')}}",
            "logging_level": "warning",
            "dev_mode_force_sync_tasks": True,
        }}
    )


    @app.task
    def double(n: int) -> int:
        return n * 2


    @app.workflow
    def pipeline(n: int) -> int:
        token = pipeline.wf.root.uuid()
        value = pipeline.wf.root.execute_task(double, n)
        pipeline.wf.set_data("token", token)
        return value
    '''
)


@dataclass(frozen=True)
class Ran:
    key: str
    workflow_id: str
    child_id: str


@pytest.fixture
def ran(jupyter_lab: JupyterLab) -> Iterator[Ran]:
    """The tasks module in the served folder and one workflow run to its end (dev mode)."""
    root = jupyter_lab.root_dir
    (root / f"{MODULE}.py").write_text(TASKS_SOURCE)
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(MODULE)
    finally:
        sys.path.remove(str(root))
    app = module.app
    try:
        invocation = module.pipeline(21)
        assert invocation.result == 42
        (child,), _ = app.state_backend.query(InvocationFilter(task_id=module.double.task_id), limit=10)
        yield Ran(public_key(APP_ID, app.conf.backend_url), invocation.invocation_id, child.invocation_id)
        assert_histories_valid(app)
    finally:
        app.close()
        sys.modules.pop(MODULE, None)


def test_the_workflows_section_and_panel_show_a_run_and_its_steps(
    jupyter_lab: JupyterLab, ran: Ran, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given JupyterLab in a clean workspace and an app that ran one workflow with one child call
    page.goto(jupyter_lab.url("lab", reset=""))

    # When the Pynenc sidebar is opened on that app
    wait_for(page, SIDEBAR_TAB).click()
    sidebar = show_app(page, ran.key)

    # Then its Workflows section lists the run: type short name, status, one child
    run = sidebar.locator(f'.pynenc-workflows li[data-workflow-id="{ran.workflow_id}"]')
    run.wait_for(timeout=TIMEOUT_S * 1000)
    assert run.locator(".pynenc-workflow-type").inner_text() == "pipeline"
    poll(lambda: run.locator(".pynenc-badge").inner_text() == "SUCCESS", TIMEOUT_S, "the run SUCCESS")
    assert "1 child" in run.locator(".pynenc-list-detail").inner_text()
    screenshot("sidebar-workflows")

    # When the run is opened
    run.locator(".pynenc-workflow-type").click()

    # Then the Workflow panel shows its status, steps (a uuid and the child call), data keys and members
    head = wait_for(page, f".jp-MainAreaWidget {WORKFLOW_PANEL} .pynenc-workflow h2")
    assert "pipeline" in head.inner_text() and "SUCCESS" in head.inner_text()
    steps = page.locator(f"{WORKFLOW_PANEL} table.pynenc-workflow-steps")
    poll(lambda: steps.locator("tr").count() == 3, TIMEOUT_S, "two steps in the panel")
    kinds = steps.locator("tr td:nth-child(2)").all_inner_texts()
    assert kinds == ["uuid", "task"], kinds
    task_step = steps.locator("tr", has_text="task")
    assert "double" in task_step.inner_text()
    assert task_step.locator(".pynenc-badge").inner_text() == "SUCCESS"
    assert page.locator(f"{WORKFLOW_PANEL} .pynenc-workflow-keys li").all_inner_texts() == ["token"]
    members = page.locator(f"{WORKFLOW_PANEL} table.pynenc-workflow-members")
    assert ran.child_id[:10] in members.inner_text()
    screenshot("workflow-panel")

    # When the child's invocation id is clicked in its step
    task_step.get_by_role("link", name=ran.child_id[:10]).click()

    # Then the invocation panel of the child opens
    panel = wait_for(page, ".jp-MainAreaWidget .pynenc-invocation-panel .pynenc-detail h2")
    poll(lambda: "double" in panel.inner_text(), TIMEOUT_S, "the child's invocation panel")
    screenshot("workflow-child")

    assert page_log.page_errors == []
    ours = [line for line in page_log.console_errors if "pynenc" in line.lower()]
    assert ours == [], ours


def show_app(page: Page, key: str) -> Locator:
    sidebar = wait_for(page, SIDEBAR)
    wait_for(page, f'{SIDEBAR} select.pynenc-app-select option[value="{key}"]', state="attached")
    sidebar.locator("select.pynenc-app-select").select_option(key)
    return sidebar
