"""The timeline: which invocations were active in a window, and their histories as lane segments.

Reads are two indexed, paged queries (invocations updated in the window, then non-final ones last
updated before it) plus one bulk history read per page, so the cost grows with the page, never
with the number of stored invocations.

Placement: a history entry with an owner (PENDING, RUNNING, PAUSED) goes to the owner runner's
lane; an unowned one (REGISTERED, RETRY, REROUTED, ...) to the queued lane; a final status stays
where the status before it was. Consecutive entries of one invocation in one lane form a span
(claim, run, finish: what one worker slot does); a pause ends the span, because a paused
invocation frees its slot. Spans are packed into rows first-fit by start time, so a runner's rows
read as its worker slots: never more rows than the slots it recorded, and bars of one row never
overlap while the runner kept to its slots. Paused entries of a runner share one more row, so
paused parents never take slot rows: a runner has at most ``slots + 1`` rows.
"""

from __future__ import annotations

import functools
import heapq
import html
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.invocation.status import FINAL_STATUSES, NON_FINAL, InvocationStatus
from pynenc_nb.monitor.common import (
    RunnerDirectory,
    args_of,
    check_cursor,
    check_limit,
    cyclic_gc_paused,
    history_rows,
    statuses_of,
)
from pynenc_nb.monitor.events import runs_by_source
from pynenc_nb.monitor.final_walks import FinalWalk, FinalWalks
from pynenc_nb.monitor.models import (
    QUEUED_LANE,
    EventMarker,
    Lane,
    Link,
    SegmentColumns,
    TimelineInvocation,
    TimelineView,
)
from pynenc_nb.ports.state import HistoryRow
from pynenc_nb.records import InvocationFilter, InvocationRecord

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource

_VALUES = {status: status.value for status in InvocationStatus}  # faster than the enum's .value
_PAUSED = InvocationStatus.PAUSED
EVENT_LIMIT = 500  # event markers per view
_HOVER_ARGS_CHARS = 300
_INSIDE, _OLDER = "w", "o"  # cursor phases: updated inside the window, then non-final ones from before it


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """The arguments of :meth:`pynenc_nb.monitor.Monitor.timeline`."""

    start: float | None
    end: float | None
    task_id: str | None = None
    statuses: Iterable[InvocationStatus | str] | None = None
    workflow_id: str | None = None
    limit: int = 2000
    cursor: str | None = None


@dataclass(slots=True)
class _Span:
    """History entries ``first`` to ``stop - 1`` of one invocation, all in one lane; packed into a row."""

    lane: str
    start: float
    first: int
    stop: int = 0
    end: float = math.inf  # the end of its last entry (inf while that entry lasts)
    row: int = 0
    paused: bool = False  # PAUSED entries (drawn on the runner's paused row)


def build_timeline(
    app: MonitorSource, query: TimelineQuery, now: float, walks: FinalWalks | None = None
) -> TimelineView:
    check_limit(query.limit)
    if query.start is not None and query.end is not None and query.start > query.end:
        raise InvalidMonitorQueryError(
            f"the window starts after it ends ({query.start} > {query.end})", argument="start", value=query.start
        )
    base = InvocationFilter(statuses=statuses_of(query.statuses), task_id=query.task_id, workflow_id=query.workflow_id)
    if walks is not None:
        walks.fit(query.limit)
    with cyclic_gc_paused():
        return _build(app, base, query, now, walks)


def timeline_of(
    app: MonitorSource, records: Sequence[InvocationRecord], now: float, lanes: Iterable[str] = ()
) -> TimelineView:
    """The timeline of these invocations only (the log explorer's): their lanes, plus ``lanes``
    (runner ids) shown even without work; no window, no events, no next page."""
    with cyclic_gc_paused():
        runners = RunnerDirectory(app.state_backend)
        query = TimelineQuery(None, None)
        return _view(app, list(records), runners, tuple(lanes), None, query, now, None, events=False)


def _build(
    app: MonitorSource, base: InvocationFilter, query: TimelineQuery, now: float, walks: FinalWalks | None
) -> TimelineView:
    records, next_cursor = _page(app, base, query)
    runners = RunnerDirectory(app.state_backend)
    live = tuple(
        info.context.runner_id for info in runners.infos.values() if info.state in ("running", "stopping")
    )  # live runners without work show as empty lanes
    return _view(app, records, runners, live, next_cursor, query, now, walks, events=True)


