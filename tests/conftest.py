"""Shared fixtures: one backend parameter for the whole suite, and the history oracle after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.records import new_id
from tests.support.oracle import assert_histories_valid

# Backends every conformance test runs on. Server backends join this list as they land.
BACKENDS = ["memory", "sqlite"]
SHARED_BACKENDS = ["sqlite"]  # usable by runners in other processes


def backend_url_for(kind: str, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory:"
    if kind == "sqlite":
        return f"sqlite://{tmp_path / 'pynenc.db'}"
    raise ValueError(kind)


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_url(backend_kind: str, tmp_path: Path) -> str:
    return backend_url_for(backend_kind, tmp_path)


@pytest.fixture
def make_app(backend_url: str) -> Iterator[Callable[..., Pynenc]]:
    """Build apps on the test's backend; their histories are checked by the oracle afterwards."""
    apps: list[Pynenc] = []

    def factory(**values: Any) -> Pynenc:
        values.setdefault("app_id", f"test-{new_id()[:8]}")
        values.setdefault("backend_url", backend_url)
        values.setdefault("logging_level", "warning")
        app = Pynenc(config_values=values)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        try:
            assert_histories_valid(app)
        finally:
            app.close()


@pytest.fixture
def app(make_app: Callable[..., Pynenc]) -> Pynenc:
    return make_app()


@pytest.fixture
def shared_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``PYNENC__*`` settings for an app shared with runner processes (a SQLite file per test)."""
    env = {
        "PYNENC__APP_ID": f"test-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": f"sqlite://{tmp_path / 'shared.db'}",
        "PYNENC__LOGGING_LEVEL": "warning",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def tasks_module(shared_env: dict[str, str]) -> Iterator[Any]:
    """``tests.support.tasks_app`` rebuilt on the test's shared SQLite file; oracle-checked after."""
    from tests.support import tasks_app

    module = tasks_app.load()
    yield module
    try:
        assert_histories_valid(module.app)
    finally:
        module.app.close()
