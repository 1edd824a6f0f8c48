"""Status changes made by the orchestrator on a real task: legal paths pass the oracle, illegal ones are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvocationConcurrencyControlledError, RunnerLostError
from pynenc_nb.records import InvocationRecord
from pynenc_nb.task_options import ConcurrencyControlType
from tests.conformance.builders import S
from tests.support.oracle import history_errors


def _statuses(app: Pynenc, invocation_id: str) -> list[S]:
    return [change.status for change in app.state_backend.history(invocation_id)]


def _submit(task: Any, *args: Any) -> str:
    """Call a task as user code does; return the new invocation's id."""
    return str(task(*args).invocation_id)


def _claimed(app: Pynenc, runner_id: str = "r1") -> InvocationRecord:
    """Receive the next message and claim its invocation, as a runner does."""
    delivery = app.broker.receive(["default"], runner_id, timeout_s=5)
    assert delivery is not None
    record = app.orchestrator.claim(delivery.invocation_id, runner_id)
    app.broker.ack(delivery)
    assert record is not None and (record.status, record.owner_id) == (S.PENDING, runner_id)
    return record


def _running(app: Pynenc, runner_id: str = "r1") -> InvocationRecord:
    record = app.orchestrator.start(_claimed(app, runner_id), runner_id)
    assert record is not None and record.status is S.RUNNING
    return record


@pytest.fixture
def add(app: Pynenc) -> Callable[..., Any]:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    return add


def test_success_path(app: Pynenc, add: Callable[..., Any]) -> None:
    # Given a registered call
    invocation_id = _submit(add, 1, 2)
    assert app.broker.depth() == 1
    # When a runner claims, starts and finishes it
    record = _running(app)
    assert app.orchestrator.store(app.orchestrator.result_ending(record, "r1", 3)).applied
    # Then its result is stored and its history is legal
    final = app.orchestrator.get(invocation_id)
    assert (final.status, final.owner_id, app.orchestrator.value_of(final)) == (S.SUCCESS, None, 3)
    assert _statuses(app, invocation_id) == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]
    assert history_errors(app) == {}


def test_failure_stores_the_exception(app: Pynenc, add: Callable[..., Any]) -> None:
    invocation_id = _submit(add, 1, 2)
    assert app.orchestrator.store(app.orchestrator.error_ending(_running(app), "r1", ValueError("boom"))).applied
    with pytest.raises(ValueError, match="boom"):
        app.orchestrator.value_of(app.orchestrator.get(invocation_id))
    assert history_errors(app) == {}


def test_retry_requeues_and_counts(app: Pynenc, add: Callable[..., Any]) -> None:
    # Given a running invocation that asks for a retry
    invocation_id = _submit(add, 1, 2)
    retried = app.orchestrator.retry(_running(app), "r1", ConnectionError("flaky"))
    # Then it is queued again with one retry counted, and another runner can finish it
    assert retried.applied and retried.record.num_retries == 1
    assert app.broker.depth() == 1
    assert app.orchestrator.store(app.orchestrator.result_ending(_running(app, "r2"), "r2", 3)).applied
    assert _statuses(app, invocation_id) == [
        S.REGISTERED,
        S.PENDING,
        S.RUNNING,
        S.RETRY,
        S.PENDING,
        S.RUNNING,
        S.SUCCESS,
    ]
    assert history_errors(app) == {}


def test_recovery_reroutes_then_fails_past_the_limit(make_app: Callable[..., Pynenc]) -> None:
    # Given an app that tolerates one lost runner per invocation
    app = make_app(max_runner_loss_retries=1)

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    invocation_id = _submit(add, 1, 2)
    # When its runner is lost once
    _running(app, "r1")
    first = app.orchestrator.recover(invocation_id, "monitor", "r1 stopped heartbeating")
    # Then it is rerouted to the queue
    assert first is not None and (first.record.status, first.record.recoveries) == (S.REROUTED, 1)
    # When the next runner is lost too
    _running(app, "r2")
    second = app.orchestrator.recover(invocation_id, "monitor", "r2 stopped heartbeating")
    # Then it fails with a RunnerLostError and the history is legal
    assert second is not None and second.record.status is S.FAILED
    with pytest.raises(RunnerLostError):
        app.orchestrator.value_of(second.record)
    assert history_errors(app) == {}


