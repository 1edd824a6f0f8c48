"""Runner processes under faults: killed workers, code the runner cannot load, SIGTERM."""

from __future__ import annotations

import importlib
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.exceptions import RunnerLostError, TaskLoadError, TaskNotFoundError
from pynenc_nb.records import new_id
from tests.e2e.support import RUNNER_ARGS, TIMEOUT_S, cli_runner, registrations, runner_args, runners_of
from tests.support.processes import poll

S = InvocationStatus
APP = ("--app", "tests.support.tasks_app:app", "runner", "start")


@pytest.mark.parametrize("runner_cls", ["ProcessRunner", "PersistentProcessRunner", "MultiThreadRunner"])
def test_task_killing_its_process_fails_with_runner_lost_and_runner_keeps_serving(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str
) -> None:
    env = {**shared_env, "PYNENC__MAX_RUNNER_LOSS_RETRIES": "1"}
    with cli_runner(
        tasks_module.app, env, *APP, *runner_args(runner_cls), expected_runners=registrations(runner_cls)
    ) as process:
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
        # Killed pool workers were replaced, and are no longer listed as running.
        poll(
            lambda: len(runners_of(tasks_module.app, process.pid)) == registrations(runner_cls),
            timeout_s=TIMEOUT_S,
            message="only live runners to be listed",
        )


def _module_only_this_process_imports(folder: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = f"only_here_{new_id()[:8]}"
    (folder / f"{name}.py").write_text(
        "from tests.support import tasks_app\n\n\n"
        "@tasks_app.app.task\n"
        "def only_here(x: int) -> int:\n"
        "    return x\n"
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


@pytest.mark.parametrize("runner_cls", list(RUNNER_ARGS))
def test_sigterm_lets_the_running_task_finish_and_exits_zero(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str
) -> None:
    app = tasks_module.app
    with cli_runner(app, shared_env, *APP, *runner_args(runner_cls), expected_runners=registrations(runner_cls)) as process:
        invocation = tasks_module.sleep_then(1.0, 7)
        poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to start")

        process.send_signal(signal.SIGTERM)

        assert process.wait(TIMEOUT_S) == 0
    assert invocation.status is S.SUCCESS
    assert invocation.result == 7
    mine = runners_of(app, process.pid, include_stopped=True)
    assert len(mine) == registrations(runner_cls)
    assert {r.state for r in mine} == {"stopped"}
    assert not runners_of(app, process.pid)
