"""The MongoDB backend's retry paths, driven by its fault hook: a lost connection before an
operation is retried with back-off; a reply lost after the server applied a write is recognised on
the next attempt, so nothing is applied twice or reported as a conflict with itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo.errors import AutoReconnect, NetworkTimeout

from pynenc_nb.backends import open_backend
from pynenc_nb.backends.mongo import MongoBackend, connection
from pynenc_nb.exceptions import BackendUnavailableError
from pynenc_nb.records import TriggerRun, new_id
from tests.conformance.builders import NON_FINAL, S, cas, record
from tests.conftest import backend_url_for, require_service


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[MongoBackend]:
    url = backend_url_for("mongo", tmp_path)
    require_service("mongo", url)
    opened = open_backend(url, f"test-{new_id()[:8]}")
    assert isinstance(opened, MongoBackend)
    yield opened
    opened.conn.fault_hook = None
    opened.drop()
    opened.close()


def inject(backend: MongoBackend, operation: str, phase: str, error: type[Exception], times: int = 1) -> list[str]:
    """Raise ``error`` at ``phase`` ("before" | "after") of the next ``times`` attempts of ``operation``."""
    seen: list[str] = []
    left = [times]

    def hook(op: str, at: str) -> None:
        if op == operation and at == phase and left[0] > 0:
            left[0] -= 1
            seen.append(f"{op}:{at}")
            raise error(f"injected {error.__name__}")

    backend.conn.fault_hook = hook
    return seen


@pytest.mark.parametrize("error", [AutoReconnect, NetworkTimeout])
def test_a_connection_lost_before_a_transition_is_retried(backend: MongoBackend, error: type[Exception]) -> None:
    state = backend.state()
    (stored,) = state.register([record()], "caller", NON_FINAL)
    seen = inject(backend, "transition", "before", error, times=2)
    result = state.transition(cas(stored.invocation_id, S.PENDING, "r1"))
    assert result.applied and seen == ["transition:before", "transition:before"]
    assert [c.status for c in state.history(stored.invocation_id)] == [S.REGISTERED, S.PENDING]


def test_a_transition_whose_reply_was_lost_is_reported_applied_once(backend: MongoBackend) -> None:
    state = backend.state()
    (stored,) = state.register([record()], "caller", NON_FINAL)
    start = state.change_cursor()
    seen = inject(backend, "transition", "after", AutoReconnect)
    result = state.transition(cas(stored.invocation_id, S.PENDING, "r1"))
    assert seen and result.applied and result.record.status is S.PENDING and result.record.owner_id == "r1"
    assert [c.status for c in state.history(stored.invocation_id)] == [S.REGISTERED, S.PENDING]
    changes, _ = state.changes_since(start)
    assert [(c.invocation_id, c.status) for c in changes] == [(stored.invocation_id, S.PENDING)]


def test_a_registration_whose_reply_was_lost_is_stored_once_and_reported_new(backend: MongoBackend) -> None:
    state = backend.state()
    seen = inject(backend, "register", "after", AutoReconnect)
    flags: list[bool] = []
    (stored,) = state.register([record()], "caller", NON_FINAL, stored=flags)
    assert seen and flags == [True]  # new: the caller sends it on
    assert [c.status for c in state.history(stored.invocation_id)] == [S.REGISTERED]


def test_a_take_whose_reply_was_lost_hands_out_the_message_it_took(backend: MongoBackend) -> None:
    broker = backend.broker()
    broker.send_many([("q", "a", 0), ("q", "b", 0)])
    seen = inject(backend, "receive", "after", NetworkTimeout)
    delivery = broker.receive(["q"], "c1", 0)
    assert seen and delivery is not None and delivery.invocation_id == "a"
    broker.ack(delivery)
    assert broker.depth("q") == 1 and broker.requeue_consumer("c1") == 0  # nothing left in flight


def test_a_trigger_run_whose_reply_was_lost_is_still_this_caller_s_claim(backend: MongoBackend) -> None:
    store = backend.trigger_store()
    run = TriggerRun("run-1", "t1", "tests.add", "event", "e1", "inv-1", 1.0)
    seen = inject(backend, "add_trigger_runs", "after", AutoReconnect)
    assert store.add_trigger_runs([run]) == [True] and seen
    assert store.add_trigger_runs([run]) == [False]


def test_a_server_gone_for_longer_than_the_retry_window_raises_unavailable(
    backend: MongoBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "RETRY_FOR_S", 0.3)
    inject(backend, "get", "before", AutoReconnect, times=1000)
    with pytest.raises(BackendUnavailableError, match="unreachable") as raised:
        backend.state().get("anything")
    assert raised.value.url == backend.url


def test_other_driver_errors_are_backend_errors_with_the_url_redacted(backend: MongoBackend) -> None:
    from pymongo.errors import OperationFailure

    from pynenc_nb.exceptions import BackendError

    inject(backend, "kv_get", "before", OperationFailure)
    with pytest.raises(BackendError, match="failed during kv_get"):
        backend.state().kv_get("ns", "k")
