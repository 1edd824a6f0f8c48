"""Events and trigger runs as the monitor shows them: a page of events with the runs each made,
the most recent runs, and the run that created an invocation.

A page costs one read of each kind whatever its size: the events page, one ``trigger_runs`` read
by source for all its events, one ``get_many`` of the invocations those runs created (their
status now) and the runner list (who emitted). Filtering on whether an event matched a trigger
cannot be an index read (a match is a run, stored apart): such a page reads events in batches and
stops after ``SCAN_LIMIT`` of them, so its cost stays bounded when matches are rare.

Payloads are the JSON text ``emit_event`` wrote: shown as text, never decoded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pynenc_nb.backends.paging import event_cursor_of
from pynenc_nb.conf.urls import redact_text
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.monitor.common import RunnerDirectory, check_cursor, check_limit
from pynenc_nb.monitor.event_models import EventPage, EventView, TriggerRunPage, TriggerRunView
from pynenc_nb.monitor.models import InvocationOrigin
from pynenc_nb.records import EventRecord, InvocationRecord, TriggerRun

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource
    from pynenc_nb.ports import StateBackend, TriggerStore

SCAN_BATCH = 100  # events read per store page when filtering on matched
SCAN_LIMIT = 2_000  # events one page filtered on matched reads at most
RUNS_PER_EVENT = 20  # trigger runs read and shown per event at most
PAYLOAD_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The arguments of :meth:`pynenc_nb.monitor.Monitor.events`."""

    code: str | None = None
    since: float | None = None
    until: float | None = None
    matched: bool | None = None
    limit: int = 50
    cursor: str | None = None


def build_events(app: MonitorSource, query: EventQuery, now: float) -> EventPage:
    _check(query)
    store = app.trigger_store
    if query.matched is None:
        events, next_cursor = store.events(
            code=query.code, since=query.since, until=query.until, limit=query.limit, cursor=query.cursor
        )
        runs = runs_by_source(store, [event.event_id for event in events])
    else:
        events, runs, next_cursor = _scan(store, query)
    state = app.state_backend
    created = _created(state, [run for made in runs.values() for run in made])
    runners = RunnerDirectory(state)
    rows = tuple(_event_view(event, runs.get(event.event_id, ()), created, runners) for event in events)
    return EventPage(rows, next_cursor, now)


def build_trigger_runs(app: MonitorSource, trigger_id: str | None, limit: int, now: float) -> TriggerRunPage:
    check_limit(limit)
    if trigger_id is not None and (not isinstance(trigger_id, str) or not trigger_id):
        raise InvalidMonitorQueryError(
            f"trigger_id must be a trigger id or None, got {trigger_id!r}", argument="trigger_id", value=trigger_id
        )
    store = app.trigger_store
    runs = store.trigger_runs(trigger_id=trigger_id, limit=limit)
    codes = event_codes(store, runs)
    created = _created(app.state_backend, runs)
    return TriggerRunPage(tuple(run_view(run, codes.get(run.run_id), created) for run in runs), now)


def origin_of(store: TriggerStore, invocation_id: str) -> InvocationOrigin | None:
    """The run that created ``invocation_id`` (one indexed read), with the code of the event(s)
    that made it fire (one more point read, only when an event was among its sources)."""
    runs = store.trigger_runs(invocation_ids=[invocation_id], limit=1)
    if not runs:
        return None
    run = runs[0]
    code = event_codes(store, [run]).get(run.run_id)
    return InvocationOrigin(run.run_id, run.trigger_id, run.source_kind, run.source_id, code, run.at)


def runs_by_source(store: TriggerStore, source_ids: Sequence[str]) -> dict[str, list[TriggerRun]]:
    """The runs each source made (newest first, at most ``RUNS_PER_EVENT``): one read for all."""
    if not source_ids:
        return {}
    found: dict[str, list[TriggerRun]] = defaultdict(list)
    for run in store.trigger_runs(source_ids=list(source_ids), limit=len(source_ids) * RUNS_PER_EVENT):
        made = found[run.source_id]
        if len(made) < RUNS_PER_EVENT:
            made.append(run)
    return dict(found)


