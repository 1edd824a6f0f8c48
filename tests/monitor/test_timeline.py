"""Monitor.timeline: segments that replay the histories, lanes whose rows never overlap, pages."""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from dataclasses import fields

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.invocation.status import FINAL_STATUSES
from pynenc_nb.monitor import QUEUED_LANE, Monitor, StatusSegment, TimelineInvocation, TimelineView
from pynenc_nb.records import WorkflowIdentity
from tests.conformance.builders import S
from tests.monitor.conftest import Workload, add_runner, segments_of, stored


def assert_rows_never_overlap(view: TimelineView) -> None:
    lanes = {lane.lane_id: lane for lane in view.lanes}
    by_row: dict[tuple[str, int], list[tuple[float, float, str]]] = defaultdict(list)
    for segment in view.segments:
        lane = lanes[segment.lane]
        assert 0 <= segment.row < lane.rows
        if lane.paused_row is not None and segment.row == lane.paused_row:
            # paused invocations freed their slot: they share the runner's paused row
            assert segment.status is S.PAUSED or segment.status in FINAL_STATUSES, segment
            continue
        assert segment.status is not S.PAUSED, segment
        end = segment.end if segment.end is not None else float("inf")
        by_row[(segment.lane, segment.row)].append((segment.start, end, segment.invocation_id))
    for (lane_id, _), intervals in by_row.items():
        lane = lanes[lane_id]
        # a runner claims its next invocation while a slot is still finishing the last one: at its
        # slot count, that claim shares the row that frees first rather than adding a row
        capped = lane.slots > 0 and lane.rows - (lane.paused_row is not None) == lane.slots
        intervals.sort()
        for (start_a, end_a, id_a), (start_b, _, id_b) in zip(intervals, intervals[1:], strict=False):
            if id_a != id_b:
                slack = 0.5 if capped else 0.0
                assert end_a <= start_b + slack, f"{id_a} [{start_a}, {end_a}) overlaps {id_b} from {start_b}"


def test_segments_replay_each_history(app: Pynenc, monitor: Monitor, workload: Workload) -> None:
    # When the timeline of the whole run is computed
    view = monitor.timeline(None, None)
    # Then every invocation's segments are its history, entry by entry, each lasting until the next
    state = app.state_backend
    assert {i.invocation_id for i in view.invocations} == {
        workload.outer,
        workload.inner,
        workload.failed,
        workload.retried,
        workload.flow,
        workload.flow_child,
    }
    for info in view.invocations:
        history = state.history(info.invocation_id)
        segments = segments_of(view.segments, info.invocation_id)
        assert [(s.status, s.start) for s in segments] == [(c.status, c.at) for c in history]
        assert [s.end for s in segments[:-1]] == [c.at for c in history[1:]]
        assert history[-1].status in FINAL_STATUSES and segments[-1].end == segments[-1].start
        assert {s.task_id for s in segments} == {info.task_id}
        for segment, change in zip(segments, history, strict=True):
            if change.owner_id is not None:
                assert segment.lane == change.owner_id
            elif change.status not in FINAL_STATUSES:
                assert segment.lane == QUEUED_LANE
    # And the nested call paused its caller, the retry went back to the queue, the failure is final
    assert [s.status for s in segments_of(view.segments, workload.outer)] == [
        S.REGISTERED,
        S.PENDING,
        S.RUNNING,
        S.PAUSED,
        S.RUNNING,
        S.SUCCESS,
    ]
    retried = segments_of(view.segments, workload.retried)
    assert S.RETRY in [s.status for s in retried]
    assert next(s for s in retried if s.status is S.RETRY).lane == QUEUED_LANE
    assert segments_of(view.segments, workload.failed)[-1].status is S.FAILED
    assert_rows_never_overlap(view)


def test_links_workflow_roots_durations_and_hover(monitor: Monitor, workload: Workload) -> None:
    view = monitor.timeline(None, None)
    assert (workload.outer, workload.inner) in {(link.parent_id, link.child_id) for link in view.links}
    assert (workload.flow, workload.flow_child) in {(link.parent_id, link.child_id) for link in view.links}
    assert view.workflow_roots == (workload.flow,)
    outer = next(i for i in view.invocations if i.invocation_id == workload.outer)
    assert outer.args == {"x": "1"}
    assert outer.durations["RUNNING"] > 0 and "PAUSED" in outer.durations
    assert outer.total_s >= sum(outer.durations.values()) - 1e-9
    assert "outer" in outer.hover and "x=1" in outer.hover and "RUNNING" in outer.hover
    runner_lanes = [lane for lane in view.lanes if lane.kind == "runner"]
    assert [lane.runner_cls for lane in runner_lanes] == ["ThreadRunner"]
    assert view.lanes[0].lane_id == QUEUED_LANE


