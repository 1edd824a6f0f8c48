"""Fixtures for the unit tests: a clean ``PYNENC__*`` environment and a throwaway memory app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_nb import Pynenc, PynencBuilder
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


@pytest.fixture
def builder(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[PynencBuilder]:
    """A builder in a fresh folder; every app it builds is closed after the test."""
    clean_env.chdir(tmp_path)
    built: list[Pynenc] = []
    b = PynencBuilder().app_id("built").logging_level("warning")
    original = b.build

    def build() -> Pynenc:
        app = original()
        built.append(app)
        return app

    b.build = build  # type: ignore[method-assign]
    yield b
    for app in built:
        app.close()
