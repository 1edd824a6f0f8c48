"""Recorded workflow histories (``tests/fixtures/workflows/``) replayed against today's code: the
same result, the same steps, and no child body runs. A change to the stored step format, to call
encoding (the call ids in the steps) or to replay fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb.execution import run_inline
from pynenc_nb.records import WORKFLOW_OPS_NAMESPACE
from pynenc_nb.workflow.context import recorded_steps, step_key
from tests.workflows import golden_app

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "workflows").glob("*.json"))


def test_there_are_fixtures() -> None:
    assert {p.stem for p in FIXTURES} == set(golden_app.WORKFLOWS)


def _register(task: Any, values: dict[str, Any], invocation_id: str) -> Any:
    app = golden_app.app
    (record,) = app.orchestrator.register(
        task, [task.encode(task.signature.bind((), values))], None, enqueue=False, invocation_ids=[invocation_id]
    )
    return record


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_recorded_workflow_replays_without_running_its_children(path: Path) -> None:
    history = json.loads(path.read_text())
    assert history["format"] == 1
    app = golden_app.app
    app.purge()
    # Given the children as they ended when recorded (run once here to store their results)
    for child_id, child in history["children"].items():
        record = _register(
            app.get_task(child["task_id"]), app.serializer.loads(json.dumps(child["arguments"])), child_id
        )
        run_inline(app, record)
    for step in history["steps"]:
        value = {k: v for k, v in step.items() if k != "step"}
        app.state_backend.kv_put(
            WORKFLOW_OPS_NAMESPACE, step_key(history["root_invocation_id"], step["step"]), json.dumps(value)
        )
    golden_app.executed.clear()
    # When the root is attempted again under its recorded id
    task, _ = golden_app.WORKFLOWS[history["workflow"]]
    root = run_inline(app, _register(task, history["arguments"], history["root_invocation_id"]))
    # Then it returns the recorded result, recorded nothing new, and ran no child
    assert app.invocation(root.invocation_id).result == history["result"]
    assert recorded_steps(app, root.invocation_id) == history["steps"]
    assert golden_app.executed == []
