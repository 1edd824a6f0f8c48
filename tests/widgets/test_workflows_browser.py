"""``WorkflowsBrowser`` and ``WorkflowPanel``: workflow runs and one run's step log as HTML tables,
escaped, static outside a kernel."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.display import display
from IPython.utils.capture import CapturedIO

from pynenc_nb import Pynenc
from pynenc_nb.widgets import WorkflowPanel, WorkflowsBrowser


@pytest.fixture
def flow_app(make_app: Any) -> Pynenc:
    return make_app(dev_mode_force_sync_tasks=True)


def run_flow(app: Pynenc) -> str:
    @app.task
    def note(text: str) -> str:
        return text

    @app.workflow
    def journey(text: str) -> str:
        journey.wf.set_data("<i>key</i>", 1)
        journey.wf.root.uuid()
        return str(journey.wf.root.execute_task(note, text))

    done = journey("<script>alert(1)</script>")
    assert done.result == "<script>alert(1)</script>"
    return done.invocation_id


def test_without_a_kernel_the_workflows_are_a_static_escaped_table(flow_app: Pynenc, displayed: CapturedIO) -> None:
    workflow_id = run_flow(flow_app)
    display(WorkflowsBrowser(flow_app))
    (shown,) = displayed.outputs
    page = shown.data["text/html"]
    assert workflow_id[:12] in page and "journey" in page and "SUCCESS" in page
    assert "<script>" not in page
    assert "journey" in shown.data["text/plain"]


def test_the_workflow_panel_shows_steps_data_keys_and_members(flow_app: Pynenc, displayed: CapturedIO) -> None:
    workflow_id = run_flow(flow_app)
    display(WorkflowPanel(flow_app, workflow_id))
    (shown,) = displayed.outputs
    page = shown.data["text/html"]
    assert "uuid" in page and "task" in page and "note" in page
    assert "&lt;i&gt;key&lt;/i&gt;" in page and "<i>key</i>" not in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # the call display, escaped
