"""``%pynenc workflows`` and ``%pynenc workflow ID``."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

from pynenc_nb.widgets import WorkflowPanel, WorkflowsBrowser
from tests.notebook_layer.test_magics import cell, ip, magic, memory_app

__all__ = ["ip"]  # the fixture, used by name


def run_flows(ip: Any) -> str:
    app = memory_app(ip, dev_mode_force_sync_tasks=True)
    cell(
        ip,
        "@app.workflow\ndef trip(n: int) -> int:\n    return n\n"
        "@app.workflow\ndef other(n: int) -> int:\n    return n\n"
        "done = trip(1)\nother(2).result\n",
    )
    assert app.invocation(ip.user_ns["done"].invocation_id).status.value == "SUCCESS"
    return str(ip.user_ns["done"].invocation_id)


def test_workflows_shows_the_runs_with_their_filters(ip: Any) -> None:
    trip = run_flows(ip)
    browser = magic(ip, "workflows --limit 5 --no-live")
    assert isinstance(browser, WorkflowsBrowser) and not browser.live and browser.limit == 5
    assert len(browser.page.rows) == 2
    trip_type = ip.user_ns["trip"].task_id
    typed = magic(ip, f"workflows --type {trip_type}")
    assert [row.workflow_id for row in typed.page.rows] == [trip]


def test_workflow_shows_one_run_and_refuses_an_unknown_id(ip: Any) -> None:
    trip = run_flows(ip)
    panel = magic(ip, f"workflow {trip} --no-live")
    assert isinstance(panel, WorkflowPanel) and panel.view.workflow.workflow_id == trip
    panel = magic(ip, "workflow done")  # a variable holding the invocation
    assert panel.view.workflow.workflow_id == trip
    with pytest.raises(UsageError, match="does not exist"):
        magic(ip, "workflow no-such-id")
