"""Monitor tests run on memory and SQLite: the backends a notebook uses without a server."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import pytest

from pynenc_nb import Pynenc, RetryError
from pynenc_nb.monitor import Monitor, StatusSegment
from pynenc_nb.ports import StateBackend
from pynenc_nb.records import InvocationFilter, RunnerContext, RunnerInfo, WorkflowIdentity
from tests.conformance.builders import NON_FINAL, S, cas, record
from tests.unit.runner_support import running

TIMEOUT_S = 60.0


@pytest.fixture(params=["memory", "sqlite"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def monitor(app: Pynenc) -> Monitor:
    return Monitor(app)


@dataclass(frozen=True)
class Workload:
    outer: str  # waited on add: RUNNING -> PAUSED -> RUNNING
    inner: str  # the nested call
    failed: str
    retried: str
    flow: str  # a workflow root
    flow_child: str


def run_workload(app: Pynenc) -> Workload:
    """Real tasks on a 2-thread ThreadRunner: a nested call, a failure, a retry and a workflow."""
    attempts: list[int] = []

    @app.task
    def add(a: int, b: int) -> int:
        return a + b

    @app.task
    def outer(x: int) -> int:
        return add(x, 1).result + 1

    @app.task
    def boom(x: int) -> int:
        raise ValueError(f"boom {x} at redis://user:s3cret@db.example:6379/0")

    @app.task(max_retries=2)
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 2:
            raise RetryError("first attempt fails")
        return x

    @app.workflow
    def flow(n: int) -> int:
        return add(n, n).result

    with running(app, max_threads=2):
        o, b, f, w = outer(1), boom(2), flaky(3), flow(4)
        assert o.result_or(TIMEOUT_S) == 3
        assert f.result_or(TIMEOUT_S) == 3
        assert w.result_or(TIMEOUT_S) == 8
        assert b.wait(TIMEOUT_S) is S.FAILED
    inner = _only_child(app.state_backend, o.invocation_id)
    flow_child = _only_child(app.state_backend, w.invocation_id)
    return Workload(o.invocation_id, inner, b.invocation_id, f.invocation_id, w.invocation_id, flow_child)


def _only_child(state: StateBackend, parent_id: str) -> str:
    (child,), _ = state.query(InvocationFilter(parent_invocation_id=parent_id))
    return child.invocation_id


@pytest.fixture
def workload(app: Pynenc) -> Workload:
    return run_workload(app)


def add_runner(
    state: StateBackend,
    runner_cls: str = "FakeRunner",
    *,
    heartbeat: float = 0.0,
    state_name: str = "running",
    slots: int = 4,
) -> str:
    ctx = RunnerContext.current(runner_cls)
    state.put_runner(RunnerInfo(ctx, heartbeat, state_name, slots, 0, "{}"))
    return ctx.runner_id


def stored(
    state: StateBackend,
    steps: Iterable[tuple[S, str | None, float]],
    *,
    task_id: str = "tests.synthetic",
    parent: str | None = None,
    workflow: WorkflowIdentity | None = None,
    created_at: float | None = None,
    args_display: str | None = None,
) -> str:
    """An invocation registered through the port (at the current time), then moved through
    ``steps`` of (status, caller, at); pass times after the registration."""
    new = record(task_id, parent=parent, workflow=workflow, created_at=created_at)
    if args_display is not None:
        new = replace(new, args_display=args_display)
    (reg,) = state.register([new], None, NON_FINAL)
    for status, caller, at in steps:
        assert state.transition(cas(reg.invocation_id, status, caller, at=at)).applied, (status, caller)
    return reg.invocation_id


def segments_of(segments: Iterable[StatusSegment], invocation_id: str) -> list[StatusSegment]:
    return [s for s in segments if s.invocation_id == invocation_id]
