"""The network-fault scenario shared by the server backends: a runner process through the chaos
proxy, a run under way, a blackhole of ``BLACKHOLE_S`` then a reset of every connection; and what
every backend must show after it (nothing lost, nothing run twice, the password never logged, a
bounded number of log lines)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pynenc_nb import InvocationStatus
from pynenc_nb.records import InvocationFilter
from tests.support.chaos_proxy import ChaosProxy
from tests.support.processes import ROOT, poll

BLACKHOLE_S = 5.0
MAX_FAULT_LINES = 200


@dataclass
class FaultRun:
    flowing_after_s: float  # from the reset to every result collected
    reruns: int  # RUNNING spells beyond one per invocation (recoveries after the fault)
    fault_lines: int
    fault_text: str  # the runner's log from the blackhole on


def blackhole_during_a_run(
    module: Any,
    env: dict[str, str],
    proxy: ChaosProxy,
    log_path: Path,
    *,
    tasks: int,
    started_after: int,
    password: str,
) -> FaultRun:
    app = module.app
    with open(log_path, "w") as log:
        runner = subprocess.Popen(
            [sys.executable, "-m", "pynenc_nb", "--app", "tests.support.tasks_app:app", "runner", "start",
             "--runner-cls", "ThreadRunner", "--max-threads", "2"],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            cwd=str(ROOT),
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        poll(lambda: any(r.state == "running" for r in app.state_backend.runners()), timeout_s=30, message="runner up")
        # Given a run under way through the proxy
        group = module.sleep_then.parallelize([(0.01, i) for i in range(tasks)])
        poll(
            lambda: app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0) >= started_after,
            timeout_s=30,
            message="the run to start",
        )
        lines_before = len(log_path.read_text().splitlines())
        # When the network drops everything for a while, then resets every connection
        proxy.blackhole()
        time.sleep(BLACKHOLE_S)
        proxy.reset()
        reset_at = time.monotonic()
        # Then the run completes: every invocation SUCCESS, none lost, each run once
        assert sorted(group.results) == list(range(tasks))
        flowing_after_s = time.monotonic() - reset_at
        assert runner.poll() is None, "the runner survived the fault"
        assert module.add(1, 2).result_or(30) == 3
    finally:
        runner.terminate()
        runner.wait(30)
    records, _ = app.state_backend.query(InvocationFilter(task_id=module.sleep_then.task_id), limit=2 * tasks)
    assert len(records) == tasks and {r.status for r in records} == {InvocationStatus.SUCCESS}
    histories = app.state_backend.histories([r.invocation_id for r in records])
    for history in histories.values():
        assert [c.status for c in history].count(InvocationStatus.SUCCESS) == 1, history
    reruns = sum([c.status for c in h].count(InvocationStatus.RUNNING) - 1 for h in histories.values())
    text = log_path.read_text()
    lines = text.splitlines()
    assert password not in text, "the password never reaches the log"
    assert len(lines) - lines_before < MAX_FAULT_LINES, f"{len(lines) - lines_before} log lines for one fault"
    return FaultRun(flowing_after_s, reruns, len(lines) - lines_before, "\n".join(lines[lines_before:]))
