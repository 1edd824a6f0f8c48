"""App-wide views: runners and their health, counts by status, known tasks, invocation pages."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pynenc_nb.monitor.common import check_cursor, check_limit, full_counts, summary_of
from pynenc_nb.monitor.models import InvocationPage, RunnerView, TaskView
from pynenc_nb.records import TASKS_NAMESPACE, InvocationFilter, RunnerInfo

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource

RECENT_FOR_TASKS = 500  # most recently updated invocations scanned for task ids nobody published


def runner_views(app: MonitorSource, include_stopped: bool, now: float) -> list[RunnerView]:
    """Runners, newest heartbeat first; client contexts (callers outside runners) are left out."""
    dead_after = app.conf.runner_dead_after_s
    views = [
        _runner_view(info, dead_after, now)
        for info in app.state_backend.runners(include_stopped=include_stopped)
        if info.state != "client"
    ]
    return sorted(views, key=lambda v: (-v.last_heartbeat, v.runner_id))


def _runner_view(info: RunnerInfo, dead_after: float, now: float) -> RunnerView:
    ctx = info.context
    age = max(0.0, now - info.last_heartbeat)
    return RunnerView(
        runner_id=ctx.runner_id,
        label=info.label,
        name=info.name,
        runner_cls=ctx.runner_cls,
        hostname=ctx.hostname,
        pid=ctx.pid,
        parent_runner_id=ctx.parent_runner_id,
        state=info.state,
        slots=info.slots,
        busy=info.busy,
        started_at=ctx.started_at,
        last_heartbeat=info.last_heartbeat,
        heartbeat_age_s=age,
        alive=info.state in ("running", "stopping") and age <= dead_after,
    )


def status_counts(app: MonitorSource, flt: InvocationFilter) -> dict[str, int]:
    return full_counts(app.state_backend.count_by_status(flt))


def task_views(app: MonitorSource, with_counts: bool) -> list[TaskView]:
    """Tasks defined in this app object, published by any caller, or seen in recent invocations."""
    state = app.state_backend
    recent, _ = state.query(InvocationFilter(), limit=RECENT_FOR_TASKS, arguments=False)
    task_ids = sorted(set(app.tasks) | set(state.kv_keys(TASKS_NAMESPACE)) | {r.task_id for r in recent})
    views: list[TaskView] = []
    for task_id in task_ids:
        task = app.tasks.get(task_id)
        info = _published(state.kv_get(TASKS_NAMESPACE, task_id))
        views.append(
            TaskView(
                task_id=task_id,
                defined_here=task is not None,
                is_workflow=task.is_workflow if task is not None else None,
                module=_str(info.get("module")) or (task.func.__module__ if task is not None else None),
                qualname=_str(info.get("qualname")) or (task.func.__qualname__ if task is not None else None),
                version=_str(info.get("version")),
                counts=status_counts(app, InvocationFilter(task_id=task_id)) if with_counts else None,
            )
        )
    return views


def _published(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def invocation_page(
    app: MonitorSource, flt: InvocationFilter, limit: int, cursor: str | None, now: float
) -> InvocationPage:
    check_limit(limit)
    check_cursor(cursor)
    records, next_cursor = app.state_backend.query(flt, limit=limit, cursor=cursor, arguments=False)
    return InvocationPage(tuple(summary_of(r) for r in records), next_cursor, now)