def test_rows_pack_overlapping_runs_without_overlap(app: Pynenc, monitor: Monitor) -> None:
    # Given 120 invocations run by two runners (of enough slots) at random, overlapping times, some left running
    state = app.state_backend
    runners = [add_runner(state, heartbeat=time.time(), slots=120), add_runner(state, heartbeat=time.time(), slots=120)]
    rng = random.Random(3)
    t0 = time.time() + 10
    entries = 0
    for _ in range(120):
        runner = rng.choice(runners)
        claimed = t0 + rng.uniform(0, 20)
        steps = [(S.PENDING, runner, claimed), (S.RUNNING, runner, claimed + 0.01)]
        if rng.random() < 0.8:
            steps.append((S.SUCCESS, runner, claimed + rng.uniform(0.1, 5)))
        stored(state, steps)
        entries += 1 + len(steps)
    # When the timeline is computed
    view = monitor.timeline(None, None)
    # Then bars in one row never overlap, and overlapping runs did need several rows
    assert_rows_never_overlap(view)
    rows = {lane.lane_id: lane.rows for lane in view.lanes}
    assert all(rows[r] > 1 for r in runners)
    assert len(view.segments) == entries
    # And every RUNNING bar stays in the row of the PENDING bar of its invocation (one worker slot)
    for info in view.invocations:
        owned = [s for s in segments_of(view.segments, info.invocation_id) if s.lane != QUEUED_LANE]
        assert len({(s.lane, s.row) for s in owned}) == 1


def test_an_invocation_never_run_stays_open_in_the_queued_lane(app: Pynenc, monitor: Monitor) -> None:
    @app.task
    def idle(x: int) -> int:
        return x

    waiting = idle(1)  # no runner
    view = monitor.timeline(None, None)
    (segment,) = segments_of(view.segments, waiting.invocation_id)
    assert (segment.status, segment.lane, segment.end) == (S.REGISTERED, QUEUED_LANE, None)
    (info,) = view.invocations
    assert info.durations["REGISTERED"] >= 0 and info.status is S.REGISTERED


def test_window_pages_cover_every_active_invocation_once(app: Pynenc, monitor: Monitor) -> None:
    # Given invocations changed before, inside and after a window; some older ones are still live
    state = app.state_backend
    runner = add_runner(state, heartbeat=time.time())
    t0 = time.time() + 100
    start, end = t0 + 100, t0 + 200
    expected: set[str] = set()
    for index in range(60):
        at = t0 + index * 5  # 0..295 s after t0: before, inside and after the window
        finish = index % 3 != 0
        steps = [(S.PENDING, runner, at), (S.RUNNING, runner, at + 1)]
        if finish:
            steps.append((S.SUCCESS, runner, at + 2))
        invocation_id = stored(state, steps)
        last = at + 2 if finish else at + 1
        if start <= last < end or (not finish and last < start):
            expected.add(invocation_id)
    # When the window is read 7 invocations at a time
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        view = monitor.timeline(start, end, limit=7, cursor=cursor)
        assert len(view.invocations) <= 7
        seen += [i.invocation_id for i in view.invocations]
        assert {s.invocation_id for s in view.segments} == {i.invocation_id for i in view.invocations}
        cursor = view.next_cursor
        if cursor is None:
            break
    # Then every active invocation came exactly once, and nothing else did
    assert len(seen) == len(set(seen))
    assert set(seen) == expected and len(expected) > 14


def test_filters_by_task_status_and_workflow(app: Pynenc, monitor: Monitor) -> None:
    state = app.state_backend
    runner = add_runner(state, heartbeat=time.time())
    t0 = time.time() + 1
    flow = WorkflowIdentity("wf-1", "tests.flow")
    a = stored(state, [(S.PENDING, runner, t0)], task_id="tests.a")
    b = stored(state, [(S.PENDING, runner, t0), (S.RUNNING, runner, t0 + 1)], task_id="tests.b", workflow=flow)
    assert [i.invocation_id for i in monitor.timeline(None, None, task_id="tests.a").invocations] == [a]
    assert [i.invocation_id for i in monitor.timeline(None, None, statuses=["RUNNING"]).invocations] == [b]
    assert [i.invocation_id for i in monitor.timeline(None, None, workflow_id="wf-1").invocations] == [b]
    assert monitor.timeline(None, None, statuses=[S.SUCCESS]).invocations == ()


