from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pynenc_nb.records import Delivery


class Broker(Protocol):
    """Named queues of invocation ids with priorities and at-least-once delivery.

    ``receive`` hands a message to one consumer and keeps it in flight under that consumer's id
    until ``ack``; messages in flight for a consumer that died are given back by
    ``requeue_consumer``. Within a queue, higher priority first, then oldest first.
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

    def reprioritize(self, invocation_id: str, priority: int) -> bool:
        """Change the priority of a waiting message for ``invocation_id``; False if none waits."""
        ...

    def requeue_consumer(self, consumer_id: str) -> int:
        """Give back every message in flight for ``consumer_id``; return how many."""
        ...

    def count(self, queue: str | None = None) -> int:
        """Messages waiting (not in flight) in ``queue``, or in all queues."""
        ...

    def queued_ids(self, invocation_ids: Sequence[str]) -> set[str]:
        """Which of these ids have a message waiting or in flight (for lost-message recovery)."""
        ...

    def purge(self) -> None: ...

    def close(self) -> None: ...
