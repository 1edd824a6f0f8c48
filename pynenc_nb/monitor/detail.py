"""One invocation in full, built only from display strings and plain-text exception fields.

Stored results and arguments are never decoded here: a result is shown by the display string
computed when it was written, and an exception by the ``type``, ``message`` and ``traceback``
text fields of its JSON payload (written by ``Orchestrator.exception_outcome``). Its ``pickle``,
signature and encoded ``args`` stay in the backend.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.monitor.common import RunnerDirectory, check_limit, safe_text, summary_of
from pynenc_nb.monitor.events import origin_of
from pynenc_nb.monitor.models import ExceptionView, HistoryEntry, InvocationDetailView, WorkflowView
from pynenc_nb.records import InvocationFilter, Outcome
from pynenc_nb.serialization.codec import TAG

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource

MESSAGE_CHARS = 4_000
TRACEBACK_CHARS = 20_000
REASON_CHARS = 1_000


def build_detail(app: MonitorSource, invocation_id: str, children_limit: int, now: float) -> InvocationDetailView:
    check_limit(children_limit, "children_limit")
    state = app.state_backend
    record = state.get(invocation_id)
    if record is None:
        raise InvocationNotFoundError(f"invocation {invocation_id} does not exist", invocation_id=invocation_id)
    runners = RunnerDirectory(state)
    history = tuple(
        HistoryEntry(
            status=change.status,
            at=change.at,
            owner_id=change.owner_id,
            owner_label=runners.label(change.owner_id),
            runner_id=change.runner_id,
            runner_label=runners.label(change.runner_id),
            reason=safe_text(change.reason, REASON_CHARS) if change.reason is not None else None,
        )
        for change in state.history(invocation_id)
    )
    outcome = state.outcome(invocation_id) if record.status.is_final else None
    parent = state.get(record.parent_invocation_id) if record.parent_invocation_id else None
    children, children_cursor = state.query(
        InvocationFilter(parent_invocation_id=invocation_id), limit=children_limit, arguments=False
    )
    workflow = record.workflow
    return InvocationDetailView(
        invocation=summary_of(record),
        call_id=record.call_id,
        queue=record.queue,
        priority=record.priority,
        task_version=record.task_version,
        owner_label=runners.label(record.owner_id),
        result=safe_text(outcome.display, MESSAGE_CHARS) if outcome is not None and outcome.kind == "result" else None,
        exception=exception_of(outcome) if outcome is not None and outcome.kind == "exception" else None,
        history=history,
        parent=summary_of(parent) if parent is not None else None,
        children=tuple(summary_of(child) for child in children),
        children_next_cursor=children_cursor,
        workflow=(
            WorkflowView(
                workflow.workflow_id,
                workflow.workflow_type,
                workflow.parent_workflow_id,
                workflow.workflow_id == record.invocation_id,
            )
            if workflow is not None
            else None
        ),
        origin=origin_of(app.trigger_store, invocation_id),
        generated_at=now,
    )


def exception_of(outcome: Outcome) -> ExceptionView:
    """The plain-text fields of an exception payload; the display string when it has none."""
    data: Any
    try:
        data = json.loads(outcome.payload)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get(TAG) != "exception":
        kind, _, message = outcome.display.partition(": ")
        return ExceptionView(type=kind, message=message, traceback="")
    return ExceptionView(
        type=_text(data.get("type"), MESSAGE_CHARS),
        message=_text(data.get("message"), MESSAGE_CHARS),
        traceback=_text(data.get("traceback"), TRACEBACK_CHARS, keep="tail"),
    )


def _text(value: Any, limit: int, keep: str = "head") -> str:
    return safe_text(value, limit, keep=keep) if isinstance(value, str) else ""
