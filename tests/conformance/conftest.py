"""The ports of the test's app: every conformance test runs once per backend in ``BACKENDS``.

A backend is done when it passes all of it. Every port operation is required except these, which
have a generic fallback that the suite runs on memory, SQLite and the broker-only double
(``memory-broker``): a backend's own ``register_and_send`` and ``work_source``
(``backends.bundle.CombinedBackend``, Redis) and ``atomic()`` grouping (a no-op where the
technology has no multi-operation transactions).
"""

from __future__ import annotations

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.ports import ArgCache, Broker, StateBackend, TriggerStore
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def state(app: Pynenc) -> StateBackend:
    return app.state_backend


@pytest.fixture
def broker(app: Pynenc) -> Broker:
    return app.broker


@pytest.fixture
def trigger_store(app: Pynenc) -> TriggerStore:
    return app.trigger_store


@pytest.fixture
def arg_cache(app: Pynenc) -> ArgCache:
    return app.arg_cache
