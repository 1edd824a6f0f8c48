"""The standalone ``pynenc monitor`` page in headless Chromium: its Workflows section lists the
workflow roots of a SQLite app (type short name, status, children); a click on the ``top`` run opens
its detail with the steps, the data keys, the members and the sub-workflow ``middle`` that one of its
members (not the root) started; a click on ``middle``'s row opens that detail, which names ``top``
as its parent workflow."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.records import InvocationFilter, new_id
from tests.browser.server import poll
from tests.e2e.test_cli_monitor import monitor
from tests.support.oracle import assert_histories_valid

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
TIMEOUT_S = 20.0
ROWS = "#workflows-table tbody tr"
DETAIL = "#workflow-detail"


@dataclass(frozen=True)
class Ran:
    """The ids of what the workload ran, and the task ids the page shows."""

    top: str  # root: a data key, a task step, a member that starts ``middle``
    middle: str  # sub-workflow root started by top's member
    broken: str  # a failed root of another type
    step_child: str  # the invocation of top's task step
    member: str  # top's member that started middle
    double_task: str
    member_task: str
    middle_task: str


@pytest.fixture
def ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ran]:
    """A SQLite app (in a private app registry, which the monitor reads) with workflows run inline."""
    monkeypatch.setenv("PYNENC_NB_APP_REGISTRY", str(tmp_path / "apps.json"))
    app = Pynenc(
        config_values={
            "app_id": f"wf-page-{new_id()[:8]}",
            "backend_url": f"sqlite://{tmp_path / 'workflows.db'}",
            "dev_mode_force_sync_tasks": True,
            "logging_level": "critical",
        }
    )

    @app.task
    def double(n: int) -> int:
        return 2 * n

    @app.task
    def echo(n: int) -> int:
        return n

    @app.workflow
    def middle(n: int) -> int:
        return echo(n).result

    @app.task
    def member(n: int) -> int:
        return middle(n).result

    @app.workflow
    def top(n: int) -> int:
        top.wf.set_data("k", 1)
        doubled = top.wf.root.execute_task(double, n)
        return int(doubled) + member(n).result

    @app.workflow
    def broken(n: int) -> int:
        raise ValueError(f"broken {n}")

    try:
        done = top(3)
        assert done.result == 6 + 3
        failed = broken(1)
        assert failed.wait(10) is InvocationStatus.FAILED
        state = app.state_backend
        (mid,), _ = state.query(InvocationFilter(task_id=middle.task_id))
        (step_child,), _ = state.query(InvocationFilter(task_id=double.task_id))
        (started_by,), _ = state.query(InvocationFilter(task_id=member.task_id))
        # the member, not the root, started middle, a sub-workflow of top
        assert mid.parent_invocation_id == started_by.invocation_id
        assert mid.workflow is not None and mid.workflow.parent_workflow_id == done.invocation_id
        yield Ran(
            done.invocation_id,
            mid.invocation_id,
            failed.invocation_id,
            step_child.invocation_id,
            started_by.invocation_id,
            double.task_id,
            member.task_id,
            middle.task_id,
        )
        assert_histories_valid(app)
    finally:
        app.close()


def test_the_monitor_page_shows_workflow_runs_their_detail_and_sub_workflows(
    ran: Ran, tmp_path: Path, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given `pynenc monitor` serving that app on a free loopback port
    with monitor(tmp_path) as server:
        # When its page is opened with the token (the server swaps it for a cookie and redirects to /)
        page.goto(f"http://127.0.0.1:{server.port}/?token={server.token}")
        assert page.url == f"http://127.0.0.1:{server.port}/"

        # Then the Workflows section lists the three roots (the sub-workflow too) with type and status
        rows = page.locator(ROWS)
        poll(lambda: rows.count() == 3 and "no workflow" not in rows.first.inner_text(), TIMEOUT_S, "three runs")
        assert page.locator("#workflows h2").inner_text() == "Workflows"
        top_row, middle_row, broken_row = (row_of(page, wid) for wid in (ran.top, ran.middle, ran.broken))
        assert cells(top_row)[1:4] == ["top", "SUCCESS", "2"]  # double and member; middle is counted apart
        assert cells(middle_row)[1:4] == ["middle", "SUCCESS", "1"]
        assert cells(broken_row)[1:4] == ["broken", "FAILED", "0"]
        assert middle_row.locator("td").nth(1).get_attribute("title") == (
            f"{ran.middle_task} (sub-workflow of {ran.top})"
        )
        assert page.locator(DETAIL).is_hidden()
        page.locator("#workflows").scroll_into_view_if_needed()
        screenshot("workflows")

        # When the top run is clicked
        top_row.click()

        # Then its detail shows its fields, its steps, its data keys, its members and its sub-workflow
        detail = page.locator(DETAIL)
        detail.wait_for(state="visible", timeout=TIMEOUT_S * 1000)
        poll(lambda: page.locator("#workflow-id").inner_text() == ran.top, TIMEOUT_S, "top's detail")
        fields = fields_of(page)
        assert fields["type"].endswith(".top") and fields["status"] == "SUCCESS"
        assert fields["arguments"] == "n=3" and fields["children"] == "2 SUCCESS"
        assert fields["parent workflow"] == "" and fields["data keys"] == "k"
        assert fields["sub-workflows"] == f"{ran.middle_task} {ran.middle[:12]} SUCCESS"
        (step,) = page.locator("#workflow-steps tbody tr").all()
        step_cells = cells(step)
        assert step_cells[1] == "task" and "double" in step_cells[2], step_cells
        assert step_cells[3:] == [ran.step_child[:12], "SUCCESS"], step_cells  # the child's id and status
        members = {tuple(cells(row)) for row in page.locator("#workflow-members tbody tr").all()}
        # the step's child and the member that started middle; middle itself is not one of top's members
        assert members == {
            (ran.double_task, ran.step_child[:12], "SUCCESS"),
            (ran.member_task, ran.member[:12], "SUCCESS"),
        }, members
        detail.scroll_into_view_if_needed()
        screenshot("top-detail")

        # When the sub-workflow's row is clicked
        row_of(page, ran.middle).click()

        # Then its detail names top as its parent workflow, with echo as its only member
        poll(lambda: page.locator("#workflow-id").inner_text() == ran.middle, TIMEOUT_S, "middle's detail")
        fields = fields_of(page)
        assert fields["type"] == ran.middle_task and fields["status"] == "SUCCESS"
        assert fields["parent workflow"] == ran.top
        assert fields["sub-workflows"] == "" and fields["data keys"] == ""
        assert page.locator("#workflow-steps tbody tr").count() == 0
        (only,) = page.locator("#workflow-members tbody tr").all()
        assert cells(only)[0].endswith(".echo") and cells(only)[2] == "SUCCESS"
        detail.scroll_into_view_if_needed()
        screenshot("middle-detail")

        # And the page reported no error while the server was up
        assert "error" not in (page.locator("#status").get_attribute("class") or "")
        assert page_log.page_errors == []
        # (the browser asks for /favicon.ico on its own; the server has none and answers 404)
        ours = [line for line in page_log.console_errors if "/favicon.ico" not in line]
        assert ours == [], ours


def row_of(page: Page, workflow_id: str) -> Locator:
    """The row of a run in the Workflows table (its last cell is the id's first 12 characters)."""
    row = page.locator(ROWS).filter(has=page.locator("td:nth-child(5)", has_text=workflow_id[:12]))
    poll(lambda: row.count() == 1, TIMEOUT_S, f"the row of {workflow_id}")
    return row


def cells(row: Locator) -> list[str]:
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def fields_of(page: Page) -> dict[str, str]:
    """The detail's ``dt``/``dd`` pairs, as the page shows them."""
    names = page.locator("#workflow-fields dt").all_inner_texts()
    values = page.locator("#workflow-fields dd").all_inner_texts()
    assert len(names) == len(values), (names, values)
    return {name.strip(): value.strip() for name, value in zip(names, values, strict=True)}
