"""A server backend that cannot be reached, or refuses the URL's credentials, at startup: a
``BackendConnectionError`` soon, with the password redacted, from Python and from the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import BackendConnectionError
from pynenc_nb.records import new_id
from tests.conftest import backend_url_for, require_service
from tests.support.processes import ROOT

SECRET = "pw-never-logged-7731"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed once the block ends: nothing listens there


def _first_use(backend_url: str, broker_url: str = "") -> tuple[BaseException, float]:
    app = Pynenc(
        config_values={
            "app_id": f"unreach-{new_id()[:8]}",
            "backend_url": backend_url,
            "broker_url": broker_url,
            "logging_level": "critical",
        }
    )

    @app.task
    def noop() -> None:
        return None

    started = time.monotonic()
    try:
        with pytest.raises(BackendConnectionError) as raised:
            noop()
        return raised.value, time.monotonic() - started
    finally:
        app.close()


def test_redis_that_nothing_listens_on(tmp_path: object) -> None:
    error, took = _first_use(f"redis://:{SECRET}@127.0.0.1:{_closed_port()}/0")
    assert took < 10
    assert SECRET not in str(error) and "***" in str(error)


def test_rabbitmq_that_refuses_the_credentials_fails_at_once(tmp_path: object) -> None:
    url = os.environ.get("PYNENC_NB_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    require_service("rabbitmq-sqlite", url)
    wrong = url.replace("guest:guest@", f"guest:{SECRET}@")
    error, took = _first_use(f"sqlite://{tmp_path}/state.db", wrong)
    assert took < 5, "wrong credentials are not retried for the reconnect timeout"
    assert "refused the credentials" in str(error)
    assert SECRET not in str(error)


def test_rabbitmq_that_nothing_listens_on(tmp_path: object) -> None:
    error, took = _first_use(f"sqlite://{tmp_path}/state.db", f"amqp://guest:{SECRET}@127.0.0.1:{_closed_port()}/%2F")
    assert took < 20
    assert SECRET not in str(error) and "unreachable" in str(error)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis://:{secret}@127.0.0.1:{port}/0", "cannot reach Redis"),
        ("mongodb://pynenc:{secret}@127.0.0.1:{port}/db?serverSelectionTimeoutMS=1000", "cannot reach MongoDB"),
    ],
    ids=["redis", "mongodb"],
)
def test_the_cli_exits_non_zero_with_the_redacted_message(url: str, says: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYNENC__APP_ID": f"unreach-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": url.format(secret=SECRET, port=_closed_port()),
        "PYNENC__LOGGING_LEVEL": "info",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pynenc_nb", "--app", "tests.support.tasks_app:app", "runner", "start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT),
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert says in output and "***" in output
    assert SECRET not in output


def test_mongodb_that_nothing_listens_on() -> None:
    error, took = _first_use(f"mongodb://pynenc:{SECRET}@127.0.0.1:{_closed_port()}/db?serverSelectionTimeoutMS=1000")
    assert took < 10
    assert SECRET not in str(error) and "pynenc:***@" in str(error) and "cannot reach MongoDB" in str(error)


def test_mongodb_that_refuses_the_credentials_fails_at_once(tmp_path: Path) -> None:
    url = backend_url_for("mongo", tmp_path)
    require_service("mongo", url)
    wrong = f"mongodb://nobody:{SECRET}@{urlsplit(url).netloc}/db?authSource=admin"
    error, took = _first_use(wrong)
    assert took < 5, "wrong credentials are not retried"
    assert "refused the credentials" in str(error) and "nobody:***@" in str(error)
    assert SECRET not in str(error)
