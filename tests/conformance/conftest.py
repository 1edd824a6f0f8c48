"""The ports of the test's app: every conformance test runs once per backend in ``BACKENDS``."""

from __future__ import annotations

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.ports import ArgCache, Broker, StateBackend, TriggerStore


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
