"""The monitor reads Redis and MongoDB through the same ports as SQLite: every view answers for a
real workload, counts add up and pages cover each invocation once (the rest of the monitor suite
runs on memory and SQLite)."""

from __future__ import annotations

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.monitor import Monitor
from pynenc_nb.records import InvocationFilter
from tests.monitor.conftest import Workload


@pytest.fixture(params=["redis", "mongo"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_view_answers_on_a_server_backend(app: Pynenc, workload: Workload) -> None:
    monitor = Monitor(app)
    stored, _ = app.state_backend.query(InvocationFilter(), limit=100)
    ids = {r.invocation_id for r in stored}
    # The timeline holds every invocation, with its segments
    timeline = monitor.timeline(None, None)
    assert {i.invocation_id for i in timeline.invocations} == ids
    assert set(timeline.segments.invocation_id) == ids
    # Counts by status and by task add up to what is stored
    counts = monitor.status_counts()
    assert counts["FAILED"] == 1 and sum(counts.values()) == len(ids)
    by_task = {t.task_id.rsplit(".", 1)[-1]: t for t in monitor.tasks()}
    assert by_task["boom"].counts is not None and by_task["boom"].counts["FAILED"] == 1
    assert sum(sum((t.counts or {}).values()) for t in by_task.values()) == len(ids)
    # The tree and the detail see the nested call and the failure
    tree = monitor.family_tree(workload.outer)
    assert workload.inner in {n.invocation_id for n in tree.nodes}
    assert monitor.invocation_detail(workload.failed).exception is not None
    # Pages of two cover every invocation exactly once
    seen: list[str] = []
    cursor = None
    while True:
        page = monitor.invocations(limit=2, cursor=cursor)
        seen.extend(r.invocation_id for r in page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