def test_illegal_transitions_are_refused(app: Pynenc, add: Callable[..., Any]) -> None:
    # Given a finished invocation
    invocation_id = _submit(add, 1, 2)
    record = _running(app)
    assert app.orchestrator.store(app.orchestrator.result_ending(record, "r1", 3)).applied
    before = app.state_backend.history(invocation_id)
    # When anyone tries to move it on
    refused = [
        app.orchestrator.move(invocation_id, S.RUNNING, "r1"),
        app.orchestrator.move(invocation_id, S.RETRY, "r1"),
        app.orchestrator.move(invocation_id, S.RUNNING_RECOVERY, "monitor"),
        app.orchestrator.store(app.orchestrator.error_ending(record, "r1", ValueError("late"))),
    ]
    # Then every change is refused for its status, and nothing is stored or queued
    assert [(r.applied, r.conflict) for r in refused] == [(False, "status")] * 4
    assert app.orchestrator.claim(invocation_id, "r2") is None
    assert app.state_backend.history(invocation_id) == before
    assert app.orchestrator.value_of(app.orchestrator.get(invocation_id)) == 3
    assert app.broker.depth() == 0


def test_only_the_owner_moves_a_claimed_invocation(app: Pynenc, add: Callable[..., Any]) -> None:
    # Given r1 claimed an invocation
    invocation_id = _submit(add, 1, 2)
    record = _claimed(app, "r1")
    # When r2 claims or starts it
    # Then r2 is refused, and r1 can start it
    assert app.orchestrator.claim(invocation_id, "r2") is None
    assert app.orchestrator.move(invocation_id, S.RUNNING, "r2").conflict == "owner"
    assert app.orchestrator.start(record, "r1") is not None
    assert app.orchestrator.claim("no-such-invocation", "r1") is None


def test_running_concurrency_holds_the_second_start_until_the_first_ends(app: Pynenc) -> None:
    # Given a task that runs one invocation at a time, and two claimed invocations of it
    @app.task(running_concurrency=ConcurrencyControlType.TASK)
    def single(x: int) -> int:
        return x

    first_id, second_id = _submit(single, 1), _submit(single, 2)
    first, second = _claimed(app, "r1"), _claimed(app, "r2")
    assert first.invocation_id == first_id
    # When both start
    running = app.orchestrator.start(first, "r1")
    assert running is not None
    assert app.orchestrator.start(second, "r2") is None
    # Then the second one waits, concurrency controlled and off the queue
    assert _statuses(app, second_id) == [S.REGISTERED, S.PENDING, S.CONCURRENCY_CONTROLLED]
    assert app.broker.depth() == 0
    # And when the first one ends, the second is rerouted to the queue and can run
    assert app.orchestrator.store(app.orchestrator.result_ending(running, "r1", 1)).applied
    assert _statuses(app, second_id)[-1] is S.REROUTED
    assert app.orchestrator.store(app.orchestrator.result_ending(_running(app, "r2"), "r2", 2)).applied
    assert history_errors(app) == {}


def test_running_concurrency_without_reroute_ends_the_blocked_call(app: Pynenc) -> None:
    @app.task(running_concurrency=ConcurrencyControlType.TASK, reroute_on_concurrency_control=False)
    def single(x: int) -> int:
        return x

    _submit(single, 1)
    second_id = _submit(single, 2)
    first, second = _claimed(app, "r1"), _claimed(app, "r2")
    assert app.orchestrator.start(first, "r1") is not None
    assert app.orchestrator.start(second, "r2") is None
    assert _statuses(app, second_id) == [S.REGISTERED, S.PENDING, S.CONCURRENCY_CONTROLLED_FINAL]
    with pytest.raises(InvocationConcurrencyControlledError):
        app.orchestrator.value_of(app.orchestrator.get(second_id))


def test_a_runner_that_never_decorated_the_task_still_honours_its_reroute_option(
    app: Pynenc, make_app: Callable[..., Pynenc]
) -> None:
    # Given a caller whose task does not reroute a call blocked by running concurrency
    @app.task(running_concurrency=ConcurrencyControlType.TASK, reroute_on_concurrency_control=False)
    def single(x: int) -> int:
        return x

    _submit(single, 1)
    second_id = _submit(single, 2)
    # And a runner's app of the same id that never decorated it (code shipped from a notebook cell,
    # or an importable task the runner has not loaded yet)
    runner = make_app(app_id=app.app_id)
    if not app.backends.serves_other_processes:
        runner._backends = app.backends  # memory: one store per app object; share the caller's
    assert single.task_id not in runner.tasks
    # When the runner starts both
    first, second = _claimed(runner, "r1"), _claimed(runner, "r2")
    assert runner.orchestrator.start(first, "r1") is not None
    assert runner.orchestrator.start(second, "r2") is None
    # Then the blocked one ends as the caller's options say, not as a default
    assert _statuses(app, second_id) == [S.REGISTERED, S.PENDING, S.CONCURRENCY_CONTROLLED_FINAL]


def test_registration_concurrency_reuses_the_live_invocation(app: Pynenc) -> None:
    @app.task(registration_concurrency=ConcurrencyControlType.TASK)
    def single(x: int) -> int:
        return x

    assert _submit(single, 1) == _submit(single, 2)
    assert app.broker.depth() == 1
