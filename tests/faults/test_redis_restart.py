"""Redis restarts on a private ``redis-server`` started by the test on a free port (never the
shared :6379): with an append-only file written on every command, a SIGKILL and a restart during a
500-task run lose nothing, and runners and callers reconnect with backoff."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.exceptions import InvocationTimeoutError
from pynenc_nb.records import InvocationFilter, new_id
from tests.conftest import cleanup_server, skip_or_fail
from tests.guarantees.support import runner_processes
from tests.support.private_redis import PrivateRedis

pytestmark = pytest.mark.slow
TASKS = 500


def _server(tmp_path: Path, persistent: bool) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed", "apt-get install -y redis-server")
    server = PrivateRedis(tmp_path, persistent=persistent)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.kill()


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    yield from _server(tmp_path, persistent=True)


@pytest.fixture
def volatile_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    yield from _server(tmp_path, persistent=False)


def _tasks_on(server: PrivateRedis, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str]]]:
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


@pytest.fixture
def tasks(persistent_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str]]]:
    yield from _tasks_on(persistent_redis, monkeypatch)


@pytest.fixture
def volatile_tasks(
    volatile_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, dict[str, str]]]:
    yield from _tasks_on(volatile_redis, monkeypatch)


def test_redis_killed_and_restarted_with_its_append_only_file_loses_no_invocation(
    persistent_redis: PrivateRedis, tasks: tuple[Any, dict[str, str]]
) -> None:
    redis_server = persistent_redis
    module, env = tasks
    app = module.app
    with runner_processes(app, env, 1, "--runner-cls", "MultiThreadRunner", "--max-threads", "2"):
        # Given a 500-task run under way
        group = module.sleep_then.parallelize([(0.01, i) for i in range(TASKS)])
        deadline = time.monotonic() + 60
        while app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0) < 50:
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        # When Redis is killed with SIGKILL and started again from its files
        done_before = app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0)
        redis_server.kill()
        down_at = time.monotonic()
        time.sleep(1.0)
        redis_server.start()
        # Then every invocation ends SUCCESS exactly once, none lost, and the caller got them all
        results: list[int] = []
        try:
            results.extend(group.iter_results(timeout=60.0))
        except InvocationTimeoutError:
            pass  # reported below with what is missing
        assert sorted(results) == list(range(TASKS)), _unfinished(app, group)
        flowing_after_s = time.monotonic() - down_at
    assert done_before < TASKS, "the kill came after the run: it proves nothing"
    records, _ = app.state_backend.query(InvocationFilter(), limit=10 * TASKS)
    assert len(records) == TASKS and {r.status for r in records} == {InvocationStatus.SUCCESS}
    for invocation in group:
        history = [c.status for c in app.state_backend.history(invocation.invocation_id)]
        assert history.count(InvocationStatus.SUCCESS) == 1, history
    print(f"redis restart: {done_before}/{TASKS} done at the kill; all done {flowing_after_s:.1f} s after it")


def _unfinished(app: Any, group: Any) -> str:
    """What a caller still waiting is waiting for: the store's counts and unfinished histories."""
    lines = [f"counts: {app.state_backend.count_by_status()}"]
    for invocation in group:
        history = app.state_backend.history(invocation.invocation_id)
        if not history or not history[-1].status.is_final:
            lines.append(f"{invocation.invocation_id}: {[(c.status.name, c.runner_id) for c in history]}")
    return "\n".join(lines[:20])


def test_redis_restarted_without_persistence_lost_work_is_reported_and_runners_keep_serving(
    volatile_redis: PrivateRedis, volatile_tasks: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server = volatile_redis
    from pynenc_nb import waiting
    from pynenc_nb.exceptions import InvocationNotFoundError

    monkeypatch.setattr(waiting, "VANISHED_CHECK_S", 1.0)
    module, env = volatile_tasks
    app = module.app
    with runner_processes(app, env, 1, "--runner-cls", "ThreadRunner", "--max-threads", "2"):
        # Given a run under way on a Redis that keeps nothing on disk
        group = module.sleep_then.parallelize([(0.05, i) for i in range(200)])
        deadline = time.monotonic() + 60
        while app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0) < 5:
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        # When it is killed and started again empty
        redis_server.kill()
        redis_server.start()
        # Then the caller is told the work is gone instead of waiting forever
        started = time.monotonic()
        with pytest.raises(InvocationNotFoundError, match="no longer exists"):
            list(group.iter_results(timeout=60))
        assert time.monotonic() - started < 30
        # and the runner reconnected and serves new calls
        assert module.add(2, 3).result_or(60) == 5
