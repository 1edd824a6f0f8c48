"""Killing an invocation: at once while it waits for a runner, on its runner while it runs or
waits on children (a thread is interrupted, a process terminated); waiters get a typed error."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.exceptions import InvocationKilledError, InvocationNotFoundError
from pynenc_nb.records import InvocationFilter
from tests.e2e.support import TIMEOUT_S, cli_runner
from tests.support.processes import poll

S = InvocationStatus
APP = ("--app", "tests.support.tasks_app:app", "runner", "start")
HEARTBEAT_S = 0.2
ONE_SLOT = {"ThreadRunner": ("--max-threads", "1"), "ProcessRunner": ("--max-processes", "1")}


@pytest.fixture
def kill_env(shared_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("PYNENC__RUNNER_HEARTBEAT_INTERVAL_S", str(HEARTBEAT_S))
    return {**shared_env, "PYNENC__RUNNER_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_S)}


def _ticks(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _assert_stopped_ticking(path: Path) -> None:
    """The task's own side effect stops: the runner interrupted it, not only the stored status."""
    poll(lambda: _ticks(path) > 0, timeout_s=TIMEOUT_S, message="the task to tick")
    previous = -1
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:  # still for three heartbeats in a row
        now = _ticks(path)
        if now == previous:
            return
        previous = now
        time.sleep(HEARTBEAT_S * 3)
    raise AssertionError(f"{path} still grows {TIMEOUT_S} s after the kill: the task was not interrupted")


def test_killing_a_queued_invocation_ends_it_at_once_and_no_runner_runs_it(
    tasks_module: Any, kill_env: dict[str, str]
) -> None:
    queued = tasks_module.add(1, 2)  # no runner yet

    assert queued.kill() is S.KILLED
    assert queued.status is S.KILLED
    with pytest.raises(InvocationKilledError, match=queued.invocation_id):
        queued.result  # noqa: B018 - the read raises

    with cli_runner(tasks_module.app, kill_env, *APP, *ONE_SLOT["ThreadRunner"]):
        assert tasks_module.add(3, 4).result_or(TIMEOUT_S) == 7
    statuses = [c.status for c in queued.history()]
    assert statuses == [S.REGISTERED, S.KILLED], "its queued message was dropped, never run"


@pytest.mark.parametrize("runner_cls", list(ONE_SLOT))
def test_killing_a_running_invocation_interrupts_it_and_waiters_get_a_typed_error(
    tasks_module: Any, kill_env: dict[str, str], tmp_path: Path, runner_cls: str
) -> None:
    ticks = tmp_path / "ticks"
    with cli_runner(tasks_module.app, kill_env, *APP, "--runner-cls", runner_cls, *ONE_SLOT[runner_cls]) as process:
        running = tasks_module.tick_until_killed(str(ticks))
        poll(lambda: _ticks(ticks) > 0, timeout_s=TIMEOUT_S, message="the task to start")
        waiter_saw: list[BaseException] = []

        def wait() -> None:
            try:
                running.result_or(TIMEOUT_S)
            except BaseException as exc:
                waiter_saw.append(exc)

        waiter = threading.Thread(target=wait)
        waiter.start()

        assert tasks_module.app.orchestrator.kill(running.invocation_id).status is S.KILLED

        waiter.join(TIMEOUT_S)
        assert len(waiter_saw) == 1 and isinstance(waiter_saw[0], InvocationKilledError), waiter_saw
        _assert_stopped_ticking(ticks)
        # its only slot is free again and the runner keeps serving
        assert tasks_module.add(1, 2).result_or(TIMEOUT_S) == 3
        assert process.poll() is None
    assert running.status is S.KILLED
    assert [c.status for c in running.history()][-2:] == [S.RUNNING, S.KILLED]


@pytest.mark.parametrize("runner_cls", list(ONE_SLOT))
def test_killing_a_paused_parent_frees_its_worker_and_its_child_can_be_killed_too(
    tasks_module: Any, kill_env: dict[str, str], tmp_path: Path, runner_cls: str
) -> None:
    ticks = tmp_path / "ticks"
    with cli_runner(tasks_module.app, kill_env, *APP, "--runner-cls", runner_cls, *ONE_SLOT[runner_cls]):
        parent = tasks_module.waits_on_ticks(str(ticks))
        poll(lambda: parent.status is S.PAUSED and _ticks(ticks) > 0, timeout_s=TIMEOUT_S, message="parent paused")
        app = tasks_module.app
        (child_record,), _ = app.state_backend.query(InvocationFilter(parent_invocation_id=parent.invocation_id))
        child = app.invocation(child_record.invocation_id)

        assert parent.kill() is S.KILLED
        with pytest.raises(InvocationKilledError):
            parent.result_or(TIMEOUT_S)
        assert child.status is S.RUNNING, "a kill does not reach the children: kill them on their own"

        assert child.kill() is S.KILLED
        _assert_stopped_ticking(ticks)
        assert tasks_module.add(2, 2).result_or(TIMEOUT_S) == 4
    assert [c.status for c in parent.history()][-2:] == [S.PAUSED, S.KILLED]


def test_killing_a_final_invocation_changes_nothing(tasks_module: Any, kill_env: dict[str, str]) -> None:
    with cli_runner(tasks_module.app, kill_env, *APP, *ONE_SLOT["ThreadRunner"]):
        done = tasks_module.add(1, 2)
        assert done.result_or(TIMEOUT_S) == 3

    assert done.kill() is S.SUCCESS
    assert done.result == 3
    with pytest.raises(InvocationNotFoundError):
        tasks_module.app.orchestrator.kill("no-such-invocation")
