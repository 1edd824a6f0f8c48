"""Triggers with runners in separate processes, on every backend they can share (SQLite, Redis):
the seed's example as written, cron ticks across three runners with skewed clocks and a killed
lease holder, and an event storm.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.conf.urls import scheme_of
from pynenc_nb.records import TRIGGER_ENGINE_NAMESPACE, InvocationFilter
from pynenc_nb.services import LEASE
from pynenc_nb.trigger.clock import CLOCK_FILE_VARIABLE, CLOCK_OFFSET_VARIABLE
from tests.conftest import ENGINE_SHARED_BACKENDS
from tests.support.oracle import assert_histories_valid
from tests.support.processes import ROOT, poll, runner_process

S = InvocationStatus
pytestmark = pytest.mark.slow
FAST = {"PYNENC__SERVICES_INTERVAL_S": "0.2", "PYNENC__RUNNER_HEARTBEAT_INTERVAL_S": "0.2"}


@pytest.fixture(params=ENGINE_SHARED_BACKENDS[:2])
def shared_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _cleanup(app: Pynenc) -> None:
    try:
        assert_histories_valid(app)
    finally:
        if scheme_of(app.conf.backend_url) in ("redis", "rediss"):
            app.purge()
        app.close()


@pytest.fixture
def seed(shared_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    from tests.triggers import seed_app

    module = seed_app.load()
    yield module
    _cleanup(module.app)


def _invocations(app: Pynenc, task: Any, statuses: frozenset[S] | None = None) -> list[Any]:
    records, _ = app.state_backend.query(InvocationFilter(task_id=task.task_id, statuses=statuses), limit=20_000)
    return records


def test_the_seed_example_runs_as_written(seed: Any, shared_env: dict[str, str]) -> None:
    app = seed.app
    with runner_process(app, {**shared_env, **FAST}, app_spec="tests.triggers.seed_app:app"):
        # An event: one ingest_feed with the provider's arguments
        app.trigger.emit_event("feed_updated", {"source": "rss", "count": 5})
        (done,) = poll(lambda: _invocations(app, seed.ingest_feed, frozenset({S.SUCCESS})), message="ingest_feed")
        assert app.invocation(done.invocation_id).result == {"source": "rss", "count": 5}
        # A status chain: breaking news notifies, other news does not
        assert seed.enrich_article("a1", kind="breaking_news").result["status"] == "enriched"
        assert seed.enrich_article("a2", kind="other").result["status"] == "enriched"
        (notified,) = poll(
            lambda: _invocations(app, seed.notify_subscribers, frozenset({S.SUCCESS})), message="notify_subscribers"
        )
        assert app.invocation(notified.invocation_id).result == "notified:a1"
        time.sleep(1.0)  # several evaluations later, still exactly one of each
        assert len(_invocations(app, seed.notify_subscribers)) == 1
        assert len(_invocations(app, seed.ingest_feed)) == 1


def test_runners_store_the_triggers_of_trigger_task_modules(seed: Any, shared_env: dict[str, str]) -> None:
    app = seed.app
    late = "tests.triggers.late_module.late_reaction"
    assert late not in {task_id for task_id, _ in app.trigger_store.triggers().values()}
    env = {**shared_env, **FAST, "PYNENC__TRIGGER_TASK_MODULES": "tests.triggers.late_module"}
    with runner_process(app, env, app_spec="tests.triggers.seed_app:app"):
        assert late in {task_id for task_id, _ in app.trigger_store.triggers().values()}
        app.trigger.emit_event("late_event")
        (run,) = app.trigger.wait_for_runs(late, timeout_s=30)
        assert app.invocation(run.invocation_id or "").result == "late"


# --- cron across runners -------------------------------------------------------------------------

CRON_APP = "tests.triggers.cron_app:app"


@pytest.fixture
def cron(shared_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    clock_file = tmp_path / "clock"
    clock_file.write_text(repr(1_800_000_000.0 + 5))
    monkeypatch.setenv(CLOCK_FILE_VARIABLE, str(clock_file))
    from tests.triggers import cron_app

    module = cron_app.load()
    module.clock_file = clock_file
    yield module
    _cleanup(module.app)


def _start(env: dict[str, str], offset_s: float = 0.0) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env, **FAST, "PYNENC__RUNNER_DEAD_AFTER_S": "1", "PYTHONPATH": str(ROOT)}
    full[CLOCK_OFFSET_VARIABLE] = str(offset_s)
    return subprocess.Popen(
        [sys.executable, "-m", "pynenc_nb", "--app", CRON_APP, "runner", "start"],
        env=full,
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _holder_pid(app: Pynenc) -> int | None:
    """The pid of the runner whose services ran last."""
    latest: tuple[float, str] | None = None
    for holder in app.state_backend.kv_keys(LEASE):
        stored = app.state_backend.kv_get(LEASE, holder)
        if stored is not None:
            at = float(json.loads(stored)["at"])
            if latest is None or at > latest[0]:
                latest = (at, holder)
    if latest is None:
        return None
    for info in app.state_backend.runners():
        if info.context.runner_id == latest[1] and info.state == "running":
            return info.context.pid
    return None


def _tick_runs(app: Pynenc) -> list[str]:
    """The tick (ISO UTC) of every cron run stored."""
    return [r.source_id for r in app.trigger_store.trigger_runs(limit=100) if r.source_kind == "cron"]


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def test_cron_fires_once_per_tick_across_three_runners_one_ahead_and_a_killed_holder(
    cron: Any, shared_env: dict[str, str]
) -> None:
    app = cron.app
    base = 1_800_000_000.0
    processes = [_start(shared_env), _start(shared_env), _start(shared_env, offset_s=90.0)]
    try:
        poll(lambda: len([r for r in app.state_backend.runners() if r.state == "running"]) >= 3, message="3 runners")
        # The schedule starts at the first evaluation, by whichever runner holds the lease: at
        # base + 5, or at base + 95 when it is the one whose clock runs 90 s ahead.
        (key,) = poll(lambda: [k for k in app.state_backend.kv_keys(TRIGGER_ENGINE_NAMESPACE) if k.startswith("cron:")])
        start = float(json.loads(app.state_backend.kv_get(TRIGGER_ENGINE_NAMESPACE, key) or "{}")["after"])
        for minute in range(1, 6):
            now = base + minute * 60 + 5
            cron.clock_file.write_text(repr(now))
            due = {_iso(t) for t in range(int(base) + 60, int(now) + 1, 60) if t > start}
            poll(lambda d=due: d <= set(_tick_runs(app)), timeout_s=30, message=f"ticks up to minute {minute}")
            if minute == 3:  # kill whoever holds the services lease now, mid-run
                pid = _holder_pid(app)
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
        time.sleep(2.0)  # the others go on evaluating: nothing more may appear
        ticks = _tick_runs(app)
        assert len(ticks) == len(set(ticks)), f"a tick fired twice: {sorted(ticks)}"
        # every tick from the start to the last clock, and at most the next one (the clock ahead)
        due = {_iso(t) for t in range(int(base) + 60, int(base) + 5 * 60 + 5 + 90 + 1, 60) if t > start}
        assert set(ticks) <= due and len(ticks) >= len(due) - 1
        assert sorted(r.invocation_id for r in _invocations(app, cron.tick)) == sorted(
            r.invocation_id for r in app.trigger_store.trigger_runs(limit=100)
        )
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


# --- an event storm ------------------------------------------------------------------------------

STORM = 10_000


def test_an_event_storm_makes_exactly_one_invocation_per_event(seed: Any, shared_env: dict[str, str]) -> None:
    app = seed.app
    with runner_process(
        app, {**shared_env, **FAST, "PYNENC__MAX_THREADS": "8"}, app_spec="tests.triggers.seed_app:app"
    ):
        started = time.monotonic()
        for n in range(STORM):
            app.trigger.emit_event("feed_updated", {"source": f"s{n}", "count": n})
        emitted_s = time.monotonic() - started

        def event_runs() -> list[Any]:
            """The event trigger's runs: the seed's cron trigger (every 15 minutes) may fire meanwhile."""
            return [r for r in app.trigger_store.trigger_runs(limit=STORM + 10) if r.source_kind == "event"]

        poll(lambda: len(event_runs()) >= STORM, timeout_s=240, interval_s=0.5, message="a run per event")
        evaluated_s = time.monotonic() - started
        runs = event_runs()
        assert len(runs) == STORM and len({r.source_id for r in runs}) == STORM
        assert len({r.invocation_id for r in runs}) == STORM and all(r.invocation_id for r in runs)
        print(f"\nstorm: {STORM} events emitted in {emitted_s:.1f} s, all evaluated after {evaluated_s:.1f} s")
        from_events = {r.invocation_id for r in runs}

        def succeeded() -> set[str]:
            done = _invocations(app, seed.ingest_feed, frozenset({S.SUCCESS}))
            return {r.invocation_id for r in done} & from_events

        poll(
            lambda: len(succeeded()) >= STORM,
            timeout_s=300,
            interval_s=1.0,
            message="every triggered invocation to run",
        )
        # and no other ingest_feed ran, but the cron trigger's own, if it fired meanwhile
        from_cron = {
            r.invocation_id for r in app.trigger_store.trigger_runs(limit=STORM + 10) if r.source_kind == "cron"
        }
        assert {r.invocation_id for r in _invocations(app, seed.ingest_feed)} - from_cron == from_events
