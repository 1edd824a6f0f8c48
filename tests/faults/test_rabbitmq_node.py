"""RabbitMQ faults on a private node started by the test on free ports (never the shared server).

The node keeps durable queues' persistent messages across ``kill -9``; runners and callers
reconnect with backoff. State lives in a SQLite file, so only the broker is hurt.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.records import InvocationFilter, new_id
from tests.conftest import cleanup_server, skip_or_fail
from tests.faults.conftest import MODULE_SERVERS
from tests.guarantees.support import runner_processes
from tests.support.ports import restartable_port

pytestmark = pytest.mark.slow
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
TASKS = 500


class PrivateNode:
    """One RabbitMQ node in ``base``, on loopback ports of its own."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port, dist = restartable_port(), restartable_port()
        self.name = f"t{self.port}@localhost"
        for folder in ("home", "mnesia", "log"):
            (base / folder).mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (base / "rabbitmq-env.conf").write_text("")
        (base / "enabled_plugins").write_text("[].\n")
        self.env = {
            **os.environ,
            "HOME": str(base / "home"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(dist),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "node.pid"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def ctl(self, *args: str, timeout_s: float = 120) -> str:
        done = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> None:
        with open(self.base / "server.out", "ab") as out:
            subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")], env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        self.ctl("wait", "--timeout", "90", str(self.base / "node.pid"))

    def pid(self) -> int:
        return int((self.base / "node.pid").read_text().strip())

    def kill(self) -> None:
        os.kill(self.pid(), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid(), 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def connections(self) -> list[str]:
        return [
            line.split()[0]
            for line in self.ctl("-q", "list_connections", "--no-table-headers", "pid").splitlines()
            if line.strip()
        ]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateNode]:
    if not (RABBITMQ_BIN / "rabbitmq-server").exists() or shutil.which("erl") is None:
        skip_or_fail("rabbitmq-server is not installed", "apt-get install -y rabbitmq-server")
    base = tmp_path_factory.mktemp("rabbitmq-node")
    MODULE_SERVERS.add(str(base))  # restarted by its tests, stopped at the module's end
    private = PrivateNode(base)
    private.start()
    try:
        yield private
    finally:
        try:
            private.ctl("stop", timeout_s=60)
        except Exception:
            private.kill()


@pytest.fixture
def private_env(node: PrivateNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "PYNENC__APP_ID": f"test-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": f"sqlite://{tmp_path / 'shared.db'}",
        "PYNENC__BROKER_URL": f"{node.url}?reconnect_timeout_s=120",
        "PYNENC__LOGGING_LEVEL": "error",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def tasks(private_env: dict[str, str]) -> Iterator[Any]:
    from tests.support import tasks_app

    module = tasks_app.load()
    yield module
    cleanup_server(module.app)


def _all_succeeded_once(app: Any, invocations: list[Any]) -> None:
    records, _ = app.state_backend.query(InvocationFilter(), limit=10 * TASKS)
    assert {r.status for r in records} == {InvocationStatus.SUCCESS}
    for invocation in invocations:
        history = [c.status for c in app.state_backend.history(invocation.invocation_id)]
        assert history.count(InvocationStatus.SUCCESS) == 1
        assert history.count(InvocationStatus.RUNNING) == 1 + history.count(InvocationStatus.RUNNING_RECOVERY)


def test_a_node_killed_and_restarted_mid_run_loses_no_invocation(
    node: PrivateNode, tasks: Any, private_env: dict[str, str]
) -> None:
    app = tasks.app
    with runner_processes(app, private_env, 1, "--runner-cls", "MultiThreadRunner", "--max-threads", "2"):
        # Given a 500-task run under way
        group = tasks.sleep_then.parallelize([(0.005, i) for i in range(TASKS)])
        deadline = time.monotonic() + 60
        while app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0) < 50:
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        # When the node is killed with SIGKILL and started again
        done_before = app.state_backend.count_by_status().get(InvocationStatus.SUCCESS, 0)
        killed_at = time.monotonic()
        node.kill()
        node.start()
        up_after_s = time.monotonic() - killed_at
        # Then every invocation ends SUCCESS, exactly once, none lost
        assert sorted(group.results) == list(range(TASKS))
        done_after_s = time.monotonic() - killed_at
    _all_succeeded_once(app, list(group))
    print(
        f"rabbitmq node restart: {done_before}/{TASKS} done at the kill; node up {up_after_s:.1f} s after it, "
        f"all done {done_after_s:.1f} s after it"
    )


def test_a_runner_whose_connection_is_closed_reconnects_and_carries_on(
    node: PrivateNode, tasks: Any, private_env: dict[str, str]
) -> None:
    app = tasks.app
    with runner_processes(app, private_env, 1):
        first = tasks.add(1, 2)
        assert first.result_or(30) == 3
        # When the server closes every client connection (the runner's among them) mid-run
        group = tasks.sleep_then.parallelize([(0.01, i) for i in range(100)])
        closed = node.connections()
        assert closed
        for pid in closed:
            node.ctl("close_connection", pid, "closed by the fault test")
        # Then the runner reconnects and finishes the run, and later calls too
        assert sorted(group.results) == list(range(100))
        assert tasks.add(2, 3).result_or(30) == 5
        assert set(node.connections()).isdisjoint(closed)
    _all_succeeded_once(app, [first, *group])
