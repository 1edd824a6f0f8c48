"""Fixtures for the unit tests: a clean ``PYNENC__*`` environment and a throwaway memory app."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.records import new_id


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``PYNENC__*`` variable leaks in from the shell running the tests."""
    for name in list(os.environ):
        if name.startswith("PYNENC__"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def memory_app(clean_env: pytest.MonkeyPatch) -> Iterator[Pynenc]:
    """A memory app for tests that only define tasks (no backend parametrization needed)."""
    app = Pynenc(config_values={"app_id": f"unit-{new_id()[:8]}", "backend_url": "memory:", "logging_level": "warning"})
    yield app
    app.close()
