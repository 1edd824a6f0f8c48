"""Monitor.runners, status_counts, tasks and invocations: app-wide views."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor import Monitor
from pynenc_nb.records import InvocationFilter, RunnerContext, RunnerInfo
from tests.conformance.builders import S
from tests.monitor.conftest import Workload, add_runner, stored


def test_runner_health_follows_the_dead_after_setting(app: Pynenc) -> None:
    # Given a runner last heard from at t=1000, a stopped one, and a client context
    state = app.state_backend
    live = add_runner(state, "ThreadRunner", heartbeat=1000.0)
    stopped = add_runner(state, "ThreadRunner", heartbeat=1000.0, state_name="stopped")
    app.client_context()
    dead_after = app.conf.runner_dead_after_s
    # When it is looked at just within and just past runner_dead_after_s
    within = Monitor(app, clock=lambda: 1000.0 + dead_after - 0.5).runners()
    past = Monitor(app, clock=lambda: 1000.0 + dead_after + 0.5).runners(include_stopped=True)
    # Then only the timing decides whether it is alive; clients are never listed
    assert [(r.runner_id, r.alive) for r in within] == [(live, True)]
    assert within[0].heartbeat_age_s == pytest.approx(dead_after - 0.5)
    assert {r.runner_id: r.alive for r in past} == {live: False, stopped: False}
    assert within[0].label.startswith("ThreadRunner(") and within[0].slots == 4
    assert json.loads(json.dumps(within[0].to_json())) == within[0].to_json()


def test_runner_name_comes_from_its_launcher(app: Pynenc, monitor: Monitor) -> None:
    ctx = RunnerContext.current("ThreadRunner")
    app.state_backend.put_runner(
        RunnerInfo(ctx, time.time(), "running", 2, 1, json.dumps({"name": "gpu-box", "queues": ["default"]}))
    )
    (view,) = monitor.runners()
    assert (view.name, view.busy, view.alive) == ("gpu-box", 1, True)


def test_status_counts_list_every_status(app: Pynenc, monitor: Monitor, workload: Workload) -> None:
    counts = monitor.status_counts()
    assert list(counts) == [s.value for s in InvocationStatus]
    assert counts["SUCCESS"] == 5 and counts["FAILED"] == 1 and sum(counts.values()) == 6
    by_parent = monitor.status_counts(parent_invocation_id=workload.outer)
    assert by_parent["SUCCESS"] == 1 and sum(by_parent.values()) == 1
    assert sum(monitor.status_counts(task_id="no.such.task").values()) == 0


def test_tasks_defined_published_and_seen(app: Pynenc, monitor: Monitor) -> None:
    # Given a task defined here, one only published by another process, one only seen in invocations
    @app.task
    def here(x: int) -> int:
        return x

    here(1)
    app.state_backend.kv_put("tasks", "elsewhere.task", json.dumps({"module": "elsewhere", "qualname": "task"}))
    stored(app.state_backend, [], task_id="seen.only")
    # When tasks are listed
    views = {t.task_id: t for t in monitor.tasks()}
    # Then all three are there, with what is known of each and their counts
    assert set(views) == {here.task_id, "elsewhere.task", "seen.only"}
    assert views[here.task_id].defined_here and views[here.task_id].is_workflow is False
    assert views[here.task_id].counts == {s.value: (1 if s is S.REGISTERED else 0) for s in InvocationStatus}
    assert (views["elsewhere.task"].module, views["elsewhere.task"].qualname) == ("elsewhere", "task")
    assert not views["elsewhere.task"].defined_here and views["elsewhere.task"].is_workflow is None
    assert views["seen.only"].counts is not None and views["seen.only"].counts["REGISTERED"] == 1
    assert all(t.counts is None for t in monitor.tasks(counts=False))


def test_invocation_pages_cover_everything_once(app: Pynenc, monitor: Monitor) -> None:
    state = app.state_backend
    runner = add_runner(state, heartbeat=time.time())
    t0 = time.time() + 1
    ids = {stored(state, [(S.PENDING, runner, t0 + i % 4)]) for i in range(23)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = monitor.invocations(limit=5, cursor=cursor)
        assert len(page.rows) <= 5
        seen += [r.invocation_id for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(seen) == ids
    pending = monitor.invocations(InvocationFilter(statuses=frozenset({S.PENDING})), limit=100)
    assert {r.invocation_id for r in pending.rows} == ids and all(r.owner_id == runner for r in pending.rows)
    assert json.loads(json.dumps(pending.to_json())) == pending.to_json()


def test_invocation_page_arguments_are_checked(monitor: Monitor) -> None:
    with pytest.raises(InvalidMonitorQueryError):
        monitor.invocations(cursor="not a cursor")
    with pytest.raises(InvalidMonitorQueryError):
        monitor.invocations(limit=-1)


def test_a_named_runner_is_shown_by_its_name_everywhere(app: Pynenc) -> None:
    from pynenc_nb.runners.thread import ThreadRunner
    from pynenc_nb.summary import app_summary

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    # Given a runner launched with a name (as %pynenc runner start --name p1 does)
    runner = ThreadRunner(app, max_threads=1)
    runner.name = "p1"
    runner.start_in_thread()
    try:
        call = add(1, 2)
        assert call.result_or(30) == 3
        monitor = Monitor(app)
        # Then the runner list, the timeline lanes, an invocation's history and the status show it
        (view,) = [v for v in monitor.runners() if v.runner_id == runner.runner_id]
        assert view.name == "p1" and view.label.startswith("p1 (ThreadRunner(")
        lanes = [lane for lane in monitor.timeline(None, None).lanes if lane.kind == "runner"]
        assert lanes and all((lane.label, lane.name, lane.slots) == ("p1", "p1", 1) for lane in lanes)
        assert (monitor.invocation_detail(call.invocation_id).history[-1].runner_label or "").startswith("p1 (")
        (row,) = [r for r in app_summary(app)["runners"] if r["runner_id"] == runner.runner_id]
        assert row["label"].startswith("p1 (")
    finally:
        runner.stop(timeout=30)


def test_the_monitor_views_never_read_the_serialized_arguments(
    app: Pynenc, monitor: Monitor, workload: Workload, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a state backend whose page reads are watched
    state = app.state_backend
    asked: list[bool] = []
    real = state.query

    def watched(flt: InvocationFilter, **kwargs: Any) -> Any:
        asked.append(kwargs.get("arguments", True))
        return real(flt, **kwargs)

    monkeypatch.setattr(state, "query", watched)
    # When every view that pages through invocations is drawn
    monitor.timeline(None, None)
    monitor.invocations()
    monitor.tasks()
    monitor.invocation_detail(workload.outer)
    monitor.family_tree(workload.outer)
    monitor.workflows()
    monitor.workflow_detail(workload.flow)
    # Then each page was read without the arguments (it shows args_display only)
    assert asked and not any(asked)
