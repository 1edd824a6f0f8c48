"""MongoDB restarts on a private SecantusDB server started by the test on a free port, on disk:
killed with SIGKILL and started again during a 300-task run, it loses nothing, and the runner and
the caller reconnect with back-off (``Connection.run``) and their change streams reopen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.records import InvocationFilter, new_id
from tests.conftest import cleanup_server
from tests.guarantees.support import runner_processes
from tests.support.mongo_server import MongoServer

pytestmark = pytest.mark.slow
TASKS = 300


@pytest.fixture
def server(private_mongo: MongoServer) -> MongoServer:
    return private_mongo


@pytest.fixture
def tasks(server: MongoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str]]]:
    env = {
        "PYNENC__APP_ID": f"test-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": server.url,
        "PYNENC__LOGGING_LEVEL": "error",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from tests.support import tasks_app

    module = tasks_app.load()
    yield module, env
    if server.process is not None and server.process.poll() is None:
        cleanup_server(module.app)


def _done(app: Any) -> int:
    return int(app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0))


def test_mongo_killed_and_restarted_during_a_run_loses_no_invocation(
    server: MongoServer, tasks: tuple[Any, dict[str, str]]
) -> None:
    module, env = tasks
    app = module.app
    with runner_processes(app, env, 1, "--runner-cls", "MultiThreadRunner", "--max-threads", "2"):
        # Given a 300-task run under way
        group = module.sleep_then.parallelize([(0.01, i) for i in range(TASKS)])
        deadline = time.monotonic() + 60
        while _done(app) < 30:
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        # When the server is killed with SIGKILL and started again from its files a second later
        done_before = _done(app)
        server.kill()
        down_at = time.monotonic()
        time.sleep(1.0)
        server.start()
        # Then every invocation ends SUCCESS exactly once, none lost, and the caller got them all
        assert sorted(group.results) == list(range(TASKS))
        flowing_after_s = time.monotonic() - down_at
    assert done_before < TASKS, "the kill came after the run: it proves nothing"
    records, _ = app.state_backend.query(InvocationFilter(), limit=10 * TASKS)
    assert len(records) == TASKS and {r.status for r in records} == {InvocationStatus.SUCCESS}
    histories = app.state_backend.histories([r.invocation_id for r in records])
    for history in histories.values():
        assert [c.status for c in history].count(InvocationStatus.SUCCESS) == 1, history
    print(f"mongo restart: {done_before}/{TASKS} done at the kill; all done {flowing_after_s:.1f} s after it")
