"""Broker: priorities, queues, blocking receive, ack/nack, consumer requeue and exclusive delivery."""

from __future__ import annotations

import threading
import time

import pytest

from pynenc_nb.ports import Broker
from pynenc_nb.records import Delivery
from tests.conformance.builders import race
from tests.conftest import BROKER_BACKENDS


@pytest.fixture(params=BROKER_BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Every backend, and RabbitMQ beside SQLite and Redis state (only broker-facing tests run on those)."""
    return str(request.param)


SEND_DELAY_S = 0.2  # lets the receiver block before another thread sends


def _take(broker: Broker, queues: list[str], consumer: str = "c1") -> Delivery:
    delivery = broker.receive(queues, consumer, timeout_s=5)
    assert delivery is not None
    return delivery


def _drain(broker: Broker, queues: list[str], consumer: str = "c1") -> list[str]:
    taken: list[str] = []
    while (delivery := broker.receive(queues, consumer, timeout_s=0)) is not None:
        broker.ack(delivery)
        taken.append(delivery.invocation_id)
    return taken


def test_fifo_within_a_priority_and_higher_priority_first(broker: Broker) -> None:
    # Given messages of two priorities, interleaved
    broker.send_many([("q", "low-1", 0), ("q", "high-1", 5), ("q", "low-2", 0)])
    broker.send("q", "high-2", 5)
    broker.send("q", "low-3")
    # When they are received
    # Then higher priority comes first, oldest first within a priority
    assert _drain(broker, ["q"]) == ["high-1", "high-2", "low-1", "low-2", "low-3"]


def test_receive_reads_only_the_requested_queues(broker: Broker) -> None:
    # Given messages in three queues
    broker.send_many([("a", "a-1", 0), ("b", "b-1", 0), ("c", "c-1", 0), ("a", "a-2", 0)])
    # When a consumer reads queues a and b
    taken = _drain(broker, ["a", "b"])
    # Then it gets all of theirs and none of c's
    assert sorted(taken) == ["a-1", "a-2", "b-1"]
    assert taken.index("a-1") < taken.index("a-2")
    assert (broker.depth("c"), _take(broker, ["c"]).queue) == (1, "c")


def test_receive_times_out_with_none(broker: Broker) -> None:
    broker.send("other", "x")
    started = time.monotonic()
    assert broker.receive(["q"], "c1", timeout_s=0.3) is None
    assert 0.25 <= time.monotonic() - started < 5
    assert broker.receive(["q"], "c1", timeout_s=0) is None


def test_receive_blocks_until_another_thread_sends(broker: Broker) -> None:
    # Given a thread that sends shortly
    sender = threading.Timer(SEND_DELAY_S, lambda: broker.send("q", "late"))
    sender.start()
    try:
        # When receiving with a long timeout
        started = time.monotonic()
        delivery = broker.receive(["q"], "c1", timeout_s=20)
        elapsed = time.monotonic() - started
    finally:
        sender.join()
    # Then the message arrives soon after it was sent
    assert delivery is not None and delivery.invocation_id == "late"
    assert elapsed < 3, elapsed


def test_ack_removes_and_nack_gives_back(broker: Broker) -> None:
    # Given two received messages
    broker.send_many([("q", "one", 0), ("q", "two", 0)])
    first, second = _take(broker, ["q"]), _take(broker, ["q"])
    assert broker.depth("q") == 0
    # When the first is acked and the second nacked
    broker.ack(first)
    broker.nack(second)
    # Then only the second can be received again
    assert (broker.depth("q"), _take(broker, ["q"]).invocation_id) == (1, "two")
    assert broker.receive(["q"], "c1", timeout_s=0) is None


def test_requeue_consumer_gives_back_only_its_messages(broker: Broker) -> None:
    # Given consumer A holds two messages and B one
    broker.send_many([("q", f"m{i}", 0) for i in range(4)])
    held_by_a = {_take(broker, ["q"], "A").invocation_id, _take(broker, ["q"], "A").invocation_id}
    held_by_b = _take(broker, ["q"], "B")
    # When A is declared dead
    given_back = broker.requeue_consumer("A")
    # Then A's messages wait again, B's stays in flight with B
    assert given_back == 2 and broker.depth("q") == 3
    assert sorted(_drain(broker, ["q"], "C")) == sorted({*held_by_a, "m3"})
    assert broker.requeue_consumer("A") == 0
    broker.ack(held_by_b)
    assert broker.requeue_consumer("B") == 0


def test_depth_counts_waiting_messages_only(broker: Broker) -> None:
    # Given two waiting messages in q, one in r, and one of q in flight
    broker.send_many([("q", "w1", 0), ("q", "w2", 0), ("r", "w3", 0), ("q", "f1", 0)])
    for _ in range(2):
        broker.ack(_take(broker, ["q"]))  # w1, w2 leave for good
    broker.send("q", "w4")
    in_flight = _take(broker, ["q"])
    # Then depth sees the waiting messages, per queue and in all
    assert in_flight.invocation_id == "f1"
    assert (broker.depth("q"), broker.depth("r"), broker.depth(), broker.depth("empty")) == (1, 1, 2, 0)


def test_purge_empties_every_queue(broker: Broker) -> None:
    broker.send_many([("q", "a", 0), ("r", "b", 0)])
    _take(broker, ["q"])
    broker.purge()
    assert broker.depth() == 0
    assert broker.receive(["q", "r"], "c1", timeout_s=0) is None


def test_two_consumers_never_receive_the_same_message(broker: Broker) -> None:
    # Given 300 messages
    ids = [f"m{i}" for i in range(300)]
    broker.send_many([("q", i, i_index % 3) for i_index, i in enumerate(ids)])
    # When four consumers drain the queue at once
    taken = race(4, lambda i: _drain(broker, ["q"], f"consumer-{i}"))
    # Then every message was received exactly once
    flat = [m for per_consumer in taken for m in per_consumer]
    assert sorted(flat) == sorted(ids)
    assert broker.depth() == 0


def test_an_id_sent_again_at_a_higher_priority_overtakes(broker: Broker) -> None:
    # Given three waiting messages of equal priority (how dependents-first ordering raises a call)
    broker.send_many([("q", "a", 0), ("q", "b", 0), ("q", "c", 0)])
    # When the last one is sent again above the others
    broker.send("q", "c", 5)
    # Then it comes first; the older message for it may be folded into the new one or delivered
    # later as a duplicate (the claim drops it), but nothing else is lost or reordered
    drained = _drain(broker, ["q"])
    assert drained[0] == "c"
    assert [m for m in drained[1:] if m != "c"] == ["a", "b"] and drained.count("c") <= 2
