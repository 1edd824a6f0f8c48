"""A killed runner's work runs again within seconds; poison tasks are bounded; lost or stuck work is found.

The kill -9 test runs with the DEFAULT liveness settings: it measures what users get.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc, RunnerLostError
from pynenc_nb.records import RunnerContext, RunnerInfo
from tests.conftest import BROKER_BACKENDS
from tests.guarantees.support import TIMEOUT_S, first, runner_context, runner_processes, running, statuses
from tests.support.processes import poll

S = InvocationStatus
RECOVERY_BUDGET_S = 15.0  # kill -9 -> RUNNING again elsewhere, with default settings


@pytest.mark.slow
def test_work_of_a_runner_killed_with_sigkill_runs_again_elsewhere_with_default_settings(
    tasks_module: Any, shared_env: dict[str, str], tmp_path: Path
) -> None:
    app = tasks_module.app
    assert app.conf.runner_dead_after_s == 5.0 and app.conf.services_interval_s == 1.0  # the defaults
    release = tmp_path / "release"
    # Given two ThreadRunner processes, default settings
    with runner_processes(app, shared_env, 2, "--runner-cls", "ThreadRunner", "--max-threads", "1") as processes:
        invocation = tasks_module.until_file_exists(str(release), 7)
        poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to start")
        lost = invocation.record.owner_id
        assert lost is not None
        (victim,) = [p for p in processes if p.pid == runner_context(app, lost).pid]
        # When the runner running it is killed mid-task
        killed_at = time.time()
        victim.send_signal(signal.SIGKILL)
        victim.wait(TIMEOUT_S)
        release.touch()

        # Then it is RUNNING again, under the other runner, within the budget
        def running_again() -> Any:
            history = invocation.history()
            return [c for c in history if c.status is S.RUNNING and c.at > killed_at]

        (again,) = poll(running_again, timeout_s=RECOVERY_BUDGET_S + 5, message="the task to run again")
        delay = again.at - killed_at
        print(f"\nkill -9 -> RUNNING again on another runner: {delay:.2f} s")
        assert delay < RECOVERY_BUDGET_S
        assert again.owner_id not in (None, lost)
        # And it ends SUCCESS
        assert invocation.result_or(TIMEOUT_S) == 7

    history = statuses(app, invocation.invocation_id)
    assert history == [
        S.REGISTERED,
        S.PENDING,
        S.RUNNING,
        S.RUNNING_RECOVERY,
        S.REROUTED,
        S.PENDING,
        S.RUNNING,
        S.SUCCESS,
    ]
    states = {r.context.runner_id: r.state for r in app.state_backend.runners(include_stopped=True)}
    assert states[lost] == "lost"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("runner_cls", "args"),
    [("ProcessRunner", ("--max-processes", "2")), ("PersistentProcessRunner", ("--num-processes", "2"))],
)
def test_poison_task_fails_after_the_configured_attempts_while_siblings_succeed(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str, args: tuple[str, ...]
) -> None:
    app = tasks_module.app
    env = {**shared_env, "PYNENC__MAX_RUNNER_LOSS_RETRIES": "2"}
    registrations = 1 if runner_cls == "ProcessRunner" else 3
    with runner_processes(app, env, 1, "--runner-cls", runner_cls, *args, registrations_each=registrations) as (
        process,
    ):
        # Given a task that kills the process running it, every time, among ordinary tasks
        poison = tasks_module.kill_own_process()
        siblings = tasks_module.sleep_then.parallelize([(0.05, i) for i in range(6)])

        # Then the siblings succeed
        assert sorted(siblings.iter_results(timeout=TIMEOUT_S)) == list(range(6))
        # And the poison task ends FAILED with RunnerLostError after 1 + max_runner_loss_retries attempts
        with pytest.raises(RunnerLostError, match="max_runner_loss_retries=2"):
            poison.result_or(TIMEOUT_S)
        history = statuses(app, poison.invocation_id)
        assert history[-1] is S.FAILED
        assert history.count(S.RUNNING) == 3
        assert history.count(S.RUNNING_RECOVERY) == 3
        assert poison.record.recoveries == 3
        # And the runner still serves
        assert tasks_module.add(1, 2).result_or(TIMEOUT_S) == 3
        assert process.poll() is None


def _fast_services(make_app: Any) -> Pynenc:
    return make_app(max_pending_seconds=0.5, services_interval_s=0.1)  # type: ignore[no-any-return]


@pytest.mark.parametrize("backend_kind", BROKER_BACKENDS, indirect=True)  # RabbitMQ beside SQLite/Redis too
def test_queued_invocation_whose_broker_message_was_lost_is_rerouted(make_app: Any) -> None:
    app = _fast_services(make_app)

    @app.task
    def job(x: int) -> int:
        return x

    # Given a registered invocation whose broker message is gone
    invocation = job(5)
    app.broker.purge()
    assert app.broker.depth() == 0
    # When a runner (holding the services lease) is alive
    with running(app, max_threads=1):
        # Then the invocation is rerouted and ends SUCCESS
        assert invocation.result_or(TIMEOUT_S) == 5
    history = invocation.history()
    assert [c.status for c in history] == [S.REGISTERED, S.REROUTED, S.PENDING, S.RUNNING, S.SUCCESS]
    assert first(history, S.REROUTED).reason == "broker message lost"


def test_invocation_claimed_but_never_started_is_recovered(make_app: Any) -> None:
    app = _fast_services(make_app)

    @app.task
    def job(x: int) -> int:
        return x

    # Given an invocation claimed (PENDING) by a runner that never starts it; the runner registered
    # once, so it does not count as dead before runner_dead_after_s
    invocation = job(6)
    ghost = RunnerContext.current("GhostRunner")
    app.state_backend.put_runner(RunnerInfo(ghost, time.time(), "running", 1, 0))
    delivery = app.broker.receive(app.conf.queues, ghost.runner_id, 1.0)
    assert delivery is not None and delivery.invocation_id == invocation.invocation_id
    assert app.orchestrator.claim(invocation.invocation_id, ghost.runner_id) is not None
    app.broker.ack(delivery)
    assert invocation.status is S.PENDING
    claimed_at = time.time()
    # When a runner is alive
    with running(app, max_threads=1):
        # Then the stuck PENDING is recovered and ends SUCCESS
        assert invocation.result_or(TIMEOUT_S) == 6
    history = invocation.history()
    assert [c.status for c in history] == [
        S.REGISTERED,
        S.PENDING,
        S.PENDING_RECOVERY,
        S.REROUTED,
        S.PENDING,
        S.RUNNING,
        S.SUCCESS,
    ]
    recovered = first(history, S.PENDING_RECOVERY)
    assert recovered.reason == "PENDING for too long"
    assert recovered.at - claimed_at < app.conf.runner_dead_after_s  # not the dead-runner path
    assert first(history, S.RUNNING).owner_id != ghost.runner_id
    # Tidy up the ghost so it is not mistaken for a live runner
    app.state_backend.heartbeat(ghost.runner_id, time.time(), 0, "stopped")