def event_codes(store: TriggerStore, runs: Sequence[TriggerRun]) -> dict[str, str]:
    """run id -> the code(s) of the events among its sources; one ``get_events`` for all runs."""
    parts = {run.run_id: _event_sources(run) for run in runs}
    wanted = [source for sources in parts.values() for source in sources]
    if not wanted:
        return {}
    events = store.get_events(list(dict.fromkeys(wanted)))
    codes: dict[str, str] = {}
    for run_id, sources in parts.items():
        found = list(dict.fromkeys(events[s].code for s in sources if s in events))
        if found:
            codes[run_id] = ", ".join(found)
    return codes


def run_view(run: TriggerRun, event_code: str | None, created: Mapping[str, InvocationRecord]) -> TriggerRunView:
    record = created.get(run.invocation_id) if run.invocation_id is not None else None
    return TriggerRunView(
        run_id=run.run_id,
        trigger_id=run.trigger_id,
        task_id=run.task_id,
        source_kind=run.source_kind,
        source_id=run.source_id,
        event_code=event_code,
        invocation_id=run.invocation_id,
        status=record.status if record is not None else None,
        at=run.at,
    )


# --- internals -----------------------------------------------------------------------------------


def _event_sources(run: TriggerRun) -> list[str]:
    if run.source_kind == "event":
        return [run.source_id]
    if run.source_kind == "composite":
        return [part for part in run.source_id.split(",") if part]  # event ids among ticks and invocation ids
    return []


def _created(state: StateBackend, runs: Sequence[TriggerRun]) -> dict[str, InvocationRecord]:
    ids = list(dict.fromkeys(run.invocation_id for run in runs if run.invocation_id is not None))
    return state.get_many(ids) if ids else {}


def _scan(store: TriggerStore, query: EventQuery) -> tuple[list[EventRecord], dict[str, list[TriggerRun]], str | None]:
    """Events that did (or did not) make a run, read in batches from ``query.cursor`` on."""
    batch = max(SCAN_BATCH, min(query.limit, SCAN_LIMIT))
    kept: list[EventRecord] = []
    runs_of: dict[str, list[TriggerRun]] = {}
    cursor, read = query.cursor, 0
    while True:
        page, after = store.events(code=query.code, since=query.since, until=query.until, limit=batch, cursor=cursor)
        runs = runs_by_source(store, [event.event_id for event in page])
        read += len(page)
        for index, event in enumerate(page):
            made = runs.get(event.event_id, [])
            if bool(made) is query.matched:
                kept.append(event)
                runs_of[event.event_id] = made
                if len(kept) == query.limit:
                    more = index + 1 < len(page) or after is not None
                    return kept, runs_of, event_cursor_of(event) if more else None
        if after is None:
            return kept, runs_of, None
        if read >= SCAN_LIMIT:  # a page with fewer rows than asked for, and a next one
            return kept, runs_of, after
        cursor = after


def _event_view(
    event: EventRecord, runs: Sequence[TriggerRun], created: Mapping[str, InvocationRecord], runners: RunnerDirectory
) -> EventView:
    payload, truncated = _payload(event.payload)
    return EventView(
        event_id=event.event_id,
        code=event.code,
        at=event.at,
        payload=payload,
        payload_truncated=truncated,
        emitter_invocation_id=event.emitter_invocation_id,
        emitted_by=runners.label(event.emitter_runner_id),
        matched=bool(runs),
        runs=tuple(run_view(run, event.code, created) for run in runs),
    )


def _payload(text: str) -> tuple[str, bool]:
    shown = redact_text(text) if "://" in text else text
    if len(shown) <= PAYLOAD_CHARS:
        return shown, False
    return shown[:PAYLOAD_CHARS] + "…", True


def _check(query: EventQuery) -> None:
    check_limit(query.limit)
    check_cursor(query.cursor)
    if query.code is not None and (not isinstance(query.code, str) or not query.code):
        raise InvalidMonitorQueryError(
            f"code must be an event code or None, got {query.code!r}", argument="code", value=query.code
        )
    for name in ("since", "until"):
        value: Any = getattr(query, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidMonitorQueryError(
                f"{name} must be epoch seconds or None, got {value!r}", argument=name, value=value
            )
    if query.since is not None and query.until is not None and query.since > query.until:
        raise InvalidMonitorQueryError(
            f"the window starts after it ends ({query.since} > {query.until})", argument="since", value=query.since
        )
    if query.matched is not None and not isinstance(query.matched, bool):
        raise InvalidMonitorQueryError(
            f"matched must be True, False or None, got {query.matched!r}", argument="matched", value=query.matched
        )
