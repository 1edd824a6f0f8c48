"""Runner processes under faults: killed workers and runners, code a runner cannot load, stop signals."""

from __future__ import annotations

import importlib
import os
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.exceptions import RunnerLostError, TaskLoadError, TaskNotFoundError
from pynenc_nb.records import new_id
from tests.conftest import ENGINE_SHARED_BACKENDS
from tests.e2e.support import RUNNER_ARGS, TIMEOUT_S, cli_runner, registrations, runner_args, runners_of
from tests.support.processes import poll

S = InvocationStatus
APP = ("--app", "tests.support.tasks_app:app", "runner", "start")


@pytest.mark.parametrize("runner_cls", ["ProcessRunner", "PersistentProcessRunner", "MultiThreadRunner"])
def test_task_killing_its_process_fails_with_runner_lost_and_runner_keeps_serving(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str
) -> None:
    env = {**shared_env, "PYNENC__MAX_RUNNER_LOSS_RETRIES": "1"}
    args = runner_args(runner_cls)
    if runner_cls == "MultiThreadRunner":
        # One thread per worker process: with two, the call beside the killer could be taken by the
        # killer's own process and die with it, twice, which is right but not what this test checks.
        args = ("--runner-cls", runner_cls, "--num-processes", "2", "--max-threads", "1")
    with cli_runner(tasks_module.app, env, *APP, *args, expected_runners=registrations(runner_cls)) as process:
        killer = tasks_module.kill_own_process()
        alongside = tasks_module.add(1, 2)

        assert alongside.result_or(TIMEOUT_S) == 3
        with pytest.raises(RunnerLostError, match="max_runner_loss_retries=1"):
            killer.result_or(TIMEOUT_S)

        assert killer.status is S.FAILED
        statuses = [c.status for c in killer.history()]
        assert statuses.count(S.RUNNING) == 2, "one attempt plus max_runner_loss_retries=1"
        assert statuses.count(S.RUNNING_RECOVERY) == 2
        assert tasks_module.add(3, 4).result_or(TIMEOUT_S) == 7
        assert process.poll() is None
        # Killed pool workers were replaced, and are listed as lost, not running.
        killed_workers = 0 if runner_cls == "ProcessRunner" else 2
        poll(
            lambda: (
                _states(tasks_module.app, process.pid) == {"running": registrations(runner_cls), "lost": killed_workers}
            ),
            timeout_s=TIMEOUT_S,
            message="killed workers listed as lost and replaced",
        )


def _states(app: Any, pid: int) -> dict[str, int]:
    states = [r.state for r in runners_of(app, pid)]
    return {"running": states.count("running"), "lost": states.count("lost")}


def _module_only_this_process_imports(folder: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = f"only_here_{new_id()[:8]}"
    (folder / f"{name}.py").write_text(
        "from tests.support import tasks_app\n\n\n@tasks_app.app.task\ndef only_here(x: int) -> int:\n    return x\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module(name)
    monkeypatch.setitem(sys.modules, name, module)  # removed again after the test
    return module


@pytest.mark.parametrize("runner_cls", ["ThreadRunner", "ProcessRunner"])
def test_task_whose_module_the_runner_cannot_import_fails_and_runner_keeps_serving(
    tasks_module: Any, shared_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner_cls: str
) -> None:
    elsewhere = tmp_path / "only_here"
    elsewhere.mkdir()
    only_here = _module_only_this_process_imports(elsewhere, monkeypatch).only_here
    with cli_runner(tasks_module.app, shared_env, *APP, *runner_args(runner_cls)) as process:
        invocation = only_here(5)

        with pytest.raises((TaskLoadError, TaskNotFoundError), match="only_here"):
            invocation.result_or(TIMEOUT_S)

        assert invocation.status is S.FAILED
        assert tasks_module.add(1, 1).result_or(TIMEOUT_S) == 2
        assert process.poll() is None


@pytest.mark.parametrize("how", ["SIGTERM to the runner", "Ctrl-C in its terminal"])
@pytest.mark.parametrize("runner_cls", list(RUNNER_ARGS))
def test_stop_signal_lets_the_running_task_finish_and_exits_zero(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str, how: str
) -> None:
    app = tasks_module.app
    with cli_runner(
        app, shared_env, *APP, *runner_args(runner_cls), expected_runners=registrations(runner_cls), new_session=True
    ) as process:
        invocation = tasks_module.sleep_then(1.0, 7)
        poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to start")

        if how.startswith("SIGTERM"):
            process.send_signal(signal.SIGTERM)
        else:  # a terminal sends SIGINT to every process of the group: workers and children too
            os.killpg(process.pid, signal.SIGINT)

        assert process.wait(TIMEOUT_S) == 0
    assert invocation.status is S.SUCCESS
    assert invocation.result == 7
    mine = runners_of(app, process.pid, include_stopped=True)
    assert len(mine) == registrations(runner_cls)
    assert {r.state for r in mine} == {"stopped"}
    assert not runners_of(app, process.pid)


@pytest.mark.parametrize("runner_cls", ["ThreadRunner", "PersistentProcessRunner"])
def test_work_of_a_killed_runner_process_is_recovered_by_another_runner(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str
) -> None:
    app = tasks_module.app
    env = {
        **shared_env,
        "PYNENC__RUNNER_HEARTBEAT_INTERVAL_S": "0.2",
        "PYNENC__RUNNER_DEAD_AFTER_S": "1",
        "PYNENC__SERVICES_INTERVAL_S": "0.2",
    }
    with cli_runner(
        app, env, *APP, *runner_args(runner_cls), expected_runners=registrations(runner_cls), new_session=True
    ) as first:
        invocation = tasks_module.sleep_then(0.5, 9)
        poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to start")
        lost = invocation.record.owner_id
        os.killpg(first.pid, signal.SIGKILL)  # the runner and all its workers, as if the machine died
        first.wait(TIMEOUT_S)

    with cli_runner(app, env, *APP, "--runner-cls", "ThreadRunner"):
        assert invocation.result_or(TIMEOUT_S) == 9

    statuses = [c.status for c in invocation.history()]
    assert S.RUNNING_RECOVERY in statuses and statuses.count(S.RUNNING) == 2
    states = {r.context.runner_id: r.state for r in app.state_backend.runners(include_stopped=True)}
    assert states[lost] == "lost"


@pytest.fixture(params=ENGINE_SHARED_BACKENDS)
def shared_kind(request: pytest.FixtureRequest) -> str:
    """Every runner class survives these faults on each backend runner processes can share."""
    return str(request.param)
