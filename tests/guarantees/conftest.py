"""The guarantees hold on every backend that runner processes can share: SQLite and Redis."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_BACKENDS


@pytest.fixture(params=SHARED_BACKENDS)
def shared_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
