"""Waiting on results never deadlocks; cycles fail at once; awaited work is taken first.

In-process ThreadRunner on every backend; the runner types that use other processes are in
``test_blocking_runners.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pynenc_nb import CycleDetectedError, InvocationStatus, Pynenc, ThreadRunner
from pynenc_nb import context as execution_context
from tests.guarantees.support import TIMEOUT_S, fibonacci_case, first, pauses_resume_running, running, statuses
from tests.support.processes import poll

S = InvocationStatus


def _current_id() -> str:
    execution = execution_context.current()
    assert execution is not None, "called outside a running invocation"
    return execution.record.invocation_id


def _parent_id() -> str:
    execution = execution_context.current()
    assert execution is not None and execution.record.parent_invocation_id is not None
    return execution.record.parent_invocation_id


def test_nested_results_complete_with_one_worker_slot(app: Pynenc) -> None:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    @app.task
    def nested_add(x: int, y: int) -> int:
        return add(x, y).result

    @app.task
    def twice_nested(x: int) -> int:
        return nested_add(x, 1).result + 1

    # Given a runner with a single slot
    with running(app, max_threads=1) as runner:
        # When a task waits on a task that waits on a third one
        outer = twice_nested(1)
        # Then everything completes
        assert outer.result_or(TIMEOUT_S) == 3
        assert runner.max_threads == 1
    # And both waiting invocations went PAUSED, then RUNNING again once their child was final
    (middle,) = [r for r in _all(app) if r.task_id.endswith("nested_add")]
    for invocation_id in (outer.invocation_id, middle.invocation_id):
        assert statuses(app, invocation_id) == [S.REGISTERED, S.PENDING, S.RUNNING, S.PAUSED, S.RUNNING, S.SUCCESS]


def test_recursive_fibonacci_completes_with_two_slots(app: Pynenc) -> None:
    @app.task
    def fibonacci(n: int) -> int:
        if n < 2:
            return n
        first_child, second_child = fibonacci(n - 1), fibonacci(n - 2)
        return first_child.result + second_child.result

    n, value, calls = fibonacci_case(app)
    with running(app, max_threads=2):
        root = fibonacci(n)
        assert root.result_or(TIMEOUT_S) == value

    records = _all(app)
    assert len(records) == calls  # every call of the recursion, none lost or duplicated
    assert {r.status for r in records} == {S.SUCCESS}
    root_history = statuses(app, root.invocation_id)
    assert S.PAUSED in root_history
    for record in records:
        assert pauses_resume_running(statuses(app, record.invocation_id)), record


def test_awaited_invocations_run_first_by_how_many_wait_on_them(app: Pynenc) -> None:
    # The targets are on a queue the waiters' runner does not serve, so no waiting worker runs its
    # target itself (test_inline_waits.py): the order is what a free worker takes from the queue.
    @app.task(queue="targets")
    def target(name: str) -> str:
        return name

    @app.task(priority=10)
    def waiter(target_id: str) -> Any:
        return app.invocation(target_id).result

    # Given two queued invocations, X older than Y
    x, y = target("x"), target("y")
    # And waiters, all paused on them: one waits on X, five on Y
    waiters = [waiter(x.invocation_id)] + [waiter(y.invocation_id) for _ in range(5)]
    with running(app, max_threads=1):
        poll(lambda: all(w.status is S.PAUSED for w in waiters), timeout_s=TIMEOUT_S, message="every waiter to pause")
        # When a one-slot runner of the targets' queue works through them
        targets_runner = ThreadRunner(app, max_threads=1, queues=("targets",))
        thread = targets_runner.start_in_thread()
        try:
            assert [w.result_or(TIMEOUT_S) for w in waiters] == ["x"] + ["y"] * 5
        finally:
            targets_runner.stop(timeout=TIMEOUT_S)
            thread.join(TIMEOUT_S)
    # Then Y, awaited by five, ran before X, awaited by one (and older)
    x_started = first(x.history(), S.RUNNING).at
    y_started = first(y.history(), S.RUNNING).at
    assert y_started < x_started
    # And every waiter paused before its target started (so the order came from the boost)
    for w in waiters:
        assert first(w.history(), S.PAUSED).at < y_started


def test_waiting_on_itself_raises_cycle_detected_at_once(app: Pynenc) -> None:
    @app.task
    def wait_on_self() -> Any:
        return app.invocation(_current_id()).result

    with running(app, max_threads=1):
        invocation = wait_on_self()
        with pytest.raises(CycleDetectedError) as raised:
            invocation.result_or(TIMEOUT_S)

    assert invocation.invocation_id in raised.value.cycle
    history = invocation.history()
    assert [c.status for c in history] == [S.REGISTERED, S.PENDING, S.RUNNING, S.FAILED]
    assert first(history, S.FAILED).at - first(history, S.RUNNING).at < 1.0


def test_two_invocations_waiting_on_each_other_raise_cycle_detected_at_once(app: Pynenc) -> None:
    @app.task
    def child_waits_on_parent() -> Any:
        return app.invocation(_parent_id()).result

    @app.task
    def parent_waits_on_child() -> Any:
        return child_waits_on_parent().result

    # Given A waits on its child B, and B waits on its parent A (A -> B -> A)
    with running(app, max_threads=1):
        parent = parent_waits_on_child()
        # Then the wait closing the cycle raises, and so does the other (it gets that failure)
        with pytest.raises(CycleDetectedError):
            parent.result_or(TIMEOUT_S)
    (child,) = [r for r in _all(app) if r.parent_invocation_id == parent.invocation_id]
    assert child.status is S.FAILED and parent.status is S.FAILED
    with pytest.raises(CycleDetectedError):
        _ = app.invocation(child.invocation_id).result
    # And it was raised within a second of the cycle's last member starting
    histories = [parent.history(), app.state_backend.history(child.invocation_id)]
    cycle_closed = max(first(h, S.RUNNING).at for h in histories)
    failed_first = min(first(h, S.FAILED).at for h in histories)
    assert failed_first - cycle_closed < 1.0
    # And no wait edge is left behind
    assert app.state_backend.waiter_counts([parent.invocation_id, child.invocation_id]) == {}


def _all(app: Pynenc) -> list[Any]:
    from pynenc_nb.records import InvocationFilter

    records, _ = app.state_backend.query(InvocationFilter(), limit=1000)
    return records
