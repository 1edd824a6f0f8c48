"""Running a final invocation's call again from its stored record (the monitor's "rerun")."""

from __future__ import annotations

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.exceptions import InvocationError
from tests.unit.runner_support import running

S = InvocationStatus


def test_rerun_of_a_workflow_root_starts_a_new_workflow_run(memory_app: Pynenc) -> None:
    app = memory_app

    @app.task
    def double(x: int) -> int:
        return 2 * x

    @app.workflow
    def pipeline(x: int) -> int:
        return double(x).result + 1

    with running(app):
        first = pipeline(5)
        assert first.result_or(10) == 11
        record, fresh = app.orchestrator.rerun(first.invocation_id)
        again = app.invocation(record.invocation_id)
        assert again.result_or(10) == 11
    assert fresh and record.invocation_id != first.invocation_id
    assert again.record.workflow is not None and again.record.workflow.workflow_id == again.invocation_id
    assert again.history()[0].status is S.REGISTERED and again.history()[-1].status is S.SUCCESS
    assert first.status is S.SUCCESS  # the first run is left as it was


def test_rerun_refuses_an_invocation_that_is_not_final(memory_app: Pynenc) -> None:
    app = memory_app

    @app.task
    def later(x: int) -> int:
        return x

    waiting = later(1)  # no runner: it stays REGISTERED
    with pytest.raises(InvocationError, match="only a final invocation can be run again"):
        app.orchestrator.rerun(waiting.invocation_id)
