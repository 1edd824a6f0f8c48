"""Waiting on results never deadlocks on the runner types that work in other processes.

Each runner is started with ``python -m pynenc_nb runner start`` on the test's SQLite file.
"""

from __future__ import annotations

from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.records import InvocationFilter
from tests.guarantees.support import TIMEOUT_S, fibonacci_case, pauses_resume_running, runner_processes, statuses

S = InvocationStatus
pytestmark = pytest.mark.slow

ONE_SLOT = {
    "ProcessRunner": ("--max-processes", "1"),
    "PersistentProcessRunner": ("--num-processes", "1"),
    "MultiThreadRunner": ("--num-processes", "1", "--max-threads", "1"),
}
TWO_SLOTS = {
    "ProcessRunner": ("--max-processes", "2"),
    "PersistentProcessRunner": ("--num-processes", "2"),
    "MultiThreadRunner": ("--num-processes", "1", "--max-threads", "2"),
}


def top_level_runners_info(app: Any) -> list[Any]:
    return [r for r in app.state_backend.runners() if r.state != "client" and r.context.parent_runner_id is None]


def _registrations(runner_cls: str, args: tuple[str, ...]) -> int:
    """The runner record of the CLI process, plus one per pool worker process."""
    if runner_cls == "ProcessRunner":
        return 1
    return 1 + int(args[args.index("--num-processes") + 1])


@pytest.mark.parametrize("runner_cls", list(ONE_SLOT))
def test_nested_result_completes_with_one_slot(tasks_module: Any, shared_env: dict[str, str], runner_cls: str) -> None:
    app = tasks_module.app
    args = ONE_SLOT[runner_cls]
    with runner_processes(
        app, shared_env, 1, "--runner-cls", runner_cls, *args, registrations_each=_registrations(runner_cls, args)
    ):
        assert sum(r.slots for r in top_level_runners_info(app)) == 1
        outer = tasks_module.nested_add(2, 3)
        assert outer.result_or(TIMEOUT_S) == 5

    history = statuses(app, outer.invocation_id)
    assert history == [S.REGISTERED, S.PENDING, S.RUNNING, S.PAUSED, S.RUNNING, S.SUCCESS]


@pytest.mark.parametrize("runner_cls", list(TWO_SLOTS))
def test_recursive_fibonacci_completes_with_two_slots(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str
) -> None:
    app = tasks_module.app
    args = TWO_SLOTS[runner_cls]
    with runner_processes(
        app, shared_env, 1, "--runner-cls", runner_cls, *args, registrations_each=_registrations(runner_cls, args)
    ):
        assert sum(r.slots for r in top_level_runners_info(app)) == 2
        n, value, calls = fibonacci_case(app)
        root = tasks_module.fibonacci(n)
        assert root.result_or(TIMEOUT_S * 2) == value

    records, _ = app.state_backend.query(InvocationFilter(), limit=1000)
    assert len(records) == calls
    assert {r.status for r in records} == {S.SUCCESS}
    assert S.PAUSED in statuses(app, root.invocation_id)
    for record in records:
        assert pauses_resume_running(statuses(app, record.invocation_id)), record