def test_event_markers_inside_the_window(app: Pynenc, monitor: Monitor) -> None:
    before = time.time()
    event_id = app.trigger.emit_event("data.ready", {"secret_marker_field": 3})
    view = monitor.timeline(before - 1, None)
    assert [(m.event_id, m.code) for m in view.events] == [(event_id, "data.ready")]
    assert monitor.timeline(before - 10, before - 5).events == ()
    assert "secret_marker_field" not in json.dumps(view.to_json())  # payloads are not shipped


def test_hover_escapes_argument_displays(app: Pynenc, monitor: Monitor) -> None:
    stored(app.state_backend, [], args_display=json.dumps({"html": "'<script>alert(1)</script>'"}))
    (info,) = monitor.timeline(None, None).invocations
    assert "<script>" not in info.hover and "&lt;script&gt;" in info.hover
    assert info.args == {"html": "'<script>alert(1)</script>'"}  # raw text; renderers escape it


def test_to_json_round_trips(monitor: Monitor, workload: Workload) -> None:
    view = monitor.timeline(None, None)
    data = view.to_json()
    assert json.loads(json.dumps(data)) == data
    assert set(data["invocations"][0]) == {f.name for f in fields(TimelineInvocation)}
    assert set(data["segments"]) == {f.name for f in fields(StatusSegment)}
    assert data["segments"]["status"][0] in {s.value for s in S}
    assert len(data["segments"]["start"]) == len(view.segments) == len(list(view.segments))
    assert view.segments[0] == next(iter(view.segments))


def test_bad_arguments_raise_our_error(monitor: Monitor) -> None:
    for kwargs in (
        {"cursor": "nonsense"},
        {"cursor": "w:not-a-number|id"},
        {"statuses": ["DONE"]},
        {"limit": 0},
    ):
        with pytest.raises(InvalidMonitorQueryError):
            monitor.timeline(None, None, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidMonitorQueryError):
        monitor.timeline(10.0, 5.0)


def test_a_page_that_ends_where_the_window_phase_ends(app: Pynenc, monitor: Monitor) -> None:
    # Given three invocations finished inside a window and two started before it, still running
    state = app.state_backend
    runner = add_runner(state, heartbeat=time.time())
    t0 = time.time() + 10
    inside = set()
    for i in range(3):
        steps = [(S.PENDING, runner, t0 + 50 + i), (S.RUNNING, runner, t0 + 50.5 + i), (S.SUCCESS, runner, t0 + 51 + i)]
        inside.add(stored(state, steps))
    older = {stored(state, [(S.PENDING, runner, t0 + i), (S.RUNNING, runner, t0 + 1 + i)]) for i in range(2)}
    # When the window is read three at a time
    first = monitor.timeline(t0 + 40, t0 + 100, limit=3)
    second = monitor.timeline(t0 + 40, t0 + 100, limit=3, cursor=first.next_cursor)
    # Then the first page is the window's own invocations, the second the older live ones, and it ends
    assert {i.invocation_id for i in first.invocations} == inside and first.next_cursor is not None
    assert {i.invocation_id for i in second.invocations} == older and second.next_cursor is None
    # And with nothing older, a full page of the window's invocations is the last page
    assert monitor.timeline(t0 + 40, t0 + 100, limit=3, statuses=["SUCCESS"]).next_cursor is None


def test_a_refresh_reads_and_walks_only_what_was_not_final_before(
    app: Pynenc, workload: Workload, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a finished workload, one call still queued, and a monitor whose clock stands still
    @app.task
    def idle(x: int) -> int:
        return x

    queued = idle(1)  # no runner: stays REGISTERED
    now = time.time()
    monitor = Monitor(app, clock=lambda: now)
    state = app.state_backend
    asked: list[list[str]] = []
    reader = "history_rows" if hasattr(state, "history_rows") else "histories"
    original = getattr(state, reader)

    def counted(ids: list[str]) -> object:
        asked.append(list(ids))
        return original(ids)

    monkeypatch.setattr(state, reader, counted)
    # When the timeline is drawn, again, and by another monitor of the app (another widget)
    first = monitor.timeline(None, None)
    second = monitor.timeline(None, None)
    third = Monitor(app, clock=lambda: now).timeline(None, None)
    # Then the first read every history, the later ones only the one not final, and the views agree
    final_ids = {inv.invocation_id for inv in first.invocations if inv.status in FINAL_STATUSES}
    assert len(final_ids) >= 6 and queued.invocation_id not in final_ids
    assert set(asked[0]) == final_ids | {queued.invocation_id}
    assert asked[1:] == [[queued.invocation_id], [queued.invocation_id]]
    assert first.to_json() == second.to_json() == third.to_json()
