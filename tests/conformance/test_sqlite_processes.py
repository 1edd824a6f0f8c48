"""Several processes claiming the same invocations in one SQLite file: each is won exactly once.

SQLite only: the memory backend lives inside one process and cannot be shared.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from typing import Any

import pytest

from pynenc_nb import Pynenc
from tests.conformance.builders import NON_FINAL, S, record
from tests.support.oracle import history_errors

PROCESSES = 4
INVOCATIONS = 200


def _claim_all(
    app_id: str, backend_url: str, ids: list[str], start: multiprocessing.synchronize.Barrier, out: Any
) -> None:
    """Child process: claim every id as runner ``proc-<pid>``; report the ids it won."""
    app = Pynenc(config_values={"app_id": app_id, "backend_url": backend_url, "logging_level": "warning"})
    runner_id = f"proc-{multiprocessing.current_process().pid}"
    app.state_backend.get(ids[0])  # open the connection before the race starts
    start.wait(timeout=60)
    won = [i for i in ids if app.orchestrator.claim(i, runner_id) is not None]
    out.put((runner_id, won))
    app.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend_kind", ["sqlite"])
def test_processes_claiming_one_file_each_win_distinct_invocations(app: Pynenc) -> None:
    # Given 200 registered invocations in one SQLite file
    stored = app.state_backend.register([record() for _ in range(INVOCATIONS)], None, NON_FINAL)
    ids = [r.invocation_id for r in stored]
    # When four processes released together try to claim every one of them
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(PROCESSES), ctx.Queue()
    workers = [
        ctx.Process(target=_claim_all, args=(app.app_id, app.conf.backend_url, ids, start, out))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        results = dict(out.get(timeout=90) for _ in workers)
    finally:
        for worker in workers:
            worker.join(timeout=30)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    # Then every invocation was won by exactly one process, which owns it
    wins = [(invocation_id, runner) for runner, won in results.items() for invocation_id in won]
    assert sorted(i for i, _ in wins) == sorted(ids)
    records = app.state_backend.get_many(ids)
    assert all(records[i].status is S.PENDING and records[i].owner_id == runner for i, runner in wins)
    assert all(len(app.state_backend.history(i)) == 2 for i in ids)
    assert history_errors(app) == {}
