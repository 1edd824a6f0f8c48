"""What only the RabbitMQ broker does: confirms read after a send returns (what was refused or
left unconfirmed by a lost connection goes again), and with Redis state a delivery claimed and
started in one script. The shared suites cover the ports; these need the RabbitMQ server (and
Redis for the last), skipped locally without them and failing under PYNENC_NB_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.records import new_id
from tests.conftest import backend_url_for, broker_url_for, cleanup_server, require_service


@pytest.fixture
def make_rabbit_app(tmp_path: Path) -> Iterator[Callable[[str], Pynenc]]:
    made: list[Pynenc] = []

    def factory(kind: str) -> Pynenc:
        backend_url = backend_url_for(kind, tmp_path)
        require_service(kind, backend_url)
        app = Pynenc(
            config_values={
                "app_id": f"test-{new_id()[:8]}",
                "backend_url": backend_url,
                "broker_url": broker_url_for(kind, tmp_path),
                "logging_level": "error",
            }
        )
        made.append(app)
        return app

    yield factory
    for app in made:
        cleanup_server(app)


def _confirm(tag: int, *, nack: bool) -> Any:
    """A confirm frame as pika hands it over (only the fields the session reads)."""
    import pika

    method = pika.spec.Basic.Nack(delivery_tag=tag) if nack else pika.spec.Basic.Ack(delivery_tag=tag)
    return SimpleNamespace(method=method)


def _sent(make_rabbit_app: Callable[[str], Pynenc]) -> tuple[Any, Any]:
    """A broker that has just sent one message, and its thread's session (the confirm not read)."""
    broker: Any = make_rabbit_app("rabbitmq-sqlite").broker
    broker.send("default", "inv-1")
    session = broker.conns.current()
    assert [message[1] for message in session.unconfirmed.values()] == [b"inv-1"]
    return broker, session


def _refuse(session: Any) -> None:
    """What the session does when the server nacks its one outstanding message."""
    (tag,) = session.unconfirmed
    session._on_confirm(_confirm(tag, nack=True))


def test_a_send_returns_before_its_confirm_and_a_refused_message_goes_again(
    make_rabbit_app: Callable[[str], Pynenc],
) -> None:
    # Given a message sent: the send returned with its confirm still outstanding
    broker, session = _sent(make_rabbit_app)
    # When the server refuses it (a nack read before its real confirm)
    _refuse(session)
    assert session.refused and not session.unconfirmed
    # Then it is published again, confirmed, before the queue is counted (the original, which the
    # server actually kept, is there too: a duplicate is dropped by the claim)
    assert broker.depth("default") == 2
    assert not session.unconfirmed and not session.refused


def test_a_refusal_read_during_a_receive_is_published_again_by_it(make_rabbit_app: Callable[[str], Pynenc]) -> None:
    broker, session = _sent(make_rabbit_app)
    _refuse(session)  # as if read by the receive below
    # When the thread's next broker operation is not a send
    assert broker.receive(["elsewhere"], "worker-1", 0) is None
    # Then the refused message went out again at its end (beside the original the server kept)
    assert not session.refused
    assert broker.depth("default") == 2


def test_messages_left_unconfirmed_by_a_lost_connection_go_again_on_the_next(
    make_rabbit_app: Callable[[str], Pynenc],
) -> None:
    broker, session = _sent(make_rabbit_app)
    # When the thread's connection is dropped before the confirm was read (as on a connection error)
    broker.conns.drop(session)
    # Then its next connection publishes the message again first
    assert broker.depth("default") == 2
    assert broker.conns.current() is not session


def _called_on_redis_state(make_rabbit_app: Callable[[str], Pynenc]) -> tuple[Pynenc, Any]:
    """An app on RabbitMQ + Redis state, and one call of its task queued."""
    app = make_rabbit_app("rabbitmq-redis")

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    return app, add(1, 2)


