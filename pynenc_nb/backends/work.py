"""The generic work source: receive -> claim -> ack -> start over the plain ports.

Every backend can serve it, and a broker-only backend (a message broker beside a state backend)
gets nothing else. While work is queued a take is one ``atomic()`` group (the held endings, one
non-blocking receive, the claim, the ack and the start); only when the queues are empty does it
block in the broker, the endings stored first. With a broker that pushes to a standing consumer
(RabbitMQ) there is no group to share, and a take is the endings stored, then one timed receive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.ports import Broker, StateBackend
from pynenc_nb.ports.work import TakeRules
from pynenc_nb.records import Delivery, InvocationRecord, TransitionRequest, TransitionResult


def store_endings(
    state: StateBackend, endings: Sequence[TransitionRequest]
) -> list[tuple[TransitionRequest, TransitionResult | None]]:
    """Each ending stored on its own, with its result (None: the invocation was purged while it ran)."""
    stored: list[tuple[TransitionRequest, TransitionResult | None]] = []
    for request in endings:
        try:
            stored.append((request, state.transition(request)))
        except InvocationNotFoundError:
            stored.append((request, None))
    return stored


class BrokerWorkSource:
    def __init__(
        self,
        state: StateBackend,
        broker: Broker,
        atomic: Callable[[], AbstractContextManager[object]],
        rules: TakeRules,
        queues: Sequence[str],
        runner_id: str,
    ) -> None:
        self.state = state
        self.broker = broker
        self.atomic = atomic
        self.rules = rules
        self.queues = tuple(queues)
        self.runner_id = runner_id
        self._endings: list[TransitionRequest] = []
        # a state backend that claims and starts in one call (see _take), looked up once
        self._fused: (
            Callable[[TransitionRequest, TransitionRequest], tuple[TransitionResult, TransitionResult | None]] | None
        ) = getattr(state, "claim_and_start", None)
        self._pushes = hasattr(broker, "release")  # see the Broker port

    def finish(self, ending: TransitionRequest) -> None:
        self._endings.append(ending)

    def next(self, timeout_s: float) -> InvocationRecord | None:
        if self._pushes and timeout_s > 0:
            # A broker that pushes to a standing consumer answers a timed receive as soon as the
            # server has a message: a non-blocking try first would be one more round trip per call.
            self._flush_endings()
            delivery = self.broker.receive(self.queues, self.runner_id, timeout_s)
            return self._take(delivery) if delivery is not None else None
        with self.atomic():
            stored = self._store_endings()
            delivery = self.broker.receive(self.queues, self.runner_id, 0)
            record = self._take(delivery) if delivery is not None else None
        self._settle_endings(stored)
        if delivery is None and timeout_s > 0:
            delivery = self.broker.receive(self.queues, self.runner_id, timeout_s)
            record = self._take(delivery) if delivery is not None else None
        return record

    def _flush_endings(self) -> None:
        if self._endings:
            with self.atomic():
                stored = self._store_endings()
            self._settle_endings(stored)

    def flush(self) -> None:
        self._flush_endings()
        release = getattr(self.broker, "release", None)  # a broker that pushes ahead of a receive
        if release is not None:
            release(self.runner_id)

    def close(self) -> None:
        self.flush()

    def _store_endings(self) -> list[tuple[TransitionRequest, TransitionResult | None]]:
        return store_endings(self.state, self._endings)

    def _settle_endings(self, stored: list[tuple[TransitionRequest, TransitionResult | None]]) -> None:
        del self._endings[: len(stored)]  # only once the group is through: a failed one is sent again
        for request, result in stored:
            self.rules.ended(request, result)

    def _take(self, delivery: Delivery) -> InvocationRecord | None:
        """Claim, ack, start: the RUNNING record, or None when another runner has the invocation
        (a duplicate message), it was purged while queued, or running concurrency kept it waiting.

        A state backend that can claim and start in one round trip (``claim_and_start``: Redis,
        whose every call is a round trip) does both before the ack; the claim is durable before
        the ack either way."""
        if self._fused is not None:
            return self._claim_and_start(self._fused, delivery)
        with self.atomic():
            claimed = self._apply(self.rules.claim_request(delivery.invocation_id, self.runner_id))
            self.broker.ack(delivery)
            if claimed is None or not claimed.applied:
                return None
            record = claimed.record
            start = self.rules.start_request(record.invocation_id, self.runner_id, record.running_key)
            started = self._apply(start)
        return self.rules.started(record, started) if started is not None else None

    def _claim_and_start(
        self,
        fused: Callable[[TransitionRequest, TransitionRequest], tuple[TransitionResult, TransitionResult | None]],
        delivery: Delivery,
    ) -> InvocationRecord | None:
        invocation_id = delivery.invocation_id
        claim = self.rules.claim_request(invocation_id, self.runner_id)
        start = self.rules.start_request(invocation_id, self.runner_id, None)  # the record's own key, on the server
        try:
            claimed, started = fused(claim, start)
        except InvocationNotFoundError:
            self.broker.ack(delivery)
            return None
        self.rules.settle(claim, claimed)
        self.broker.ack(delivery)
        if not claimed.applied or started is None:
            return None
        self.rules.settle(start, started)
        return self.rules.started(claimed.record, started)

    def _apply(self, request: TransitionRequest) -> TransitionResult | None:
        try:
            result = self.state.transition(request)
        except InvocationNotFoundError:
            return None
        self.rules.settle(request, result)
        return result
