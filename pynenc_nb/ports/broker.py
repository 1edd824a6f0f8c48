from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from pynenc_nb.records import Delivery, InvocationRecord, TakenStart, TransitionRequest, TransitionResult
from pynenc_nb.status import InvocationStatus


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


@runtime_checkable
class RegisterAndSend(Protocol):
    """Optional: store new invocations and queue the fresh ones as ONE atomic step on the server.

    The generic path (``StateBackend.register`` then ``Broker.send_many`` of the invocations it
    stored, not those it answered with a live holder of their registration key) stays the
    reference behaviour; this must be indistinguishable from it, in one round trip instead of two.
    """

    def register_and_send(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
    ) -> list[InvocationRecord]:
        """``StateBackend.register``, with each stored record queued on its queue and priority."""
        ...


@runtime_checkable
class TakeAndStart(Protocol):
    """Optional: receive, claim, ack and start as ONE atomic step on the server.

    A backend that holds both the queues and the invocations (Redis) offers it so that a runner
    pays one round trip per invocation taken instead of four. The generic path (``receive`` ->
    claim -> ``ack`` -> start) stays the reference behaviour; this must be indistinguishable from it.
    """

    def take_and_start(
        self,
        queues: Sequence[str],
        runner_id: str,
        plan: Callable[[], tuple[TransitionRequest, TransitionRequest]],
        timeout_s: float,
        endings: Sequence[TransitionRequest] = (),
        batch: int = 0,
        batch_tasks: Sequence[str] = (),
    ) -> tuple[list[TransitionResult | None], list[TakenStart]]:
        """Apply ``endings``, then take the next message of ``queues`` and apply the claim then the
        start to its invocation.

        ``endings`` are the runner's previous invocations leaving RUNNING for a final status: they
        are applied first, whatever the queues hold and before any blocking, and their results
        (None when the invocation no longer exists) are returned with the take, in order. They
        ride on the take so that a runner pays one round trip per take; each must be idempotent on
        resend like every transition (its change token).

        ``plan()`` builds the (claim, start) requests. They are templates: their invocation id is
        ignored (the message names it), their time is replaced by the time of the attempt that
        applies them (a backend may call ``plan`` once and reuse its requests, so only the time
        may vary between calls), and the start is exclusive on the record's own running key with
        its ``exclusive_statuses``. The message is consumed whatever the outcome. Blocks up to
        ``timeout_s`` for a message like ``Broker.receive``; the take is empty when none came.

        With ``batch`` > 0, once a first invocation is started, up to ``batch`` more are taken and
        started the same way while the best waiting message is an invocation of one of
        ``batch_tasks`` without a running key (the runner knows those tasks to be short): a busy
        runner then pays one round trip per batch. A backend may take fewer.

        A backend may also hand a new call straight to a thread blocked here (claimed and started
        for ``runner_id`` when it is registered): that thread's take returns it like any other.
        """
        ...

    def withdraw(self, runner_id: str) -> list[str]:
        """The calling thread takes no more for ``runner_id``: nothing is handed to it any more,
        and the ids handed to it and not taken yet (RUNNING, owned by ``runner_id``) are returned
        for the runner to give back."""
        ...
