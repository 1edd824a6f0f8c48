"""A real Jupyter server (pytest-jupyter) with our extension, and a SQLite app with real invocations.

pytest only honours ``pytest_plugins`` in the root conftest; importing the plugin's fixtures and
hooks here keeps them (and its coroutine-test runner) to this folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

from pynenc_nb import Pynenc, RetryError
from pynenc_nb.app_registry import public_key
from pynenc_nb.records import new_id
from tests.support.oracle import assert_histories_valid
from tests.unit.runner_support import running

TIMEOUT_S = 60.0
SECRET = "s3cret-pw"


class Opaque:
    """Not JSON-native: its argument is stored as a pickle, which must never reach a browser."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return f"Opaque({self.label})"


@dataclass
class Workload:
    app: Pynenc
    key: str
    ids: list[str]  # every invocation
    outer: str
    inner: str
    failed: str
    opaque: str


@pytest.fixture
def registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "registry" / "apps.json"
    monkeypatch.setenv("PYNENC_NB_APP_REGISTRY", str(path))
    return path


@pytest.fixture
def jp_root_dir(tmp_path: Path) -> Path:
    """The server's root is the test's folder: the apps the tests make there are the ones it lists."""
    return tmp_path


@pytest.fixture
def jp_server_config(registry_file: Path) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"pynenc_nb.jupyter_server": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "PynencMonitorApp": {"registry_path": str(registry_file)},
        }
    )


@pytest.fixture
def workload(tmp_path: Path, registry_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workload]:
    """A SQLite app in ``tmp_path`` (recorded in the registry when it opens its backend) whose
    invocations ran on a ThreadRunner that is still running during the test."""
    monkeypatch.chdir(tmp_path)  # the app's working dir: its .pynenc/runners.json lives there
    url = f"sqlite://{tmp_path / 'pynenc.db'}"
    app = Pynenc(config_values={"app_id": f"web-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})
    attempts: list[int] = []

    @app.task
    def add(a: int, b: int) -> int:
        return a + b

    @app.task
    def outer(x: int) -> int:
        return add(x, 1).result + 1

    @app.task
    def boom(x: int) -> int:
        raise ValueError(f"boom {x} at redis://user:{SECRET}@db.example:6379/0")

    @app.task(max_retries=2)
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 2:
            raise RetryError("first attempt fails")
        return x

    @app.task
    def show(value: Opaque) -> str:
        return value.label

    try:
        with running(app, max_threads=2):
            sums = [add(i, i) for i in range(20)]
            o, b, f, s = outer(1), boom(2), flaky(3), show(Opaque("hidden"))
            assert [inv.result_or(TIMEOUT_S) for inv in sums] == [2 * i for i in range(20)]
            assert o.result_or(TIMEOUT_S) == 3 and f.result_or(TIMEOUT_S) == 3 and s.result_or(TIMEOUT_S) == "hidden"
            assert b.wait(TIMEOUT_S).value == "FAILED"
            records, _ = app.state_backend.query(_children_of(o.invocation_id))
            ids = [inv.invocation_id for inv in [*sums, o, b, f, s]] + [r.invocation_id for r in records]
            yield Workload(
                app,
                public_key(app.app_id, url),
                ids,
                o.invocation_id,
                records[0].invocation_id,
                b.invocation_id,
                s.invocation_id,
            )
        assert_histories_valid(app)
    finally:
        app.close()


def _children_of(parent: str) -> Any:
    from pynenc_nb.records import InvocationFilter

    return InvocationFilter(parent_invocation_id=parent)


def body(response: Any) -> Any:
    return json.loads(response.body.decode())
