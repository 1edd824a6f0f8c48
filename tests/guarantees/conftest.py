"""The guarantees hold on every backend that runner processes can share: SQLite and Redis, and
RabbitMQ beside either of them."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS, RABBITMQ_BACKENDS, SHARED_BACKENDS


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[*SHARED_BACKENDS, *RABBITMQ_BACKENDS])
def shared_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
