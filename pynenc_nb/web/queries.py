"""What each API route answers, as plain functions over a :class:`~pynenc_nb.monitor.Monitor`.

They are blocking (the handlers run them in the catalog's pool) and return JSON-ready dicts
typed by the ``TypedDict`` shapes below (with the view shapes of ``pynenc_nb.monitor.models``),
mirrored by ``labextension/src/api.ts`` and checked by ``tests/monitor/test_browser_types.py``.
Query-string values are parsed here, and a bad one raises ``InvalidMonitorQueryError`` naming
the parameter, which the handlers turn into a 400.
"""

from __future__ import annotations

import json as json_module
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.monitor.event_models import EventJson, TriggerJson, TriggerRunJson
from pynenc_nb.monitor.log_models import LogExplorerJson
from pynenc_nb.monitor.models import (
    FamilyTreeJson,
    InvocationDetailJson,
    InvocationSummaryJson,
    RunnerJson,
    StatusName,
    TaskJson,
    TimelineJson,
)
from pynenc_nb.monitor.workflow_models import WorkflowDetailJson, WorkflowRunJson
from pynenc_nb.records import InvocationFilter

if TYPE_CHECKING:
    from pynenc_nb.monitor import Monitor
    from pynenc_nb.web.catalog import AppCatalog
    from pynenc_nb.web.reader import AppReader
    from pynenc_nb.widgets.figures.common import FigureDict  # figures are imported only when asked for

PAGE_DEFAULT, PAGE_MAX = 50, 500
RUNS_DEFAULT, RUNS_MAX = 50, 500
TIMELINE_DEFAULT, TIMELINE_MAX = 2000, 10_000
TREE_DEPTH_DEFAULT, TREE_DEPTH_MAX = 3, 20
SINCE_DEFAULT_S = 600.0  # the timeline shows the last ten minutes unless told otherwise
RECENT_FAILURES = 10
RUNNING_SHOWN = 20
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhd])$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_S = InvocationStatus


# --- JSON shapes of the answers ------------------------------------------------------------------


class AppJson(TypedDict):
    """An app as the browser sees it (``KnownApp.public()``): no URL, no path."""

    key: str
    app_id: str
    backend: str  # the backend's scheme and host or file name
    broker: str | None
    folder: str | None  # name of the app's working folder
    source: Literal["config", "registry"]
    first_seen: float | None
    last_seen: float | None
    available: bool
    kernels: list[str]  # ids of the Jupyter kernels that used the app, newest last


class AppsJson(TypedDict):
    apps: list[AppJson]


class StatusInfoJson(TypedDict):
    status: StatusName
    colour: str
    final: bool


class StatusesJson(TypedDict):
    statuses: list[StatusInfoJson]


class RunnerRowJson(RunnerJson):
    launched_kind: str | None  # thread | process | kernel | remote, as the state file says; None if not from a notebook
    stoppable: bool


class RunnersJson(TypedDict):
    items: list[RunnerRowJson]
    generated_at: float


class RunnerTotalsJson(TypedDict):
    total: int
    alive: int
    slots: int  # of the alive runners
    busy: int


class SummaryJson(TypedDict):
    counts: dict[str, int]
    total: int
    runners: list[RunnerRowJson]
    runner_totals: RunnerTotalsJson
    failures: list[InvocationSummaryJson]
    running: list[InvocationSummaryJson]
    running_more: bool
    generated_at: float


class AppSummaryJson(SummaryJson):
    """The summary route's answer: the app and its summary."""

    app: AppJson


class InvocationsJson(TypedDict):
    items: list[InvocationSummaryJson]
    next_cursor: str | None
    generated_at: float


class RerunJson(TypedDict):
    invocation_id: str
    status: StatusName
    task_id: str
    new: bool


class KillJson(TypedDict):
    invocation_id: str
    status: StatusName


class FamilyTreeAnswerJson(FamilyTreeJson, total=False):
    figure: FigureDict  # with figure=true


class TimelineAnswerJson(TimelineJson, total=False):
    figure: FigureDict  # with figure=true


class TasksJson(TypedDict):
    items: list[TaskJson]


class EventsJson(TypedDict):
    items: list[EventJson]
    next_cursor: str | None
    generated_at: float


class TriggerRunsJson(TypedDict):
    items: list[TriggerRunJson]
    generated_at: float


class WorkflowsJson(TypedDict):
    items: list[WorkflowRunJson]
    types: list[str]  # the workflow types found (for a type filter)
    next_cursor: str | None
    generated_at: float


class TriggersJson(TypedDict):
    items: list[TriggerJson]


class LogsAnswerJson(LogExplorerJson):
    """The log explorer's answer: the view and the figure of its mini-timeline."""

    figure: FigureDict


# --- parameters ----------------------------------------------------------------------------------


def _bad(argument: str, value: Any, what: str) -> InvalidMonitorQueryError:
    return InvalidMonitorQueryError(f"parameter {argument}={value!r}: {what}", argument=argument, value=value)


