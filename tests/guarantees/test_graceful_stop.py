"""Graceful stop: running work finishes within the grace period, or is rerouted to another runner."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc, ThreadRunner
from tests.guarantees.support import TIMEOUT_S, runner_context, runner_processes, statuses
from tests.support.processes import poll

S = InvocationStatus


@pytest.mark.slow
def test_sigterm_lets_the_running_task_finish(tasks_module: Any, shared_env: dict[str, str]) -> None:
    app = tasks_module.app
    with runner_processes(app, shared_env, 1, "--runner-cls", "ThreadRunner", "--max-threads", "1") as (process,):
        invocation = tasks_module.sleep_then(1, 4)
        poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT_S) == 0
        assert invocation.status is S.SUCCESS
    assert invocation.result == 4
    assert statuses(app, invocation.invocation_id) == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]


@pytest.mark.slow
def test_task_longer_than_the_grace_period_is_rerouted_to_another_runner(
    tasks_module: Any, shared_env: dict[str, str], tmp_path: Path
) -> None:
    app = tasks_module.app
    env = {**shared_env, "PYNENC__GRACEFUL_STOP_TIMEOUT_S": "0.5"}
    release = tmp_path / "release"
    with runner_processes(app, env, 2, "--runner-cls", "ThreadRunner", "--max-threads", "1") as processes:
        invocation = tasks_module.until_file_exists(str(release), 5)
        poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to start")
        stopping_id = invocation.record.owner_id
        assert stopping_id is not None
        (stopping,) = [p for p in processes if p.pid == runner_context(app, stopping_id).pid]
        # When the runner running it is stopped, with a grace period shorter than the task
        stop_at = time.monotonic()
        stopping.send_signal(signal.SIGTERM)
        assert stopping.wait(TIMEOUT_S) == 0
        assert time.monotonic() - stop_at < 0.5 + 5.0, "the grace period bounds the stop"
        release.touch()
        # Then the task is rerouted and ends SUCCESS on the other runner
        assert invocation.result_or(TIMEOUT_S) == 5

    history = invocation.history()
    assert [c.status for c in history] == [
        S.REGISTERED,
        S.PENDING,
        S.RUNNING,
        S.REROUTED,
        S.PENDING,
        S.RUNNING,
        S.SUCCESS,
    ]
    rerouted = next(c for c in history if c.status is S.REROUTED)
    assert rerouted.runner_id == stopping_id and rerouted.reason == "runner stopped"
    assert history[-1].runner_id not in (None, stopping_id)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ("--runner-cls", "PersistentProcessRunner", "--num-processes", "2"),
        ("--runner-cls", "MultiThreadRunner", "--num-processes", "2", "--max-threads", "2"),
    ],
    ids=["PersistentProcessRunner", "MultiThreadRunner"],
)
def test_ctrl_c_stops_a_pool_as_soon_as_the_running_task_finishes(
    tasks_module: Any, shared_env: dict[str, str], args: tuple[str, ...]
) -> None:
    """Ctrl-C reaches every process of the group: workers get SIGINT and their supervisor's SIGTERM at once."""
    app = tasks_module.app
    with runner_processes(app, shared_env, 1, *args, registrations_each=3, new_session=True) as (process,):
        invocation = tasks_module.sleep_then(0.5, 6)
        poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to start")
        stop_at = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(TIMEOUT_S) == 0
        assert time.monotonic() - stop_at < app.conf.graceful_stop_timeout_s / 2, "a worker ignored the stop"
    assert invocation.status is S.SUCCESS


def test_a_stop_asked_for_before_the_runner_runs_is_honoured(app: Pynenc) -> None:
    """A SIGTERM reaching a pool worker that is still starting must not be forgotten by ``run``."""
    runner = ThreadRunner(app, max_threads=1)
    runner.stop(wait=False)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    thread.join(TIMEOUT_S)
    assert not thread.is_alive(), "run() ignored the stop requested before it started"
    states = {r.context.runner_id: r.state for r in app.state_backend.runners(include_stopped=True)}
    assert states[runner.runner_id] == "stopped"


@pytest.mark.slow
def test_sigterm_while_a_pool_replaces_a_killed_worker_stops_promptly(
    tasks_module: Any, shared_env: dict[str, str]
) -> None:
    """The replacement worker is starting when the stop arrives: it must stop too, not hold the pool."""
    app = tasks_module.app
    env = {**shared_env, "PYNENC__MAX_RUNNER_LOSS_RETRIES": "0"}
    args = ("--runner-cls", "PersistentProcessRunner", "--num-processes", "1")
    with runner_processes(app, env, 1, *args, registrations_each=2) as (process,):
        killer = tasks_module.kill_own_process()
        killer.wait(TIMEOUT_S)  # its worker died; the pool is starting a replacement right now
        stop_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(TIMEOUT_S) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("the runner did not stop")
        graceful = app.conf.graceful_stop_timeout_s
        assert time.monotonic() - stop_at < graceful / 2, "a worker ignored the stop until it was killed"
    assert killer.status is S.FAILED
