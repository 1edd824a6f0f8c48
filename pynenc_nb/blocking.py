"""Blocking control: a task that waits on other invocations never holds a runner slot meanwhile.

The waiting invocation goes PAUSED, the runner is told to keep its parallelism (another worker
starts), the targets that are still queued move up the broker by how many invocations wait on
them, and a wait that would close a cycle raises :class:`CycleDetectedError` at once. When every
target is final the invocation goes back to RUNNING (respecting running concurrency control).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from pynenc_nb.exceptions import CycleDetectedError, InvocationError
from pynenc_nb.interrupt import Interrupted
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.orchestrator import Orchestrator
from pynenc_nb.records import InvocationRecord, RunnerContext
from pynenc_nb.waiting import wait_all

_RESUME_RETRY_S = 0.05


class SlotControl(Protocol):
    """How a runner keeps its parallelism while one of its workers waits."""

    def paused(self) -> None:
        """The calling worker no longer counts against the runner's slots."""
        ...

    def resumed(self) -> None: ...


class BlockingWaits:
    """The :class:`~pynenc_nb.context.WaitHandler` of runners (``slots``) and dev mode (no slots)."""

    def __init__(self, orchestrator: Orchestrator, runner: RunnerContext, slots: SlotControl | None) -> None:
        self.orchestrator = orchestrator
        self.runner = runner
        self.slots = slots

    def wait_for(self, waiter: InvocationRecord, invocation_ids: list[str], timeout_s: float | None) -> None:
        state = self.orchestrator.backends.state
        records = state.get_many(invocation_ids)
        pending = [i for i in invocation_ids if i not in records or records[i].status not in FINAL_STATUSES]
        if not pending:
            return
        cycle = state.add_waits(waiter.invocation_id, pending)
        if cycle is None and self.slots is None:
            cycle = self._inline_ancestor(waiter, pending)
        if cycle is not None:
            if self.slots is None:
                state.remove_waits(waiter.invocation_id)
            raise CycleDetectedError(waiter.invocation_id, cycle)
        try:
            self._boost(pending, records)
            if self.slots is None:
                self._wait_final(pending, timeout_s)
                return
            self._pause(waiter, len(pending))
            self.slots.paused()
            try:
                self._wait_final(pending, timeout_s)
            finally:
                self.slots.resumed()
                self._resume(waiter)
        finally:
            state.remove_waits(waiter.invocation_id)

    def _inline_ancestor(self, waiter: InvocationRecord, targets: list[str]) -> list[str] | None:
        """Dev mode runs children inside their parent's call: waiting on an ancestor never ends."""
        chain = [waiter.invocation_id]
        parent = waiter.parent_invocation_id
        while parent is not None:
            chain.append(parent)
            if parent in targets:
                return [*chain, waiter.invocation_id]
            record = self.orchestrator.backends.state.get(parent)
            parent = record.parent_invocation_id if record is not None else None
        return None

    def _boost(self, targets: Sequence[str], records: dict[str, InvocationRecord]) -> None:
        """Queued targets are taken first, by how many invocations wait on them (dependents-first).

        Decided from the state records and done with a plain send at the higher priority: the
        message already waiting is then a duplicate (a broker may fold the two), and whichever
        delivery comes second finds the invocation claimed and is dropped."""
        counts = self.orchestrator.backends.state.waiter_counts(targets)
        boosted = [
            (record.queue, target, record.priority + counts[target])
            for target in targets
            if (record := records.get(target)) is not None and record.status.spec.queued and counts.get(target)
        ]
        if boosted:
            self.orchestrator.backends.broker.send_many(boosted)

    def _pause(self, waiter: InvocationRecord, count: int) -> None:
        result = self.orchestrator.move(
            waiter.invocation_id, InvocationStatus.PAUSED, self.runner.runner_id, reason=f"waiting on {count}"
        )
        if not result.applied and result.record.status is InvocationStatus.KILLED:
            raise Interrupted
        if not result.applied:
            raise InvocationError(
                f"invocation {waiter.invocation_id} could not pause: it is {result.record.status} "
                f"(owner {result.record.owner_id}); was it recovered by another runner?",
                invocation_id=waiter.invocation_id,
            )

    def _wait_final(self, pending: list[str], timeout_s: float | None) -> None:
        wait_all(self.orchestrator.backends.state, pending, timeout_s)

    def _resume(self, waiter: InvocationRecord) -> None:
        """PAUSED -> RUNNING; while another invocation holds the running key, wait for it."""
        while True:
            result = self.orchestrator.move(
                waiter.invocation_id,
                InvocationStatus.RUNNING,
                self.runner.runner_id,
                reason="dependencies final",
                exclusive_key=waiter.running_key,
            )
            if result.applied:
                return
            if result.record.status is InvocationStatus.KILLED:
                raise Interrupted  # killed while it waited: a check point of its own, before the runner's
            if result.conflict != "exclusive":
                raise InvocationError(
                    f"invocation {waiter.invocation_id} could not resume: it is {result.record.status} "
                    f"(owner {result.record.owner_id})",
                    invocation_id=waiter.invocation_id,
                )
            time.sleep(_RESUME_RETRY_S)
