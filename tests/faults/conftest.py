"""Every fault that applies to a backend runs on it, MongoDB's wire server included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, skip_or_fail
from tests.support.mongo_server import MongoServer, secantus_binary


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def private_mongo() -> Iterator[MongoServer]:
    """A SecantusDB server of the test's own, on disk on a free port (restart and network faults)."""
    if secantus_binary() is None:
        skip_or_fail("secantusd-py is not installed", "pip install -e '.[test]'")
    server = MongoServer()
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        skip_or_fail(str(exc), "see services.md")
    yield server
    server.stop()