def _view(
    app: MonitorSource,
    records: list[InvocationRecord],
    runners: RunnerDirectory,
    idle_lanes: tuple[str, ...],
    next_cursor: str | None,
    query: TimelineQuery,
    now: float,
    walks: FinalWalks | None,
    *,
    events: bool,
) -> TimelineView:
    kept = {r.invocation_id: walk for r in records if walks is not None and (walk := walks.get(r)) is not None}
    histories = history_rows(app.state_backend, [r.invocation_id for r in records if r.invocation_id not in kept])

    walked: list[tuple[Sequence[HistoryRow], Sequence[float | None], list[_Span]]] = []
    by_lane: dict[str, list[_Span]] = defaultdict(list)
    invocations: list[TimelineInvocation] = []
    new_finals: list[tuple[InvocationRecord, FinalWalk]] = []
    for record in records:
        history, ends, spans, invocation = _walked(record, kept.get(record.invocation_id), histories, now, new_finals)
        walked.append((history, ends, spans))
        for span in spans:
            by_lane[span.lane].append(span)
        invocations.append(invocation)
    if walks is not None and new_finals:
        walks.put_many(new_finals)
    for lane_id in idle_lanes:
        by_lane.setdefault(lane_id, [])

    lanes = [_lane(QUEUED_LANE, runners, *_pack(by_lane.pop(QUEUED_LANE, []), 0))]
    runner_lanes = [
        _lane(lane_id, runners, *_pack(spans, _slots(runners, lane_id))) for lane_id, spans in by_lane.items()
    ]
    lanes += _ordered(runner_lanes, runners)

    segments = _columns(records, walked)
    ids = {r.invocation_id for r in records}
    return TimelineView(
        start=query.start,
        end=query.end,
        generated_at=now,
        lanes=tuple(lanes),
        segments=segments,
        invocations=tuple(invocations),
        links=tuple(
            Link(r.parent_invocation_id, r.invocation_id)
            for r in records
            if r.parent_invocation_id is not None and r.parent_invocation_id in ids
        ),
        workflow_roots=tuple(
            r.invocation_id for r in records if r.workflow is not None and r.workflow.workflow_id == r.invocation_id
        ),
        events=_events(app, query.start, query.end) if events else (),
        next_cursor=next_cursor,
    )


# --- reading -------------------------------------------------------------------------------------


def _page(
    app: MonitorSource, base: InvocationFilter, query: TimelineQuery
) -> tuple[list[InvocationRecord], str | None]:
    """Up to ``limit`` invocations: updated inside the window first, then older non-final ones.

    The cursor is ``<phase>:<cursor of the backend query>``; the two phases never share an
    invocation (one was updated at or after ``start``, the other before it).
    """
    phase, inner = _decode(query.cursor)
    state = app.state_backend
    records: list[InvocationRecord] = []
    if phase == _INSIDE:
        inside = replace(base, updated_after=query.start, updated_before=query.end)
        records, inner = state.query(inside, limit=query.limit, cursor=inner, arguments=False)
        if inner is not None:
            return records, f"{_INSIDE}:{inner}"
    older = _older_filter(base, query.start)
    if older is None:
        return records, None
    room = query.limit - len(records)
    if room == 0:  # a full page: is there anything left for a next one?
        more, _ = state.query(older, limit=1, arguments=False)
        return records, (f"{_OLDER}:" if more else None)
    page, inner = state.query(older, limit=room, cursor=inner, arguments=False)
    return records + page, (f"{_OLDER}:{inner}" if inner is not None else None)


def _older_filter(base: InvocationFilter, start: float | None) -> InvocationFilter | None:
    """Non-final invocations last changed before the window: still active in it."""
    if start is None:
        return None
    statuses = NON_FINAL if base.statuses is None else base.statuses & NON_FINAL
    if not statuses:
        return None
    return replace(base, statuses=statuses, updated_before=start)


def _decode(cursor: str | None) -> tuple[str, str | None]:
    if cursor is None:
        return _INSIDE, None
    phase, sep, inner = cursor.partition(":")
    if not sep or phase not in (_INSIDE, _OLDER) or (phase == _INSIDE and not inner):
        raise InvalidMonitorQueryError(
            f"malformed timeline cursor {cursor!r}: pass back a next_cursor of the same query",
            argument="cursor",
            value=cursor,
        )
    check_cursor(inner or None)
    return phase, inner or None