def parse_int(argument: str, text: str | None, default: int, maximum: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(argument, text, "expected a whole number") from None
    if not 1 <= value <= maximum:
        raise _bad(argument, text, f"expected 1 to {maximum}")
    return value


def parse_statuses(values: Iterable[str]) -> frozenset[InvocationStatus] | None:
    """``status=FAILED&status=RUNNING`` or ``status=FAILED,RUNNING``; case does not matter."""
    chosen: set[InvocationStatus] = set()
    for value in values:
        for name in filter(None, (part.strip().upper() for part in value.split(","))):
            try:
                chosen.add(InvocationStatus(name))
            except ValueError:
                known = ", ".join(s.value for s in InvocationStatus)
                raise _bad("status", value, f"unknown status; use {known}") from None
    return frozenset(chosen) or None


def parse_time(argument: str, text: str | None, now: float) -> float | None:
    """Epoch seconds (``1764270000.5``), an age (``30s``, ``10m``, ``2h``, ``1d``: that long ago) or
    an ISO 8601 time (UTC unless it says otherwise)."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text.strip())
    if match:
        return now - float(match["n"]) * _UNIT_S[match["unit"]]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(argument, text, "expected epoch seconds, an age such as 10m or 2h, or an ISO 8601 time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def parse_bool(argument: str, text: str | None) -> bool:
    if text is None or text == "":
        return False
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise _bad(argument, text, "expected true or false")


def parse_optional_bool(argument: str, text: str | None) -> bool | None:
    """Absent or empty: None (no filter); otherwise as :func:`parse_bool`."""
    return None if text is None or text == "" else parse_bool(argument, text)


def _text(text: str | None) -> str | None:
    return text if text else None


# --- answers -------------------------------------------------------------------------------------


def apps(catalog: AppCatalog) -> AppsJson:
    return {"apps": [cast(AppJson, known.public()) for known in catalog.known()]}


def statuses() -> StatusesJson:
    """The status table as renderers need it: table order, the project's colours, which are final."""
    from pynenc_nb.display import STATUS_COLOURS

    return {
        "statuses": [
            {"status": status.value, "colour": STATUS_COLOURS[status], "final": status in FINAL_STATUSES}
            for status in InvocationStatus
        ]
    }


def summary(monitor: Monitor, launched: Mapping[str, str]) -> SummaryJson:
    """Counts by status, runner health, the latest failures and what is executing now."""
    counts = monitor.status_counts()
    runner_rows = runners(monitor, launched, include_stopped=False)["items"]
    failures = monitor.invocations(InvocationFilter(statuses=frozenset({_S.FAILED})), limit=RECENT_FAILURES)
    active = monitor.invocations(InvocationFilter(statuses=frozenset({_S.RUNNING, _S.PAUSED})), limit=RUNNING_SHOWN)
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "runners": runner_rows,
        "runner_totals": {
            "total": len(runner_rows),
            "alive": sum(1 for r in runner_rows if r["alive"]),
            "slots": sum(r["slots"] for r in runner_rows if r["alive"]),
            "busy": sum(r["busy"] for r in runner_rows if r["alive"]),
        },
        "failures": [row.to_json() for row in failures.rows],
        "running": [row.to_json() for row in active.rows],
        "running_more": active.next_cursor is not None,
        "generated_at": active.generated_at,
    }


def runners(monitor: Monitor, launched: Mapping[str, str], *, include_stopped: bool) -> RunnersJson:
    """Runner views, each marked with how it was launched from a notebook (if it was) and whether
    this server may stop it (``launched`` maps runner names to launcher kinds)."""
    items: list[RunnerRowJson] = []
    for view in monitor.runners(include_stopped=include_stopped):
        kind = launched.get(view.name) if view.name else None
        stoppable = kind is not None and kind != "thread" and view.state in ("running", "stopping")
        items.append({**view.to_json(), "launched_kind": kind, "stoppable": stoppable})
    return {"items": items, "generated_at": time.time()}


def invocations(
    monitor: Monitor, statuses: Iterable[str], task: str | None, limit: str | None, cursor: str | None
) -> InvocationsJson:
    page = monitor.invocations(
        InvocationFilter(statuses=parse_statuses(statuses), task_id=_text(task)),
        limit=parse_int("limit", limit, PAGE_DEFAULT, PAGE_MAX),
        cursor=_text(cursor),
    )
    return {
        "items": [row.to_json() for row in page.rows],
        "next_cursor": page.next_cursor,
        "generated_at": page.generated_at,
    }


def detail(monitor: Monitor, invocation_id: str) -> InvocationDetailJson:
    return monitor.invocation_detail(invocation_id).to_json()


def rerun(app: AppReader, invocation_id: str) -> RerunJson:
    """Run a final invocation's call again; the answer names the invocation that will run it."""
    caller = app.client_context("MonitorRerun").runner_id
    record, fresh = app.orchestrator.rerun(invocation_id, caller)
    return {
        "invocation_id": record.invocation_id,
        "status": record.status.value,
        "task_id": record.task_id,
        "new": fresh,
    }


