"""Durable workflows: deterministic operations and children replayed across retries and a killed
runner, failed children run again, non-determinism refused, scope errors, workflow data.

Runners run in separate processes, on SQLite and Redis (``shared_env``); one in-process check on
every backend runs with a thread runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import (
    DeterministicOperationScopeError,
    InvocationStatus,
    Pynenc,
    ThreadRunner,
    WorkflowMembershipError,
    WorkflowNonDeterminismError,
)
from pynenc_nb.conf.urls import scheme_of
from pynenc_nb.records import InvocationFilter
from pynenc_nb.workflow.context import recorded_steps
from tests.conftest import ENGINE_SHARED_BACKENDS
from tests.support.oracle import assert_histories_valid
from tests.support.processes import ROOT, poll, runner_process

S = InvocationStatus
APP = "tests.workflows.wf_app:app"
FAST = {
    "PYNENC__SERVICES_INTERVAL_S": "0.2",
    "PYNENC__RUNNER_HEARTBEAT_INTERVAL_S": "0.2",
    "PYNENC__RUNNER_DEAD_AFTER_S": "1",
}


@pytest.fixture(params=ENGINE_SHARED_BACKENDS[:2])
def shared_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def wf(shared_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    from tests.workflows import wf_app

    module = wf_app.load()
    yield module
    try:
        assert_histories_valid(module.app)
    finally:
        if scheme_of(module.app.conf.backend_url) in ("redis", "rediss"):
            module.app.purge()
        module.app.close()


def _ran(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


@pytest.mark.slow
def test_a_retried_root_replays_its_values_and_children(wf: Any, shared_env: dict[str, str], tmp_path: Path) -> None:
    log, values = tmp_path / "log", tmp_path / "values"
    with runner_process(wf.app, {**shared_env, **FAST}, app_spec=APP):
        invocation = wf.order(str(log), str(values))
        result = invocation.result
    attempts = [json.loads(line) for line in values.read_text().splitlines()]
    assert len(attempts) == 2 and attempts[0] == attempts[1]  # the same uuid, random and time
    assert result["values"] == attempts[0]
    assert result["results"] == ["C0", "C1", "C2"]
    assert _ran(log) == Counter({"c0": 1, "c1": 1, "c2": 1})  # no child ran twice
    statuses = [c.status for c in wf.app.state_backend.history(invocation.invocation_id)]
    assert S.RETRY in statuses and statuses[-1] is S.SUCCESS
    kinds = [s["kind"] for s in recorded_steps(wf.app, invocation.invocation_id)]
    assert kinds == ["uuid", "random", "utc_now", "task", "task", "task"]


@pytest.mark.slow
def test_a_failed_child_runs_again_on_the_roots_retry(wf: Any, shared_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "log"
    with runner_process(wf.app, {**shared_env, **FAST}, app_spec=APP):
        assert wf.with_flaky_child(str(log)).result == "BEFORE+FLAKY"
    assert _ran(log) == Counter({"before": 1, "flaky": 2})


@pytest.mark.slow
def test_a_killed_runner_resumes_without_rerunning_finished_children(
    wf: Any, shared_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    env = {**os.environ, **shared_env, **FAST, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pynenc_nb", "--app", APP, "runner", "start"]
    first = subprocess.Popen(command, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        invocation = wf.slow_order(str(log), 3.0)
        poll(lambda: _ran(log)["c1"] == 1, timeout_s=30, message="the second child to start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with runner_process(wf.app, {**shared_env, **FAST}, app_spec=APP):
            assert invocation.result == ["C0", "C1", "C2"]
    finally:
        if first.poll() is None:
            first.kill()
    assert _ran(log) == Counter({"c0": 1, "c1": 2, "c2": 1})


@pytest.mark.slow
def test_changed_child_arguments_on_replay_fail_the_workflow(
    wf: Any, shared_env: dict[str, str], tmp_path: Path
) -> None:
    source, log = tmp_path / "source", tmp_path / "log"
    source.write_text("v1")
    with runner_process(wf.app, {**shared_env, **FAST}, app_spec=APP):
        invocation = wf.drifting(str(source), str(log))
        with pytest.raises(WorkflowNonDeterminismError, match="step 0") as raised:
            invocation.result  # noqa: B018 - reading the result raises
    assert "'v1'" in raised.value.recorded and "'v1-changed'" in raised.value.requested
    assert wf.app.state_backend.get(invocation.invocation_id).status is S.FAILED
    assert _ran(log) == Counter({"v1": 1})


@pytest.mark.slow
def test_scope_data_and_sub_workflows(wf: Any, shared_env: dict[str, str]) -> None:
    with runner_process(wf.app, {**shared_env, **FAST}, app_spec=APP):
        assert wf.shares_data().result == {"value": 42}  # a child reads the root's data
        with pytest.raises(DeterministicOperationScopeError, match="workflow root"):
            wf.not_a_root().result  # noqa: B018 - reading the result raises
        outer = wf.calls_a_sub_workflow("unused")
        result = outer.result
    sub = wf.app.state_backend.get(result["identity"])
    assert sub.workflow.workflow_id == sub.invocation_id  # a sub-workflow is its own root
    assert sub.workflow.parent_workflow_id == outer.invocation_id
    assert sub.parent_invocation_id == outer.invocation_id


def test_workflow_operations_outside_a_running_task_are_refused(make_app: Any) -> None:
    app: Pynenc = make_app()

    @app.task
    def plain() -> None:
        return None

    with pytest.raises(WorkflowMembershipError, match="inside the task's body"):
        plain.wf.get_data("x")
    with pytest.raises(DeterministicOperationScopeError):
        plain.wf.root.uuid()
    assert plain.wf.identity is None


def test_replay_in_a_thread_runner_on_every_backend(make_app: Any, tmp_path: Path) -> None:
    app: Pynenc = make_app()
    log = tmp_path / "log"

    @app.task
    def child(n: int) -> int:
        with open(log, "a") as file:
            file.write(f"{n}\n")
        return n * 2

    attempts: list[str] = []

    @app.workflow(max_retries=1)
    def root() -> list[Any]:
        token = root.wf.root.uuid()
        attempts.append(token)
        values = [root.wf.root.execute_task(child, n) for n in range(2)]
        if len(attempts) == 1:
            from pynenc_nb import RetryError

            raise RetryError("once")
        return [token, values]

    runner = ThreadRunner(app, max_threads=2)
    thread = runner.start_in_thread()
    try:
        token, values = root().result
    finally:
        runner.stop(timeout=30)
        thread.join(30)
    assert attempts == [token, token] and values == [0, 2]
    assert sorted(log.read_text().split()) == ["0", "1"]
    records, _ = app.state_backend.query(InvocationFilter(task_id=child.task_id), limit=10)
    assert len(records) == 2


def test_replay_in_dev_mode(make_app: Any) -> None:
    app: Pynenc = make_app(dev_mode_force_sync_tasks=True)
    calls: list[int] = []

    @app.task
    def child(n: int) -> int:
        calls.append(n)
        return n + 1

    seen: list[float] = []

    @app.workflow(max_retries=1)
    def root() -> float:
        value = root.wf.root.random()
        seen.append(value)
        root.wf.root.execute_task(child, 1)
        if len(seen) == 1:
            from pynenc_nb import RetryError

            raise RetryError("once")
        return value

    assert root().result == seen[0] == seen[1]
    assert calls == [1]


ONE_SLOT = {
    "ProcessRunner": ("--max-processes", "1"),
    "PersistentProcessRunner": ("--num-processes", "1"),
    "MultiThreadRunner": ("--num-processes", "1", "--max-threads", "1"),
}


@pytest.mark.slow
@pytest.mark.parametrize("runner_cls", list(ONE_SLOT))
def test_replay_on_every_runner_type_with_one_slot(
    wf: Any, shared_env: dict[str, str], tmp_path: Path, runner_cls: str
) -> None:
    # One slot: the root must pause (free its slot) while each child runs, on every runner type
    log, values = tmp_path / "log", tmp_path / "values"
    expected = 1 if runner_cls == "ProcessRunner" else 2  # the CLI process, plus its pool worker
    args = ("--runner-cls", runner_cls, *ONE_SLOT[runner_cls])
    with runner_process(wf.app, {**shared_env, **FAST}, *args, app_spec=APP, expected_runners=expected):
        result = wf.order(str(log), str(values)).result
    attempts = [json.loads(line) for line in values.read_text().splitlines()]
    assert len(attempts) == 2 and attempts[0] == attempts[1] == result["values"]
    assert _ran(log) == Counter({"c0": 1, "c1": 1, "c2": 1})


def test_identity_knows_the_root_of_nested_sub_workflows_in_pynencs_names(make_app: Any) -> None:
    app = make_app(dev_mode_force_sync_tasks=True)
    seen: dict[str, Any] = {}

    @app.workflow
    def inner() -> None:
        identity = inner.wf.identity
        seen["inner"] = (identity, inner.wf.root_workflow_id, identity.is_subworkflow)

    @app.workflow
    def middle() -> None:
        assert inner().result is None
        seen["middle"] = middle.wf.root_workflow_id

    @app.workflow
    def outer() -> None:
        assert middle().result is None
        seen["outer"] = (outer.wf.root_workflow_id, outer.wf.identity.is_subworkflow)

    run = outer()
    assert run.result is None
    identity, root_id, is_sub = seen["inner"]
    assert root_id == run.invocation_id and is_sub
    assert identity.workflow_task_id == inner.task_id and identity.workflow_invocation_id == identity.workflow_id
    assert seen["middle"] == run.invocation_id
    assert seen["outer"] == (run.invocation_id, False)