def _events(app: MonitorSource, start: float | None, end: float | None) -> tuple[EventMarker, ...]:
    """The window's newest events (one page) with the invocations their runs created (one read)."""
    store = app.trigger_store
    found, _ = store.events(since=start, until=end, limit=EVENT_LIMIT)
    runs = runs_by_source(store, [event.event_id for event in found])
    markers = [
        EventMarker(
            event.event_id,
            event.code,
            event.at,
            tuple(
                dict.fromkeys(
                    run.invocation_id
                    for run in sorted(runs.get(event.event_id, ()), key=lambda r: (r.at, r.run_id))
                    if run.invocation_id is not None
                )
            ),
        )
        for event in found
    ]
    return tuple(sorted(markers, key=lambda m: (m.at, m.event_id)))


# --- segments and rows ---------------------------------------------------------------------------


def _walk(history: Sequence[HistoryRow], now: float) -> tuple[list[_Span], list[float | None], dict[str, float], float]:
    """One pass over a history: lane spans, the end of each entry, seconds per status, total seconds.

    Each entry lasts until the next one (never less than nothing: runner clocks may disagree);
    a final entry is a point; the last entry of a live invocation is open (counted up to ``now``).
    """
    spans: list[_Span] = []
    ends: list[float | None] = []
    durations: dict[str, float] = {}
    if not history:
        return spans, ends, durations, 0.0
    finals = FINAL_STATUSES
    span: _Span | None = None
    count = len(history)
    for index, (status, owner, at) in enumerate(history):
        final = status in finals
        if index + 1 < count:
            after = history[index + 1][2]
            end: float | None = after if after > at else at
        else:
            end = at if final else None
        ends.append(end)
        if not final:
            key = _VALUES[status]
            seconds = (end if end is not None else now) - at
            durations[key] = durations.get(key, 0.0) + (seconds if seconds > 0 else 0.0)
        lane = owner if owner is not None else (span.lane if final and span is not None else QUEUED_LANE)
        paused = (status is _PAUSED) or (final and span is not None and span.paused)
        if span is None or span.lane != lane or span.paused != paused:
            span = _Span(lane, at, index, paused=paused)
            spans.append(span)
        span.stop = index + 1
        span.end = math.inf if end is None else end
    last_status, _, last_at = history[-1]
    finished = last_at if last_status in finals else now
    return spans, ends, durations, max(0.0, finished - history[0][2])


def _pack(spans: list[_Span], slots: int) -> tuple[int, int | None]:
    """Give each span the lowest row free at its start (interval partitioning); paused spans the
    row after the slot rows. With ``slots`` known (> 0) no more slot rows than that are used: a span
    that finds them all busy (clocks that disagree, a runner that broke its slots) shares the row
    that frees first. Returns the rows used and the paused row (None without pauses)."""
    busy: list[tuple[float, int]] = []  # (end, row) of rows in use
    free: list[int] = []
    rows = 0
    paused: list[_Span] = []
    spans.sort(key=_span_order)
    for span in spans:
        if span.paused:
            paused.append(span)
            continue
        while busy and busy[0][0] <= span.start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            span.row = heapq.heappop(free)
        elif slots and rows >= slots:
            span.row = heapq.heappop(busy)[1]
        else:
            span.row = rows
            rows += 1
        heapq.heappush(busy, (span.end, span.row))
    if not paused:
        return rows, None
    for span in paused:
        span.row = rows
    return rows + 1, rows


def _span_order(span: _Span) -> tuple[float, float]:
    return span.start, span.end


def _slots(runners: RunnerDirectory, lane_id: str) -> int:
    info = runners.infos.get(lane_id)
    return info.slots if info is not None else 0


def _lane(lane_id: str, runners: RunnerDirectory, rows: int, paused_row: int | None) -> Lane:
    if lane_id == QUEUED_LANE:
        return Lane(QUEUED_LANE, "queued", "queued", None, None, None, rows, None, 0, paused_row)
    info = runners.infos.get(lane_id)
    if info is None:
        return Lane(lane_id, "runner", f"runner {lane_id[:8]}", None, None, None, rows, None, 0, paused_row)
    ctx = info.context
    parent = runners.infos.get(ctx.parent_runner_id) if ctx.parent_runner_id else None
    if info.name:
        label = info.name
    elif parent is not None and parent.name:  # a pool's worker process: its supervisor's name
        label = f"{parent.name} · {lane_id[:6]}"
    else:
        label = f"{ctx.runner_cls} {lane_id[:8]}"
    return Lane(
        lane_id,
        "runner",
        label,
        ctx.runner_cls,
        ctx.hostname,
        ctx.parent_runner_id,
        rows,
        info.name,
        info.slots,
        paused_row,
    )