def kill(app: AppReader, invocation_id: str) -> KillJson:
    """End a non-final invocation KILLED (its runner interrupts it within a heartbeat); a final
    one is left as it is. The answer is its status after the request."""
    caller = app.client_context("MonitorKill").runner_id
    record = app.orchestrator.kill(invocation_id, caller, reason="killed from the monitor")
    return {"invocation_id": record.invocation_id, "status": record.status.value}


def tree(monitor: Monitor, invocation_id: str, depth: str | None, figure: str | None = None) -> FamilyTreeAnswerJson:
    view = monitor.family_tree(invocation_id, parse_int("depth", depth, TREE_DEPTH_DEFAULT, TREE_DEPTH_MAX))
    answer = cast(FamilyTreeAnswerJson, view.to_json())  # the view has no figure key
    if parse_bool("figure", figure):
        from pynenc_nb.widgets.figures import family_tree_figure

        answer["figure"] = family_tree_figure(view)
    return answer


def timeline(
    monitor: Monitor,
    since: str | None,
    until: str | None,
    task: str | None,
    statuses: Iterable[str],
    limit: str | None,
    cursor: str | None,
    figure: str | None = None,
) -> TimelineAnswerJson:
    """The timeline view; ``figure=true`` adds the Plotly figure the notebook widgets draw of it."""
    now = time.time()
    start = None if since == "all" else parse_time("since", since, now)
    view = monitor.timeline(
        now - SINCE_DEFAULT_S if start is None and since != "all" else start,
        parse_time("until", until, now),
        task_id=_text(task),
        statuses=parse_statuses(statuses),
        limit=parse_int("limit", limit, TIMELINE_DEFAULT, TIMELINE_MAX),
        cursor=_text(cursor),
    )
    answer = cast(TimelineAnswerJson, view.to_json())  # the view has no figure key
    if parse_bool("figure", figure):
        from pynenc_nb.widgets.figures import timeline_figure

        answer["figure"] = timeline_figure(view)
    return answer


def tasks(monitor: Monitor) -> TasksJson:
    return {"items": [view.to_json() for view in monitor.tasks()]}


def events(
    monitor: Monitor,
    code: str | None,
    since: str | None,
    until: str | None,
    matched: str | None,
    limit: str | None,
    cursor: str | None,
) -> EventsJson:
    """A page of events, newest first (all of them unless ``since``/``until`` bound the window)."""
    now = time.time()
    page = monitor.events(
        code=_text(code),
        since=parse_time("since", since, now),
        until=parse_time("until", until, now),
        matched=parse_optional_bool("matched", matched),
        limit=parse_int("limit", limit, PAGE_DEFAULT, PAGE_MAX),
        cursor=_text(cursor),
    )
    return {
        "items": [row.to_json() for row in page.rows],
        "next_cursor": page.next_cursor,
        "generated_at": page.generated_at,
    }


def trigger_runs(monitor: Monitor, trigger: str | None, limit: str | None) -> TriggerRunsJson:
    page = monitor.trigger_runs(trigger_id=_text(trigger), limit=parse_int("limit", limit, RUNS_DEFAULT, RUNS_MAX))
    return {"items": [row.to_json() for row in page.rows], "generated_at": page.generated_at}


def triggers(monitor: Monitor) -> TriggersJson:
    return {"items": [view.to_json() for view in monitor.triggers()]}


def workflows(
    monitor: Monitor, workflow_type: str | None, statuses: Iterable[str], limit: str | None, cursor: str | None
) -> WorkflowsJson:
    """A page of workflow runs, most recently updated first."""
    page = monitor.workflows(
        workflow_type=_text(workflow_type),
        statuses=parse_statuses(statuses),
        limit=parse_int("limit", limit, PAGE_DEFAULT, PAGE_MAX),
        cursor=_text(cursor),
    )
    return {
        "items": [row.to_json() for row in page.rows],
        "types": list(page.types),
        "next_cursor": page.next_cursor,
        "generated_at": page.generated_at,
    }


def workflow(monitor: Monitor, workflow_id: str, limit: str | None, cursor: str | None) -> WorkflowDetailJson:
    """One workflow run; ``limit`` and ``cursor`` page its members."""
    return monitor.workflow_detail(
        workflow_id, members_limit=parse_int("limit", limit, PAGE_DEFAULT, PAGE_MAX), members_cursor=_text(cursor)
    ).to_json()


def logs_text(body: bytes) -> str:
    """The pasted text of a ``POST /logs`` body: JSON ``{"text": "..."}``."""
    try:
        data = json_module.loads(body or b"{}")
    except ValueError:
        raise _bad("body", None, 'expected JSON {"text": "<pasted log lines>"}') from None
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str):
        raise _bad("text", None, "expected the pasted log lines as a string")
    return text


def logs(monitor: Monitor, text: str) -> LogsAnswerJson:
    """Pasted log lines parsed and resolved, with the figure of their mini-timeline."""
    from pynenc_nb.widgets.figures.logs import log_timeline_figure

    view = monitor.logs(text)
    return {**view.to_json(), "figure": log_timeline_figure(view)}
