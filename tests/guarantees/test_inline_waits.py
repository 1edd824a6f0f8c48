"""A worker whose task waits on calls still queued runs them in its own thread, in the slot the
paused task left: no hand-over, no wake-up, and every guarantee of blocking control kept (the
waiter is PAUSED meanwhile, a kill reaches the right invocation, other queues are not served)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc, ThreadRunner
from pynenc_nb.records import InvocationFilter, InvocationRecord
from pynenc_nb.runners.thread import MAX_INLINE_DEPTH
from tests.guarantees.support import TIMEOUT_S, running, statuses
from tests.support.processes import poll

S = InvocationStatus


def _all(app: Pynenc) -> list[InvocationRecord]:
    records, _ = app.state_backend.query(InvocationFilter(), limit=1000)
    return records


def test_a_queued_child_runs_in_the_waiting_workers_thread(app: Pynenc) -> None:
    threads: dict[str, int] = {}

    @app.task
    def child(x: int) -> int:
        threads["child"] = threading.get_ident()
        return x * 2

    @app.task
    def parent(x: int) -> int:
        threads["parent"] = threading.get_ident()
        return child(x).result + 1

    # Given a one-slot runner, when a task waits on a call nobody has taken yet
    with running(app, max_threads=1) as runner:
        outer = parent(20)
        assert outer.result_or(TIMEOUT_S) == 41
        spawned = runner._spawned
    # Then the child ran in the parent's thread, while the parent was PAUSED, and no other worker started
    assert threads["child"] == threads["parent"]
    assert spawned == 1
    history = app.state_backend.history(outer.invocation_id)
    assert [c.status for c in history] == [S.REGISTERED, S.PENDING, S.RUNNING, S.PAUSED, S.RUNNING, S.SUCCESS]
    (inner,) = [r for r in _all(app) if r.task_id.endswith("child")]
    inner_history = app.state_backend.history(inner.invocation_id)
    paused_at = next(c.at for c in history if c.status is S.PAUSED)
    resumed_at = [c.at for c in history if c.status is S.RUNNING][1]
    assert paused_at <= inner_history[-1].at <= resumed_at  # it ended while its parent was paused


def test_a_chain_deeper_than_the_inline_limit_completes_on_one_slot(app: Pynenc) -> None:
    @app.task
    def chain(n: int) -> int:
        return 0 if n == 0 else chain(n - 1).result + 1

    depth = MAX_INLINE_DEPTH + 8
    with running(app, max_threads=1):
        assert chain(depth).result_or(TIMEOUT_S * 2) == depth
    assert {r.status for r in _all(app)} == {S.SUCCESS}


def test_a_child_on_a_queue_this_runner_does_not_serve_waits_for_its_own_runner(app: Pynenc) -> None:
    threads: dict[str, int] = {}

    @app.task(queue="other")
    def elsewhere() -> str:
        threads["child"] = threading.get_ident()
        return "done"

    @app.task
    def parent() -> str:
        threads["parent"] = threading.get_ident()
        return elsewhere().result

    with running(app, max_threads=1):
        outer = parent()
        poll(lambda: outer.status is S.PAUSED, timeout_s=TIMEOUT_S, message="the parent to pause")
        time.sleep(0.3)
        assert "child" not in threads, "a call of another queue ran on a runner that does not serve it"
        other = ThreadRunner(app, max_threads=1, queues=("other",))
        thread = other.start_in_thread()
        try:
            assert outer.result_or(TIMEOUT_S) == "done"
        finally:
            other.stop(timeout=TIMEOUT_S)
            thread.join(TIMEOUT_S)
    assert threads["child"] != threads["parent"]


def test_killing_the_waiter_while_its_child_runs_inline_kills_only_the_waiter(
    make_app: Callable[..., Pynenc], tmp_path: Path
) -> None:
    app = make_app(runner_heartbeat_interval_s=0.1)
    started = tmp_path / "child-started"

    @app.task
    def slow_child() -> str:
        started.write_text("x")
        time.sleep(1.0)
        return "child done"

    @app.task
    def waiter() -> str:
        return slow_child().result

    @app.task
    def ping() -> str:
        return "pong"

    with running(app, max_threads=1):
        outer = waiter()
        poll(started.exists, timeout_s=TIMEOUT_S, message="the child to start inline")
        # When the waiter is killed while its child runs in the same thread
        assert outer.kill() is S.KILLED
        (child,) = [r for r in _all(app) if r.task_id.endswith("slow_child")]
        # Then the child still ends SUCCESS, and the waiter stays KILLED
        poll(
            lambda: app.state_backend.get(child.invocation_id).status is S.SUCCESS,  # type: ignore[union-attr]
            timeout_s=TIMEOUT_S,
            message="the child to finish",
        )
        # And the worker carries on (the kill did not land in the wrong code and break it)
        assert ping().result_or(TIMEOUT_S) == "pong"
    assert statuses(app, child.invocation_id)[-1] is S.SUCCESS
    assert statuses(app, outer.invocation_id)[-1] is S.KILLED


def test_a_wait_answered_in_the_workers_thread_costs_two_writes_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite (state and queues in one file) each write is a transaction: the pause with the
    # child's claim and start, then the child's ending with the resume (four before they were grouped)
    app = Pynenc(
        config_values={
            "app_id": "two-writes",
            "backend_url": f"sqlite://{tmp_path / 'app.db'}",
            "logging_level": "error",
        }
    )
    from pynenc_nb.backends.sqlite import connection
    from pynenc_nb.blocking import BlockingWaits

    writes: dict[int, int] = {}
    write = connection.Database.write

    @contextlib.contextmanager
    def counting(self: connection.Database) -> Iterator[Any]:
        if not getattr(self._local, "depth", 0):
            writes[threading.get_ident()] = writes.get(threading.get_ident(), 0) + 1
        with write(self) as conn:
            yield conn

    during: list[int] = []
    wait_for = BlockingWaits.wait_for

    def measured(self: BlockingWaits, *args: Any) -> None:
        before = writes.get(threading.get_ident(), 0)
        wait_for(self, *args)
        during.append(writes.get(threading.get_ident(), 0) - before)

    monkeypatch.setattr(connection.Database, "write", counting)
    monkeypatch.setattr(BlockingWaits, "wait_for", measured)

    @app.task
    def child(x: int) -> int:
        return x * 2

    @app.task
    def parent(x: int) -> int:
        return child(x).result + 1

    try:
        with running(app, max_threads=1):
            assert parent(20).result_or(TIMEOUT_S) == 41
    finally:
        app.close()
    assert during == [2]


@pytest.mark.parametrize("backend_kind", ["sqlite"])
def test_a_child_run_in_the_waiters_thread_takes_its_message_with_it(app: Pynenc) -> None:
    """SQLite drops the message of a target claimed by its waiter in the claim's transaction: no
    other worker spends a write taking it only to find the invocation claimed."""
    seen: dict[str, int] = {}

    @app.task
    def child() -> int:
        seen["queued"] = app.broker.depth()
        return 1

    @app.task
    def parent() -> int:
        return child().result + 1

    # Given a one-slot runner, when a task waits on a call nobody has taken yet
    with running(app, max_threads=1) as runner:
        assert parent().result_or(TIMEOUT_S) == 2
        spawned = runner._spawned
    # Then, while the child ran in the parent's thread, no message was left for it
    assert spawned == 1
    assert seen["queued"] == 0
