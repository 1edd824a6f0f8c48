"""Every runner class, started with ``python -m pynenc_nb runner start``, serves the same calls.

One runner process per class serves all tests of this module (starting one per test would
dominate the run time); each class gets its own SQLite file, oracle-checked at the end.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from pynenc_nb import InvocationStatus, RetryError
from pynenc_nb.app import Pynenc
from pynenc_nb.records import new_id
from tests.e2e.support import POOL_RUNNERS, RUNNER_ARGS, TIMEOUT_S, cli_runner, registrations, runner_args, top_runner
from tests.support import tasks_app
from tests.support.oracle import assert_histories_valid

S = InvocationStatus


@dataclass(frozen=True)
class Served:
    runner_cls: str
    module: ModuleType  # tests.support.tasks_app, rebuilt on this class's SQLite file
    process: subprocess.Popen[str]
    folder: Path

    @property
    def app(self) -> Pynenc:
        app: Pynenc = self.module.app
        return app


@pytest.fixture(scope="module", params=list(RUNNER_ARGS))
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    runner_cls: str = request.param
    folder = tmp_path_factory.mktemp(runner_cls)
    env = {
        "PYNENC__APP_ID": f"e2e-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": f"sqlite://{folder / 'shared.db'}",
        "PYNENC__LOGGING_LEVEL": "warning",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        module = tasks_app.load()
        try:
            with cli_runner(
                module.app,
                env,
                "--app",
                "tests.support.tasks_app:app",
                "runner",
                "start",
                *runner_args(runner_cls),
                expected_runners=registrations(runner_cls),
            ) as process:
                yield Served(runner_cls, module, process, folder)
            assert_histories_valid(module.app)
        finally:
            module.app.close()


def test_add_returns_its_result(served: Served) -> None:
    assert served.module.add(1, 2).result_or(TIMEOUT_S) == 3


def test_failure_reraises_the_original_type_with_the_runner_traceback(served: Served) -> None:
    invocation = served.module.fail("boom")

    with pytest.raises(ValueError, match="boom") as raised:
        invocation.result_or(TIMEOUT_S)

    assert invocation.status is S.FAILED
    notes = "\n".join(getattr(raised.value, "__notes__", []))
    assert "Traceback on the runner" in notes
    assert "tasks_app.py" in notes and "raise ValueError(message)" in notes


def test_custom_exception_keeps_its_class(served: Served) -> None:
    with pytest.raises(served.module.CustomError) as raised:
        served.module.fail_custom(7).result_or(TIMEOUT_S)

    assert type(raised.value) is served.module.CustomError
    assert raised.value.args == (7,)


def test_retry_error_retries_max_retries_times_then_fails(served: Served) -> None:
    invocation = served.module.retry_always("x")

    with pytest.raises(RetryError, match="again x"):
        invocation.result_or(TIMEOUT_S)

    assert invocation.status is S.FAILED
    assert invocation.num_retries == 2
    statuses = [change.status for change in invocation.history()]
    assert statuses.count(S.RETRY) == 2
    assert statuses.count(S.RUNNING) == 3


def test_retry_for_exception_succeeds_after_retries(served: Served) -> None:
    counter = served.folder / f"flaky-{new_id()[:8]}"

    invocation = served.module.flaky(str(counter), 2)

    assert invocation.result_or(TIMEOUT_S) == 3
    assert invocation.num_retries == 2
    assert [c.status for c in invocation.history()].count(S.RETRY) == 2


def test_parallelize_accepts_tuples_dicts_and_bound_args(served: Served) -> None:
    add = served.module.add

    group = add.parallelize([(1, 2), {"x": 3, "y": 4}, add.args(5, y=6)])
    with_common = add.parallelize([(1,), {"x": 2}], common_args={"y": 10})

    assert sorted(group.iter_results(timeout=TIMEOUT_S)) == [3, 7, 11]
    assert sorted(with_common.iter_results(timeout=TIMEOUT_S)) == [11, 12]


def test_results_come_in_completion_order(served: Served) -> None:
    group = served.module.sleep_then.parallelize([(0.8, 0), (0.01, 1), (0.01, 2)])

    results = list(group.iter_results(timeout=TIMEOUT_S))

    assert sorted(results) == [0, 1, 2]
    assert results[-1] == 0


def test_history_records_the_runner_that_ran_the_invocation(served: Served) -> None:
    invocation = served.module.add(2, 2)
    invocation.result_or(TIMEOUT_S)

    history = invocation.history()
    (running,) = [c for c in history if c.status is S.RUNNING]
    (success,) = [c for c in history if c.status is S.SUCCESS]
    assert running.runner_id is not None and success.runner_id == running.runner_id
    listed = {r.context.runner_id: r.context for r in served.app.state_backend.runners()}
    assert running.runner_id in listed
    top = top_runner(served.app, served.process.pid).context
    assert top.runner_cls == served.runner_cls
    ran = listed[running.runner_id]
    if served.runner_cls in POOL_RUNNERS:
        assert ran.parent_runner_id == top.runner_id and ran.pid != top.pid
    else:
        assert ran == top


def test_tasks_run_in_the_process_the_runner_class_promises(served: Served) -> None:
    pids = [served.module.pid().result_or(TIMEOUT_S) for _ in range(4)]

    runner_pid = served.process.pid
    if served.runner_cls == "ThreadRunner":
        assert set(pids) == {runner_pid}
    elif served.runner_cls == "ProcessRunner":
        assert runner_pid not in pids
        assert len(set(pids)) == len(pids), "a fresh process per invocation"
    else:
        workers = {
            r.context.pid
            for r in served.app.state_backend.runners()
            if r.context.parent_runner_id == top_runner(served.app, runner_pid).context.runner_id
        }
        assert len(workers) == 2 and runner_pid not in workers
        assert set(pids) <= workers
        assert len(set(pids)) < len(pids), "worker processes are reused across calls"
