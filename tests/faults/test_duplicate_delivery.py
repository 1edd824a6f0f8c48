"""Duplicate delivery: every message delivered twice, and the first ack of each lost (the broker
gives the message back): still one owner and one result per invocation, and the oracle agrees."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.ports import Broker
from pynenc_nb.records import Delivery

S = InvocationStatus


@pytest.fixture(params=["memory", "sqlite", "memory-broker", "rabbitmq-sqlite"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    """The backends whose runners take work through the broker port (Redis takes it in one script)."""
    return str(request.param)


class FaultyBroker:
    """Sends every received message again once, and loses the first ack of each invocation."""

    def __init__(self, inner: Broker) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.duplicated: set[str] = set()
        self.acks_lost: set[str] = set()

    def receive(self, queues: Sequence[str], consumer_id: str, timeout_s: float) -> Delivery | None:
        delivery = self.inner.receive(queues, consumer_id, timeout_s)
        if delivery is not None:
            with self._lock:
                again = delivery.invocation_id not in self.duplicated
                self.duplicated.add(delivery.invocation_id)
            if again:
                self.inner.send(delivery.queue, delivery.invocation_id)
        return delivery

    def ack(self, delivery: Delivery) -> None:
        with self._lock:
            lose = delivery.invocation_id not in self.acks_lost
            self.acks_lost.add(delivery.invocation_id)
        if lose:
            self.inner.nack(delivery)  # the ack never reached the broker: it hands the message out again
        else:
            self.inner.ack(delivery)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_duplicated_messages_and_lost_acks_run_each_invocation_once(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(max_threads=3)
    faulty = FaultyBroker(app.backends.broker)
    app.backends.broker = faulty  # type: ignore[assignment]
    runs: dict[int, int] = {}
    lock = threading.Lock()

    @app.task
    def count(i: int) -> int:
        with lock:
            runs[i] = runs.get(i, 0) + 1
        return i

    app.runner.start_in_thread()
    try:
        group = count.parallelize([(i,) for i in range(60)])
        assert sorted(group.results) == list(range(60))
    finally:
        app.runner.stop()
    # Every message was delivered at least twice and every first ack lost...
    assert len(faulty.duplicated) == 60 and len(faulty.acks_lost) == 60
    # ...yet each invocation ran once, with one owner and one result
    assert runs == dict.fromkeys(range(60), 1)
    for invocation in group:
        statuses = [c.status for c in invocation.history()]
        assert statuses.count(S.RUNNING) == 1 and statuses.count(S.SUCCESS) == 1, statuses
