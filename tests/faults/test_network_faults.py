"""Network faults between the app and Redis (and RabbitMQ), through a chaos proxy (loopback only): a 5 s
blackhole then a reset of every connection. Nothing is lost, nothing runs twice, the runners carry
on, and their log names the server without its password in a bounded number of lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pynenc_nb.records import new_id
from tests.conftest import cleanup_server, rabbitmq_url, require_service, skip_or_fail
from tests.faults.blackhole import blackhole_during_a_run
from tests.support.chaos_proxy import ChaosProxy
from tests.support.private_redis import PrivateRedis

pytestmark = pytest.mark.slow
PASSWORD = "chaos-pw-4471"
TASKS = 200


@pytest.fixture
def proxied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str], ChaosProxy]]:
    import shutil

    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed", "apt-get install -y redis-server")
    server = PrivateRedis(tmp_path, persistent=False, password=PASSWORD)
    server.start()
    proxy = ChaosProxy(server.port)
    env = {
        "PYNENC__APP_ID": f"test-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": proxy.url_for(server.url, server.port),
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
            server.kill()


def test_a_blackhole_then_a_reset_loses_nothing_and_runs_nothing_twice(
    proxied: tuple[Any, dict[str, str], ChaosProxy], tmp_path: Path
) -> None:
    module, env, proxy = proxied
    run = blackhole_during_a_run(
        module, env, proxy, tmp_path / "runner.log", tasks=TASKS, started_after=20, password=PASSWORD
    )
    assert f"Redis at redis://:***@127.0.0.1:{proxy.port}/0" in run.fault_text and "reconnecting" in run.fault_text
    print(
        f"network fault: work flowed again {run.flowing_after_s:.1f} s after the reset; 0 lost; "
        f"{run.reruns} re-runs after recovery; {run.fault_lines} log lines"
    )


@pytest.fixture
def proxied_rabbitmq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, dict[str, str], ChaosProxy]]:
    """A broker through the proxy in front of the shared RabbitMQ (only the proxy is faulted),
    the state in a SQLite file."""
    url = rabbitmq_url()
    require_service("rabbitmq-sqlite", url)
    target = urlsplit(url)
    proxy = ChaosProxy(target.port or 5672)
    env = {
        "PYNENC__APP_ID": f"test-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": f"sqlite://{tmp_path / 'state.db'}",
        "PYNENC__BROKER_URL": url.replace(f":{target.port}/", f":{proxy.port}/", 1),
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


def test_a_blackhole_then_a_reset_between_the_app_and_rabbitmq_loses_nothing(
    proxied_rabbitmq: tuple[Any, dict[str, str], ChaosProxy], tmp_path: Path
) -> None:
    module, env, proxy = proxied_rabbitmq
    password = urlsplit(env["PYNENC__BROKER_URL"]).password or ""
    run = blackhole_during_a_run(
        module, env, proxy, tmp_path / "runner.log", tasks=TASKS, started_after=20, password=f":{password}@"
    )
    assert f":***@127.0.0.1:{proxy.port}/" in run.fault_text
    print(
        f"rabbitmq network fault: work flowed again {run.flowing_after_s:.1f} s after the reset; 0 lost; "
        f"{run.reruns} re-runs after recovery; {run.fault_lines} log lines"
    )