def test_with_redis_state_a_delivery_is_claimed_and_started_in_one_script(
    make_rabbit_app: Callable[[str], Pynenc], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, call = _called_on_redis_state(make_rabbit_app)
    # No separate compare-and-set is made for the claim or the start
    monkeypatch.setattr(app.state_backend, "transition", _forbidden)
    source = app.orchestrator.work_source(["default"], "runner-1")
    try:
        record = source.next(5.0)
    finally:
        monkeypatch.undo()
    assert record is not None and record.invocation_id == call.invocation_id
    assert record.status.value == "RUNNING" and record.owner_id == "runner-1"
    statuses = [change.status.value for change in app.state_backend.history(call.invocation_id)]
    assert statuses == ["REGISTERED", "PENDING", "RUNNING"]
    assert app.broker.depth("default") == 0  # acked
    source.close()


def _forbidden(*_args: Any) -> Any:
    raise AssertionError("the claim and the start should be one claim_and_start script")


def test_a_claim_and_start_sent_again_after_a_lost_reply_answers_as_it_did(
    make_rabbit_app: Callable[[str], Pynenc],
) -> None:
    app, call = _called_on_redis_state(make_rabbit_app)
    source: Any = app.orchestrator.work_source(["default"], "runner-1")
    claim = source.rules.claim_request(call.invocation_id, "runner-1")
    start = source.rules.start_request(call.invocation_id, "runner-1", None)
    first_claim, first_start = app.state_backend.claim_and_start(claim, start)  # type: ignore[attr-defined]
    # When the same script is sent again (what the connection's retry does when its reply is lost)
    again_claim, again_start = app.state_backend.claim_and_start(claim, start)  # type: ignore[attr-defined]
    # Then it answers applied again, with the record as the first left it, and changes nothing
    assert first_claim.applied and first_start is not None and first_start.applied
    assert again_claim.applied and again_start is not None and again_start.applied
    assert again_start.record.status.value == "RUNNING" and again_start.record.owner_id == "runner-1"
    statuses = [change.status.value for change in app.state_backend.history(call.invocation_id)]
    assert statuses == ["REGISTERED", "PENDING", "RUNNING"]
    source.close()


def test_a_send_reads_no_confirms_until_many_are_outstanding(
    make_rabbit_app: Callable[[str], Pynenc], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynenc_nb.backends.rabbitmq import broker as broker_module

    broker: Any = make_rabbit_app("rabbitmq-sqlite").broker
    broker.send("default", "inv-0")  # the thread's session exists from here on
    session = broker.conns.current()
    settles: list[int] = []
    original = session.settle_confirms
    monkeypatch.setattr(session, "settle_confirms", lambda: (settles.append(len(session.unconfirmed)), original()))
    monkeypatch.setattr(broker_module, "SETTLE_FROM", 3)
    session.wait_confirms(5.0)
    # When a thread sends one message at a time
    broker.send("default", "inv-1")
    broker.send("default", "inv-2")
    # Then no send made a pass just to read confirms (its publish reads what has arrived)
    assert settles == []
    # And once SETTLE_FROM are outstanding, the next send reads them first
    session.unconfirmed.update({10_001: ("x", b"", None), 10_002: ("x", b"", None), 10_003: ("x", b"", None)})
    broker.send("default", "inv-3")
    assert settles and settles[0] >= 3
    for tag in (10_001, 10_002, 10_003):
        session.unconfirmed.pop(tag, None)
    # Nothing was lost: every message is in the queue once its confirm is read
    assert broker.depth("default") == 4


def test_a_worker_whose_consumer_stands_waits_for_the_push_without_a_get(
    make_rabbit_app: Callable[[str], Pynenc], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_rabbit_app("rabbitmq-sqlite")

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    broker: Any = app.broker
    gets: list[tuple[str, ...]] = []
    original = broker._get
    monkeypatch.setattr(
        broker,
        "_get",
        lambda session, names, consumer: (gets.append(tuple(names)), original(session, names, consumer))[1],
    )
    source = app.orchestrator.work_source(["default"], "runner-1")
    try:
        # Given a worker that found its queue empty once: it asked, then its consumer stood
        assert source.next(0.2) is None
        assert len(gets) == 1
        # When calls arrive one at a time, each taken after the last one's ending
        for x in range(3):
            call = add(x, 1)
            record = source.next(5.0)
            assert record is not None and record.invocation_id == call.invocation_id
        # Then each came by push, with no basic.get first (one round trip less per call)
        assert len(gets) == 1
    finally:
        source.close()


def test_a_confirm_read_outside_a_wait_queues_no_wake_up(
    make_rabbit_app: Callable[[str], Pynenc], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, session = _sent(make_rabbit_app)
    queued: list[Any] = []
    original = session.connection.add_callback_threadsafe
    monkeypatch.setattr(session.connection, "add_callback_threadsafe", lambda cb: (queued.append(cb), original(cb)))
    deadline = time.monotonic() + 5.0
    # When the thread reads its last outstanding confirm without waiting for it (a receive, a send
    # with many outstanding)
    while session.unconfirmed and time.monotonic() < deadline:
        time.sleep(0.01)
        session.settle_confirms()
    assert not session.unconfirmed
    # Then no wake-up was queued for it (a write to pika's wake-up socket and a read back per call)
    assert queued == []


def test_with_redis_state_a_claim_and_start_writes_the_record_once_with_both_changes(
    make_rabbit_app: Callable[[str], Pynenc],
) -> None:
    app, call = _called_on_redis_state(make_rabbit_app)
    state: Any = app.state_backend
    source: Any = app.orchestrator.work_source(["default"], "runner-1")
    try:
        record = source.next(5.0)
    finally:
        source.close()
    assert record is not None and record.status.value == "RUNNING"
    # The indexes are those of a RUNNING invocation owned by the runner, nothing left under PENDING
    counts = {status.value: n for status, n in state.count_by_status().items() if n}
    assert counts == {"RUNNING": 1}
    prefix = state.keys.prefix
    assert state.conn.command("ZSCORE", f"{prefix}s:ix:owner:runner-1", call.invocation_id) is not None
    history = state.history(call.invocation_id)
    assert [c.status.value for c in history] == ["REGISTERED", "PENDING", "RUNNING"]
    assert history[1].at <= history[2].at


def test_a_publish_goes_out_in_one_write_without_turning_pikas_event_loop(
    make_rabbit_app: Callable[[str], Pynenc], monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, session = _sent(make_rabbit_app)
    assert session.writes_at_once
    impl = session.connection._impl
    polls: list[int] = []
    emitted: list[bytes] = []
    original_poll, original_emit = impl.ioloop.poll, impl._adapter_emit_data
    monkeypatch.setattr(impl.ioloop, "poll", lambda: (polls.append(1), original_poll())[1])
    monkeypatch.setattr(impl, "_adapter_emit_data", lambda data: (emitted.append(data), original_emit(data))[1])
    # When a message is sent
    broker.send("default", "inv-joined")
    # Then its three frames were handed over as one piece, sent without a poll
    assert len(emitted) == 1 and emitted[0].endswith(b"inv-joined\xce") and emitted[0].count(b"\xce") >= 3
    assert polls == []
    monkeypatch.undo()
    # And it is in the queue (with the first), confirmed
    assert broker.depth("default") == 2


def test_a_connection_whose_pika_internals_differ_is_left_as_it_is() -> None:
    from pynenc_nb.backends.rabbitmq.connection import _write_at_once

    tls_like = SimpleNamespace(_impl=SimpleNamespace(_transport=SimpleNamespace(write=print)))
    assert _write_at_once(tls_like) is False
    assert tls_like._impl._transport.write is print
