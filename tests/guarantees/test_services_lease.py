"""One services holder at a time among many runner processes; a killed holder is replaced.

Each services tick writes ``kv("services", <holder runner id>) = {"at": <tick time>, ...}``: the
holder is the runner whose entry advances.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.services import LEASE
from tests.guarantees.support import TIMEOUT_S, runner_context, runner_processes, statuses, top_level_runners
from tests.support.processes import poll

S = InvocationStatus
pytestmark = pytest.mark.slow


def _ticks(app: Pynenc) -> dict[str, float]:
    """Holder runner id -> time of its last services tick."""
    ticks = {}
    for holder in app.state_backend.kv_keys(LEASE):
        stored = app.state_backend.kv_get(LEASE, holder)
        if stored is not None:
            ticks[holder] = float(json.loads(stored)["at"])
    return ticks


def _advancing(app: Pynenc, window_s: float) -> dict[str, int]:
    """Watch the ticks for ``window_s`` seconds: holder -> how many new ticks it wrote meanwhile."""
    last = _ticks(app)
    advanced: dict[str, int] = {}
    end = time.monotonic() + window_s
    while time.monotonic() < end:
        now = _ticks(app)
        for holder, at in now.items():
            if at > last.get(holder, float("-inf")):
                advanced[holder] = advanced.get(holder, 0) + 1
        last = now
        time.sleep(0.02)
    return advanced


def test_one_holder_at_a_time_and_a_killed_holder_is_replaced(
    tasks_module: Any, shared_env: dict[str, str], tmp_path: Path
) -> None:
    app = tasks_module.app
    env = {
        **shared_env,
        "PYNENC__SERVICES_INTERVAL_S": "0.1",
        "PYNENC__RUNNER_HEARTBEAT_INTERVAL_S": "0.2",
        "PYNENC__RUNNER_DEAD_AFTER_S": "1",
    }
    release = tmp_path / "release"
    runner_args = ("--runner-cls", "ThreadRunner", "--max-threads", "1")
    # Given a first runner, alone, so it holds the lease, running a long task
    with runner_processes(app, env, 1, *runner_args) as (first_process,):
        (first_id,) = top_level_runners(app)
        poll(lambda: first_id in _ticks(app), timeout_s=TIMEOUT_S, message="the first runner to tick")
        long_task = tasks_module.until_file_exists(str(release), 3)
        poll(lambda: long_task.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the long task to start")
        assert long_task.record.owner_id == first_id
        # And three more runner processes on the same SQLite file
        with runner_processes(app, env, 3, *runner_args):
            others = set(top_level_runners(app)) - {first_id}
            assert len(others) == 3
            # Then over a window only one holder's tick advances: the first runner's
            advanced = _advancing(app, 2.0)
            assert set(advanced) == {first_id}, advanced
            assert advanced[first_id] >= 5, "the holder ticks every services_interval_s"

            # When the holder is killed
            killed_at = time.time()
            first_process.send_signal(signal.SIGKILL)
            first_process.wait(TIMEOUT_S)
            release.touch()
            assert runner_context(app, first_id).pid == first_process.pid

            # Then another runner takes the lease over and ticks
            def new_holder() -> str | None:
                fresh = [h for h, at in _ticks(app).items() if h != first_id and at > killed_at]
                return fresh[0] if fresh else None

            successor = poll(new_holder, timeout_s=TIMEOUT_S, message="another runner to take the services lease")
            assert successor in others
            # And still one at a time
            advanced = _advancing(app, 1.0)
            assert set(advanced) == {successor}, advanced
            # And recovery works: the task of the killed holder runs again elsewhere and succeeds
            assert long_task.result_or(TIMEOUT_S) == 3

    history = long_task.history()
    assert [c.status for c in history] == statuses(app, long_task.invocation_id)
    assert S.RUNNING_RECOVERY in statuses(app, long_task.invocation_id)
    reruns = [c for c in history if c.status is S.RUNNING and c.at > killed_at]
    assert len(reruns) == 1 and reruns[0].owner_id in others
