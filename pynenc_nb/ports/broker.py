from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pynenc_nb.records import Delivery


class Broker(Protocol):
    """Named queues of invocation ids with priorities and at-least-once delivery: what any message
    broker can honour (AMQP included), nothing that needs random access into a queue.

    ``receive`` hands a message to one consumer and keeps it in flight under that consumer's id
    until ``ack``; messages in flight for a consumer that died are given back (by the broker itself
    when its connection drops, or by ``requeue_consumer``). Within a queue, higher priority first,
    then oldest first. A message may be delivered more than once, and an id may be sent again while
    a message for it waits (to raise its priority, or after a lost message): the claim of its
    invocation, a compare-and-set in the state backend, lets exactly one delivery run it.

    A broker that pushes messages to a consumer ahead of its receives (RabbitMQ) also has
    ``release(consumer_id) -> int``: the work source calls it when its worker is about to wait on
    other invocations, and it gives back what was pushed to that worker beyond what it was handed.
    Brokers that only hand out what they are asked for (memory, SQLite, Redis) do not have it.
    """

    def send(self, queue: str, invocation_id: str, priority: int = 0) -> None: ...

    def send_many(self, items: Sequence[tuple[str, str, int]]) -> None:
        """Send (queue, invocation_id, priority) items in one round trip."""
        ...

    def receive(self, queues: Sequence[str], consumer_id: str, timeout_s: float) -> Delivery | None:
        """Block up to ``timeout_s`` for a message from any of ``queues``; never busy-spin.

        ``timeout_s <= 0`` makes a single non-blocking attempt.
        """
        ...

    def ack(self, delivery: Delivery) -> None: ...

    def nack(self, delivery: Delivery) -> None:
        """Give the message back to its queue (a consumer that cannot take it now)."""
        ...

    def requeue_consumer(self, consumer_id: str) -> int:
        """Give back every message in flight for ``consumer_id`` (a consumer declared dead); return
        how many. A broker that redelivers on its own when a consumer's connection drops returns 0."""
        ...

    def depth(self, queue: str | None = None) -> int:
        """Messages waiting (not in flight) in ``queue``, or in all queues."""
        ...

    def purge(self) -> None: ...

    def close(self) -> None: ...
