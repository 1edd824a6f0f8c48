"""Network faults between the app and MongoDB, through the chaos proxy (loopback only): a 5 s
blackhole then a reset of every connection, on a private SecantusDB server with a password. Nothing
is lost, nothing runs twice, the runner carries on, and its log names the server without the
password in a bounded number of lines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.records import InvocationFilter, new_id
from tests.conftest import cleanup_server, skip_or_fail
from tests.support.chaos_proxy import ChaosProxy
from tests.support.mongo_server import MongoServer, secantus_binary
from tests.support.processes import ROOT, poll

pytestmark = pytest.mark.slow
PASSWORD = "chaos-mongo-pw-5821"
TASKS = 100  # the wire server serves a few hundred commands a second: 100 tasks is a 10 s run
BLACKHOLE_S = 5.0


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str], ChaosProxy]]:
    if secantus_binary() is None:
        skip_or_fail("secantusd-py is not installed", "pip install -e '.[test]'")
    server = MongoServer()
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        skip_or_fail(str(exc), "see services.md")
    url = server.with_user("pynenc", PASSWORD)
    proxy = ChaosProxy(server.port)
    # directConnection: the server advertises its own port as the replica set's member, and the
    # driver would otherwise go there around the proxy
    env = {
        "PYNENC__APP_ID": f"test-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": proxy.url_for(url, server.port) + "&directConnection=true",
        "PYNENC__LOGGING_LEVEL": "info",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from tests.support import tasks_app

    module = tasks_app.load()
    try:
        yield module, env, proxy
    finally:
        proxy.pass_through()
        try:
            cleanup_server(module.app)
        finally:
            proxy.close()
            server.stop()


def test_a_blackhole_then_a_reset_loses_nothing_and_runs_nothing_twice(
    proxied: tuple[Any, dict[str, str], ChaosProxy], tmp_path: Path
) -> None:
    module, env, proxy = proxied
    app = module.app
    log_path = tmp_path / "runner.log"
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
        group = module.sleep_then.parallelize([(0.01, i) for i in range(TASKS)])
        poll(
            lambda: app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0) >= 10,
            timeout_s=30,
            message="the run to start",
        )
        lines_before = len(log_path.read_text().splitlines())
        # When the network drops everything for 5 s, then resets every connection
        proxy.blackhole()
        time.sleep(BLACKHOLE_S)
        proxy.reset()
        reset_at = time.monotonic()
        # Then the run completes: every invocation SUCCESS, none lost, each run once
        assert sorted(group.results) == list(range(TASKS))
        flowing_after_s = time.monotonic() - reset_at
        assert runner.poll() is None, "the runner survived the fault"
        assert module.add(1, 2).result_or(30) == 3
    finally:
        runner.terminate()
        runner.wait(30)
    records, _ = app.state_backend.query(InvocationFilter(task_id=module.sleep_then.task_id), limit=2 * TASKS)
    assert len(records) == TASKS and {r.status for r in records} == {InvocationStatus.SUCCESS}
    histories = app.state_backend.histories([r.invocation_id for r in records])
    for history in histories.values():
        assert [c.status for c in history].count(InvocationStatus.SUCCESS) == 1, history
    runs = sum([c.status for c in h].count(InvocationStatus.RUNNING) - 1 for h in histories.values())
    text = log_path.read_text()
    fault_lines = len(text.splitlines()) - lines_before
    assert PASSWORD not in text, "the password never reaches the log"
    assert fault_lines < 200, f"{fault_lines} log lines for one fault"
    fault_text = "\n".join(text.splitlines()[lines_before:])
    assert f"MongoDB at mongodb://pynenc:***@127.0.0.1:{proxy.port}/" in fault_text and "reconnecting" in fault_text
    print(
        f"mongo network fault: work flowed again {flowing_after_s:.1f} s after the reset; 0 lost; "
        f"{runs} re-runs after recovery; {fault_lines} log lines"
    )
