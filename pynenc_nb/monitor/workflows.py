"""Workflow runs as the monitor shows them: the roots by type and status, and one run in full.

Every invocation of an ``@app.workflow`` task is a root (a sub-workflow too: it carries its own
identity and names its parent's), so the roots of a type are the invocations of that task: one
indexed query per type. The types are the tasks defined here that are workflows, and those
published by any caller (the ``tasks`` namespace) whose most recent invocation is a root: one
probe (a one-row query by task id) per published task not defined here. A page merges the pages
of every type by (updated_at, invocation id), the order every backend pages in, so the cursor is
the last row's key whatever its type. Per row, one ``count_by_status`` of the workflow's members
(a read per row, bounded by the page size) and, for the whole page, one ``histories`` read.

A run in full costs: the root's ``get``, one key-value read per recorded step (the step log is
one key per step), one ``get_many`` of the children the steps called, one ``kv_keys`` of the
workflow's own data namespace, a page of members, and one ``kv_keys`` of its sub-workflow list
(written when a sub-workflow root is registered, whoever in the workflow started it) with one
``get_many`` of them: every cost follows this workflow, not the store. Data values are serialized with
the app's serializer, maybe pickled: only their keys are shown. Step values are the JSON the root
wrote (an id, a number, a time): shown as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pynenc_nb.backends.paging import encode_cursor
from pynenc_nb.exceptions import InvalidMonitorQueryError, InvocationNotFoundError
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.monitor.common import (
    args_of,
    check_cursor,
    check_limit,
    full_counts,
    safe_text,
    statuses_of,
    summary_of,
)
from pynenc_nb.monitor.workflow_models import WorkflowDetailView, WorkflowPage, WorkflowRun, WorkflowStep
from pynenc_nb.records import (
    TASKS_NAMESPACE,
    InvocationFilter,
    InvocationRecord,
    workflow_data_namespace,
    workflow_subs_namespace,
)
from pynenc_nb.workflow.context import recorded_steps

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pynenc_nb.monitor.source import MonitorSource
    from pynenc_nb.ports import StateBackend
    from pynenc_nb.records import StatusChange

STEPS_LIMIT = 1_000  # steps read per run at most (one key-value read each)
DATA_KEYS_LIMIT = 200
SUBWORKFLOW_LIMIT = 500  # sub-workflows shown in a workflow's detail
VALUE_CHARS = 200
CALL_CHARS = 300


@dataclass(frozen=True, slots=True)
class WorkflowQuery:
    """The arguments of :meth:`pynenc_nb.monitor.Monitor.workflows`."""

    workflow_type: str | None = None
    statuses: Iterable[InvocationStatus | str] | None = None
    limit: int = 50
    cursor: str | None = None


def workflow_types(app: MonitorSource) -> list[str]:
    """Task ids of the workflow tasks: defined here, or published with a root as last invocation."""
    state = app.state_backend
    found = {task_id for task_id, task in app.tasks.items() if task.is_workflow}
    for task_id in state.kv_keys(TASKS_NAMESPACE):
        if task_id in app.tasks:
            continue
        latest, _ = state.query(InvocationFilter(task_id=task_id), limit=1, arguments=False)
        if latest and _is_root(latest[0]):
            found.add(task_id)
    return sorted(found)


def build_workflows(app: MonitorSource, query: WorkflowQuery, now: float) -> WorkflowPage:
    check_limit(query.limit)
    check_cursor(query.cursor)
    if query.workflow_type is not None and (not isinstance(query.workflow_type, str) or not query.workflow_type):
        raise InvalidMonitorQueryError(
            f"workflow_type must be a workflow task id or None, got {query.workflow_type!r}",
            argument="workflow_type",
            value=query.workflow_type,
        )
    statuses = statuses_of(query.statuses)
    types = workflow_types(app)
    chosen = [query.workflow_type] if query.workflow_type is not None else types
    state = app.state_backend
    merged: list[InvocationRecord] = []
    more = False
    for task_id in chosen:
        flt = InvocationFilter(task_id=task_id, statuses=statuses)
        records, after = state.query(flt, limit=query.limit, cursor=query.cursor, arguments=False)
        merged += records
        more = more or after is not None
    merged.sort(key=lambda r: (r.updated_at, r.invocation_id), reverse=True)
    more = more or len(merged) > query.limit
    page = merged[: query.limit]
    rows = _runs(state, [r for r in page if _is_root(r)], now)
    return WorkflowPage(rows, tuple(types), encode_cursor(page[-1]) if more and page else None, now)


def build_workflow_detail(
    app: MonitorSource, workflow_id: str, members_limit: int, members_cursor: str | None, now: float
) -> WorkflowDetailView:
    check_limit(members_limit, "members_limit")
    check_cursor(members_cursor)
    state = app.state_backend
    root = state.get(workflow_id)
    if root is None:
        raise InvocationNotFoundError(f"invocation {workflow_id} does not exist", invocation_id=workflow_id)
    if not _is_root(root):
        where = f"it belongs to workflow {root.workflow.workflow_id}" if root.workflow else "it is in no workflow"
        raise InvalidMonitorQueryError(
            f"invocation {workflow_id} of {root.task_id} is not a workflow root ({where})",
            argument="workflow_id",
            value=workflow_id,
        )
    (run,) = _runs(state, [root], now)
    recorded = recorded_steps(app, workflow_id, limit=STEPS_LIMIT + 1)
    steps = _steps(state, recorded[:STEPS_LIMIT])
    keys = state.kv_keys(workflow_data_namespace(workflow_id))
    members, members_next = _members(state, workflow_id, members_limit, members_cursor)
    listed = state.kv_keys(workflow_subs_namespace(workflow_id))
    subs = state.get_many(listed[:SUBWORKFLOW_LIMIT]) if listed else {}
    subworkflows = tuple(summary_of(r) for r in sorted(subs.values(), key=lambda r: (r.created_at, r.invocation_id)))
    return WorkflowDetailView(
        workflow=run,
        steps=steps,
        steps_truncated=len(recorded) > STEPS_LIMIT,
        data_keys=tuple(keys[:DATA_KEYS_LIMIT]),
        data_keys_truncated=len(keys) > DATA_KEYS_LIMIT,
        members=tuple(summary_of(r) for r in members),
        members_next_cursor=members_next,
        subworkflows=subworkflows,
        subworkflows_truncated=len(listed) > SUBWORKFLOW_LIMIT,
        generated_at=now,
    )


# --- internals -----------------------------------------------------------------------------------


def _is_root(record: InvocationRecord) -> bool:
    return record.workflow is not None and record.workflow.workflow_id == record.invocation_id


def _runs(state: StateBackend, roots: list[InvocationRecord], now: float) -> tuple[WorkflowRun, ...]:
    histories = state.histories([r.invocation_id for r in roots]) if roots else {}
    return tuple(_run(state, r, histories.get(r.invocation_id, []), now) for r in roots)


def _run(state: StateBackend, root: InvocationRecord, history: list[StatusChange], now: float) -> WorkflowRun:
    assert root.workflow is not None
    counts = dict(state.count_by_status(InvocationFilter(workflow_id=root.invocation_id)))
    counts[root.status] = counts.get(root.status, 1) - 1  # the root is a member of its own workflow
    by_status = {name: n for name, n in full_counts(counts).items() if n > 0}
    started = next((c.at for c in history if c.status is InvocationStatus.RUNNING), None)
    final = root.status in FINAL_STATUSES
    ended = next((c.at for c in reversed(history) if c.status in FINAL_STATUSES), None) if final else None
    duration = None if started is None else max(0.0, (ended if ended is not None else now) - started)
    return WorkflowRun(
        workflow_id=root.invocation_id,
        workflow_type=root.workflow.workflow_type or root.task_id,
        status=root.status,
        final=final,
        parent_workflow_id=root.workflow.parent_workflow_id,
        args=args_of(root),
        created_at=root.created_at,
        updated_at=root.updated_at,
        started_at=started,
        ended_at=ended,
        duration_s=duration,
        children=sum(by_status.values()),
        children_by_status=by_status,
    )


def _steps(state: StateBackend, recorded: list[dict[str, Any]]) -> tuple[WorkflowStep, ...]:
    entries = [(s, s.get("value") if s.get("kind") == "task" else None) for s in recorded]
    child_ids = [str(v["invocation_id"]) for _, v in entries if isinstance(v, dict) and v.get("invocation_id")]
    children = state.get_many(list(dict.fromkeys(child_ids))) if child_ids else {}
    steps: list[WorkflowStep] = []
    for step, task in entries:
        kind = str(step.get("kind"))
        if isinstance(task, dict):
            child = children.get(str(task.get("invocation_id")))
            steps.append(
                WorkflowStep(
                    step=int(step["step"]),
                    kind=kind,
                    value=None,
                    task_id=_str(task.get("task_id")),
                    call=safe_text(str(task.get("call", "")), CALL_CHARS) if "call" in task else None,
                    invocation_id=_str(task.get("invocation_id")),
                    attempt=task.get("attempt") if isinstance(task.get("attempt"), int) else None,
                    status=child.status if child is not None else None,
                )
            )
        else:
            steps.append(
                WorkflowStep(int(step["step"]), kind, _value_text(step.get("value")), None, None, None, None, None)
            )
    return tuple(steps)


def _value_text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return safe_text(text, VALUE_CHARS)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _members(
    state: StateBackend, workflow_id: str, limit: int, cursor: str | None
) -> tuple[list[InvocationRecord], str | None]:
    """A page of the workflow's members, the root left out (one more row read in its place)."""
    records, after = state.query(
        InvocationFilter(workflow_id=workflow_id), limit=limit + 1, cursor=cursor, arguments=False
    )
    members = [r for r in records if r.invocation_id != workflow_id]
    more = after is not None or len(members) > limit
    members = members[:limit]
    return members, (encode_cursor(members[-1]) if more and members else None)
