"""Network faults between the app and MongoDB, through the chaos proxy (loopback only): a 5 s
blackhole then a reset of every connection, on a private SecantusDB server with a password. Nothing
is lost, nothing runs twice, the runner carries on, and its log names the server without the
password in a bounded number of lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb.records import new_id
from tests.conftest import cleanup_server
from tests.faults.blackhole import blackhole_during_a_run
from tests.support.chaos_proxy import ChaosProxy
from tests.support.mongo_server import MongoServer

pytestmark = pytest.mark.slow
PASSWORD = "chaos-mongo-pw-5821"
TASKS = 100  # the wire server serves a few hundred commands a second: 100 tasks is a 10 s run


@pytest.fixture
def proxied(
    private_mongo: MongoServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, dict[str, str], ChaosProxy]]:
    server = private_mongo
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


def test_a_blackhole_then_a_reset_loses_nothing_and_runs_nothing_twice(
    proxied: tuple[Any, dict[str, str], ChaosProxy], tmp_path: Path
) -> None:
    module, env, proxy = proxied
    run = blackhole_during_a_run(
        module, env, proxy, tmp_path / "runner.log", tasks=TASKS, started_after=10, password=PASSWORD
    )
    assert f"MongoDB at mongodb://pynenc:***@127.0.0.1:{proxy.port}/" in run.fault_text
    assert "reconnecting" in run.fault_text
    print(
        f"mongo network fault: the rest of the run done {run.flowing_after_s:.1f} s after the reset; 0 lost; "
        f"{run.reruns} re-runs after recovery; {run.fault_lines} log lines"
    )