def _ordered(lanes: list[Lane], runners: RunnerDirectory) -> list[Lane]:
    """Runners by start time, each pool worker right after its supervisor (a lane group)."""

    def key(lane: Lane) -> tuple[float, str, str]:
        return (_started_at(runners, lane.lane_id), lane.label, lane.lane_id)

    ids = {lane.lane_id for lane in lanes}
    children: dict[str, list[Lane]] = defaultdict(list)
    tops: list[Lane] = []
    for lane in lanes:
        if lane.parent_runner_id is not None and lane.parent_runner_id in ids:
            children[lane.parent_runner_id].append(lane)
        else:
            tops.append(lane)
    ordered: list[Lane] = []
    for lane in sorted(tops, key=key):
        ordered.append(lane)
        ordered += sorted(children.get(lane.lane_id, []), key=key)
    return ordered


def _started_at(runners: RunnerDirectory, lane_id: str) -> float:
    info = runners.infos.get(lane_id)
    return info.context.started_at if info is not None else math.inf


def _columns(
    records: Sequence[InvocationRecord],
    walked: Sequence[tuple[Sequence[HistoryRow], Sequence[float | None], list[_Span]]],
) -> SegmentColumns:
    ids: list[str] = []
    tasks: list[str] = []
    statuses: list[InvocationStatus] = []
    starts: list[float] = []
    ends: list[float | None] = []
    lanes: list[str] = []
    rows: list[int] = []
    for record, (history, entry_ends, spans) in zip(records, walked, strict=True):
        count = len(history)
        if not count:
            continue
        ids += [record.invocation_id] * count
        tasks += [record.task_id] * count
        entry_statuses, _, entry_starts = zip(*history, strict=True)  # columns of the rows, in C
        statuses += entry_statuses
        starts += entry_starts
        ends += entry_ends
        for span in spans:
            width = span.stop - span.first
            lanes += [span.lane] * width
            rows += [span.row] * width
    return SegmentColumns(
        tuple(ids), tuple(tasks), tuple(statuses), tuple(starts), tuple(ends), tuple(lanes), tuple(rows)
    )


def _walked(
    record: InvocationRecord,
    kept: FinalWalk | None,
    histories: dict[str, list[HistoryRow]],
    now: float,
    new_finals: list[tuple[InvocationRecord, FinalWalk]],
) -> tuple[Sequence[HistoryRow], Sequence[float | None], list[_Span], TimelineInvocation]:
    """One invocation's history, entry ends, spans and facts: as an earlier view walked it when it
    was final then (its spans copied: this view gives them rows), else walked now (and added to
    ``new_finals`` when final)."""
    if kept is not None:
        spans = [_Span(s.lane, s.start, s.first, s.stop, s.end, 0, s.paused) for s in kept.spans]
        return kept.history, kept.ends, spans, kept.invocation
    history = histories.get(record.invocation_id, ())
    spans, ends, durations, total = _walk(history, now)
    invocation = _invocation(record, durations, total)
    if record.status in FINAL_STATUSES:
        new_finals.append((record, FinalWalk(record.updated_at, record.status, history, ends, spans, invocation)))
    return history, ends, spans, invocation


# --- per-invocation facts ------------------------------------------------------------------------


def _invocation(record: InvocationRecord, durations: dict[str, float], total: float) -> TimelineInvocation:
    args = args_of(record)
    workflow = record.workflow
    # positional: ten thousand per view, and keywords cost a quarter more
    return TimelineInvocation(
        record.invocation_id,
        record.task_id,
        record.status,
        args,
        record.parent_invocation_id,
        workflow.workflow_id if workflow else None,
        record.created_at,
        record.updated_at,
        durations,
        total,
        _hover(record, args, durations, total),
    )


def _hover(record: InvocationRecord, args: dict[str, str], durations: dict[str, float], total: float) -> str:
    shown = ", ".join([f"{name}={value}" for name, value in args.items()]) or "(none)"
    if len(shown) > _HOVER_ARGS_CHARS:
        shown = shown[:_HOVER_ARGS_CHARS] + "…"
    times = "".join([f"{status} {seconds:.3g} s · " for status, seconds in durations.items()])  # names and numbers
    retries = f"<br>retries: {record.num_retries}" if record.num_retries else ""
    return (
        f"<b>{_escaped(record.task_id)}</b><br>{record.invocation_id[:8]} {_VALUES[record.status]}"
        f"<br>args: {html.escape(shown)}<br>{times}total {total:.3g} s{retries}"
    )


@functools.lru_cache(maxsize=1024)
def _escaped(text: str) -> str:
    """Task ids repeat across thousands of invocations: escape each once."""
    return html.escape(text)
