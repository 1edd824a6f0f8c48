"""Monitor.invocation_detail: display strings and plain-text exception fields, never payloads."""

from __future__ import annotations

import json

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.monitor import Monitor
from pynenc_nb.records import InvocationFilter
from pynenc_nb.serialization import codec
from tests.conformance.builders import NON_FINAL, S, record
from tests.monitor.conftest import Workload
from tests.unit.runner_support import running


def test_failure_shows_type_message_and_traceback_but_no_payload(
    app: Pynenc, monitor: Monitor, workload: Workload, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a failed invocation whose stored exception carries a pickle (the default serializer)
    payload = json.loads(app.state_backend.outcome(workload.failed).payload)  # type: ignore[union-attr]
    assert payload.get("pickle"), "the test needs a stored pickle to prove it is not shipped"

    # When its detail is built while unpickling is made impossible
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the monitor must never unpickle")

    monkeypatch.setattr(codec.cloudpickle, "loads", refuse)
    detail = monitor.invocation_detail(workload.failed)
    text = json.dumps(detail.to_json())

    # Then the exception is its type, message and traceback text, with the URL password redacted
    assert detail.exception is not None and detail.result is None
    assert detail.exception.type == "builtins.ValueError"
    assert detail.exception.message == "boom 2 at redis://user:***@db.example:6379/0"
    assert "Traceback (most recent call last)" in detail.exception.traceback
    assert "ValueError: boom 2" in detail.exception.traceback
    # And neither the pickle nor the password nor the encoded arguments reach the JSON
    assert payload["pickle"][:40] not in text and "s3cret" not in text
    assert codec.TAG not in text
    record = app.state_backend.get(workload.failed)
    assert record is not None and record.arguments not in text
    assert detail.invocation.status is S.FAILED and detail.invocation.final
    assert json.loads(text) == detail.to_json()


def test_success_history_and_relatives(app: Pynenc, monitor: Monitor, workload: Workload) -> None:
    detail = monitor.invocation_detail(workload.outer)
    assert detail.result == "3" and detail.exception is None
    history = app.state_backend.history(workload.outer)
    assert [(h.status, h.at, h.owner_id, h.runner_id) for h in detail.history] == [
        (c.status, c.at, c.owner_id, c.runner_id) for c in history
    ]
    running = next(h for h in detail.history if h.status is S.RUNNING)
    assert running.owner_label is not None and running.owner_label.startswith("ThreadRunner(")
    assert detail.history[0].runner_label is not None and detail.history[0].runner_label.startswith("ExternalCaller(")
    assert [c.invocation_id for c in detail.children] == [workload.inner] and detail.children_next_cursor is None
    assert detail.parent is None and detail.workflow is None
    inner = monitor.invocation_detail(workload.inner)
    assert inner.parent is not None and inner.parent.invocation_id == workload.outer
    assert inner.invocation.args == {"a": "1", "b": "1"}


def test_workflow_membership_and_retry_reason(monitor: Monitor, workload: Workload) -> None:
    root = monitor.invocation_detail(workload.flow)
    assert root.workflow is not None and root.workflow.is_root and root.workflow.workflow_id == workload.flow
    child = monitor.invocation_detail(workload.flow_child)
    assert child.workflow is not None and not child.workflow.is_root
    assert child.workflow.workflow_id == workload.flow
    retried = monitor.invocation_detail(workload.retried)
    assert retried.invocation.num_retries == 1
    retry = next(h for h in retried.history if h.status is S.RETRY)
    assert retry.reason is not None and "first attempt fails" in retry.reason


def test_children_page_continues_with_invocations(app: Pynenc, monitor: Monitor) -> None:
    @app.task
    def fan(n: int) -> int:
        return n

    parent = fan(0)  # no runner: children registered under it by hand below
    kids = [record("tests.leaf", parent=parent.invocation_id) for _ in range(5)]
    app.state_backend.register(kids, None, NON_FINAL)
    detail = monitor.invocation_detail(parent.invocation_id, children_limit=2)
    assert len(detail.children) == 2 and detail.children_next_cursor is not None
    rest = monitor.invocations(
        InvocationFilter(parent_invocation_id=parent.invocation_id), limit=10, cursor=detail.children_next_cursor
    )
    seen = [c.invocation_id for c in detail.children] + [r.invocation_id for r in rest.rows]
    assert sorted(seen) == sorted(k.invocation_id for k in kids)


def test_unknown_invocation(monitor: Monitor) -> None:
    with pytest.raises(InvocationNotFoundError) as caught:
        monitor.invocation_detail("f" * 32)
    assert caught.value.invocation_id == "f" * 32


def test_argument_and_result_displays_hide_url_passwords(app: Pynenc, monitor: Monitor) -> None:
    @app.task
    def connect(url: str) -> str:
        return url

    with running(app):
        invocation = connect("postgres://admin:hunter2@db:5432/app")
        assert invocation.result_or(60.0) == "postgres://admin:hunter2@db:5432/app"
    detail = monitor.invocation_detail(invocation.invocation_id)
    text = json.dumps(detail.to_json()) + json.dumps(monitor.timeline(None, None).to_json())
    assert "hunter2" not in text
    assert detail.invocation.args == {"url": "'postgres://admin:***@db:5432/app'"}
    assert detail.result == "'postgres://admin:***@db:5432/app'"
