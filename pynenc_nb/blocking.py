"""Blocking control: a task that waits on other invocations never holds a runner slot meanwhile.

The waiting invocation goes PAUSED, and a wait that would close a cycle raises
:class:`CycleDetectedError` at once. A target still queued that the waiting worker may run (its
queue is served here) is claimed by that worker and run in its thread, in the slot the paused
invocation left: the answer is there when the call returns, with no hand-over to another worker
and no wake-up to wait for (the way a fork-join pool helps while it joins). For the targets that
are left, the runner is told to keep its parallelism (another worker starts) and the ones still
queued move up the broker by how many invocations wait on them. When every target is final the
invocation goes back to RUNNING (respecting running concurrency control).

A target claimed here keeps its broker message, except on a broker that can drop it in the claim's
own transaction (``drop_ready``: SQLite, where it is one indexed delete) and on Redis, whose wait
script drops it (``WaitSteps``); whoever receives a message kept finds the invocation claimed and
drops it, as with any duplicate delivery.

Commits: the pause, the waits-for edges and the claim and start of the first target run here are
one group (one transaction where the backend has them), and so are the ending of the last target
run here, the removal of the edges and the resume: a wait answered in this thread costs two
writes, not four. A backend without transactions whose every call is a round trip (Redis) offers
the two groups as two calls instead (``WaitSteps``): the same compare-and-sets in the same order,
what follows each (``Orchestrator.settle``: freeing the waiter's running key for a call waiting on
it) done once the call returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeGuard

from pynenc_nb.exceptions import CycleDetectedError, InvocationError
from pynenc_nb.interrupt import Interrupted
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.orchestrator import Orchestrator
from pynenc_nb.ports.state import WaitSteps
from pynenc_nb.records import InvocationRecord, RunnerContext, TransitionRequest, TransitionResult
from pynenc_nb.waiting import wait_all

_RESUME_RETRY_S = 0.05


class SlotControl(Protocol):
    """How a runner keeps its parallelism while one of its workers waits."""

    def paused(self) -> None:
        """The calling worker no longer counts against the runner's slots."""
        ...

    def resumed(self) -> None: ...


class InlineRunner(Protocol):
    """A slot control that can also run a target in the waiting worker's own thread."""

    def may_run_here(self, record: InvocationRecord) -> bool:
        """Whether this worker may take ``record`` now (its queue is served here, the nesting is
        not too deep)."""
        ...

    def run_here(self, waiter_id: str, started: InvocationRecord) -> Unstored | None:
        """Run a RUNNING invocation this worker just started; its final ending is returned unstored,
        for the waiter to store (None: it is stored already, a retry or a kill)."""
        ...


class Unstored(Protocol):
    """A final transition computed and not stored yet (``execution.Ending``)."""

    @property
    def request(self) -> TransitionRequest: ...


def _can_run_inline(slots: object) -> TypeGuard[InlineRunner]:
    return hasattr(slots, "run_here") and hasattr(slots, "may_run_here")


def _has_wait_steps(state: object) -> TypeGuard[WaitSteps]:
    return hasattr(state, "pause_waiting") and hasattr(state, "resume_waiting") and hasattr(state, "known_record")


class BlockingWaits:
    """The :class:`~pynenc_nb.context.WaitHandler` of runners (``slots``) and dev mode (no slots)."""

    def __init__(self, orchestrator: Orchestrator, runner: RunnerContext, slots: SlotControl | None) -> None:
        self.orchestrator = orchestrator
        self.runner = runner
        self.slots = slots
        # a broker that drops the messages of a target claimed here (see the module docstring)
        self._drop_ready: Callable[[str], None] | None = getattr(orchestrator.backends.broker, "drop_ready", None)
        state = orchestrator.backends.state
        self._steps: WaitSteps | None = state if _has_wait_steps(state) else None

    def wait_for(self, waiter: InvocationRecord, invocation_ids: list[str], timeout_s: float | None) -> None:
        state = self.orchestrator.backends.state
        known = self._known_target(invocation_ids)
        if known is not None:  # the pause reads it itself: no read first
            records, pending = {known.invocation_id: known}, [known.invocation_id]
        else:
            records = state.get_many(invocation_ids)
            pending = [i for i in invocation_ids if i not in records or records[i].status not in FINAL_STATUSES]
        if not pending:
            return
        if self.slots is None:
            self._wait_in_dev_mode(waiter, pending, records, timeout_s)
            return
        first: InvocationRecord | None = None
        try:
            if self._steps is not None:
                cycle, first, waited = self._pause_in_one_step(
                    self._steps, waiter, pending, records, drop_final=known is not None
                )
                if waited is not None:
                    if not waited and cycle is None:
                        return  # final already: nothing was done
                    records = {**records, **waited}
            else:
                with self.orchestrator.backends.atomic():  # one transaction where the backend has them
                    cycle = state.add_waits(waiter.invocation_id, pending)
                    if cycle is None:
                        self._check_paused(self.orchestrator.store(self._pause_request(waiter, len(pending))))
                        first = self._start_first_here(pending, records)
        except BaseException:
            state.remove_waits(waiter.invocation_id)
            raise
        if cycle is not None:
            raise CycleDetectedError(waiter.invocation_id, cycle)
        held: list[Unstored] = []  # the last ending run here, stored with the resume
        try:
            pending = self._run_queued_here(waiter, pending, records, first, held)
            if pending:
                self._store_held(held)  # before waiting: who else waits on it must see it
                self._boost(pending, records)
                self.slots.paused()
                try:
                    self._wait_final(pending, timeout_s)
                finally:
                    self.slots.resumed()
        finally:
            self._resume(waiter, held)

    def _wait_in_dev_mode(
        self,
        waiter: InvocationRecord,
        pending: list[str],
        records: dict[str, InvocationRecord],
        timeout_s: float | None,
    ) -> None:
        """No slots: dev mode runs children inside their parent's call, so the wait is plain."""
        state = self.orchestrator.backends.state
        cycle = state.add_waits(waiter.invocation_id, pending) or self._inline_ancestor(waiter, pending)
        try:
            if cycle is not None:
                raise CycleDetectedError(waiter.invocation_id, cycle)
            self._boost(pending, records)
            self._wait_final(pending, timeout_s)
        finally:
            state.remove_waits(waiter.invocation_id)

    def _may_run_here(self, record: InvocationRecord | None) -> bool:
        return (
            record is not None
            and record.status.spec.queued
            and _can_run_inline(self.slots)
            and self.slots.may_run_here(record)
        )

    def _claim_and_start(self, target: str) -> InvocationRecord | None:
        """The target claimed and started by this worker; None when another worker has it, or
        running concurrency holds it back."""
        orchestrator = self.orchestrator
        runner_id = self.runner.runner_id
        with orchestrator.backends.atomic():
            claimed = orchestrator.claim(target, runner_id)
            if claimed is None:
                return None
            if self._drop_ready is not None:
                self._drop_ready(target)
            return orchestrator.start(claimed, runner_id)

    def _start_first_here(self, pending: list[str], records: dict[str, InvocationRecord]) -> InvocationRecord | None:
        """Inside the pause's group: the first target this worker may run, claimed and started."""
        if not pending or not self._may_run_here(records.get(pending[0])):
            return None
        return self._claim_and_start(pending[0])

    def _known_target(self, invocation_ids: list[str]) -> InvocationRecord | None:
        """For a runner's wait on one invocation it knows (it called it: ``a.result``), with wait
        steps that can check finality themselves: that record. Saves the read before the pause."""
        if self._steps is None or self.slots is None or len(invocation_ids) != 1:
            return None
        return self._steps.known_record(invocation_ids[0])

    def _pause_in_one_step(
        self,
        steps: WaitSteps,
        waiter: InvocationRecord,
        pending: list[str],
        records: dict[str, InvocationRecord],
        *,
        drop_final: bool = False,
    ) -> tuple[list[str] | None, InvocationRecord | None, dict[str, InvocationRecord] | None]:
        """The pause's group as one backend call: (the cycle, None, None) or (None, the first
        target started here, with ``drop_final`` the targets as the pause found them: empty when
        they were all final and nothing was done)."""
        orchestrator, runner_id = self.orchestrator, self.runner.runner_id
        pause = self._pause_request(waiter, len(pending))
        target = pending[0] if self._may_run_here(records.get(pending[0])) else None
        first = None
        if target is not None:  # the start is exclusive on the target's own running key, on the server
            first = (orchestrator.claim_request(target, runner_id), orchestrator.start_request(target, runner_id, None))
        step = steps.pause_waiting(waiter.invocation_id, pending, pause, first, drop_final=drop_final)
        if step.cycle is not None:
            return step.cycle, None, None
        if step.paused is None:  # every target final (drop_final): nothing done
            return None, None, step.waited
        orchestrator.settle(pause, step.paused)
        started: InvocationRecord | None = None
        if first is not None and step.claimed is not None:
            claim, start = first
            orchestrator.settle(claim, step.claimed)
            if step.claimed.applied and step.started is not None:
                orchestrator.settle(start, step.started)
                started = orchestrator.started(step.claimed.record, step.started)
        if started is not None and not step.paused.applied:
            # a resend whose first run started the target here, the waiter taken away in between
            orchestrator.give_back(started.invocation_id, runner_id, "its waiter could not pause")
        self._check_paused(step.paused)
        return None, started, step.waited

    def _run_queued_here(
        self,
        waiter: InvocationRecord,
        pending: list[str],
        records: dict[str, InvocationRecord],
        first: InvocationRecord | None,
        held: list[Unstored],
    ) -> list[str]:
        """Claim and run, one after the other in this thread, the targets still queued; return the
        ones left to wait for (taken by another worker meanwhile, or not for this worker). ``first``
        is the first target, started with the pause already; the ending of the last one run is left
        in ``held``, the others' are stored as the next one starts."""
        inline = self.slots if _can_run_inline(self.slots) else None
        if inline is None:
            return pending
        left: list[str] = []
        try:
            for index, target in enumerate(pending):
                if index == 0 and first is not None:
                    started: InvocationRecord | None = first
                elif index == 0 or not self._may_run_here(records.get(target)):
                    started = None  # the first was looked at inside the pause's group
                else:
                    self._store_held(held)
                    started = self._claim_and_start(target)
                if started is None:
                    left.append(target)
                    continue
                self._store_held(held)
                ending = inline.run_here(waiter.invocation_id, started)
                if ending is not None:
                    held.append(ending)
        except BaseException:
            self._store_held(held)
            raise
        return left

    def _store_held(self, held: list[Unstored]) -> None:
        while held:
            self._store(held[0])
            held.pop(0)

    def _store(self, ending: Unstored) -> None:
        self.orchestrator.report(ending.request, self.orchestrator.store(ending.request))

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

    def _pause_request(self, waiter: InvocationRecord, count: int) -> TransitionRequest:
        return self.orchestrator.plan(
            waiter.invocation_id, InvocationStatus.PAUSED, self.runner.runner_id, reason=f"waiting on {count}"
        )

    @staticmethod
    def _check_paused(result: TransitionResult) -> None:
        waiter_id = result.record.invocation_id
        if not result.applied and result.record.status is InvocationStatus.KILLED:
            raise Interrupted
        if not result.applied:
            raise InvocationError(
                f"invocation {waiter_id} could not pause: it is {result.record.status} "
                f"(owner {result.record.owner_id}); was it recovered by another runner?",
                invocation_id=waiter_id,
            )

    def _resume_in_one_step(
        self, steps: WaitSteps, waiter: InvocationRecord, held: list[Unstored], request: TransitionRequest
    ) -> TransitionResult:
        """The resume's group as one backend call (the held endings are final: nothing to send)."""
        orchestrator = self.orchestrator
        endings = [ending.request for ending in held]
        stored, result = steps.resume_waiting(waiter.invocation_id, endings, request)
        for ending, ending_result in zip(endings, stored, strict=True):
            if ending_result is not None:
                orchestrator.settle(ending, ending_result)
            orchestrator.report(ending, ending_result)
        orchestrator.settle(request, result)
        return result

    def _wait_final(self, pending: list[str], timeout_s: float | None) -> None:
        wait_all(self.orchestrator.backends.state, pending, timeout_s)

    def _resume(self, waiter: InvocationRecord, held: list[Unstored]) -> None:
        """The held ending stored, out of the waits-for graph and PAUSED -> RUNNING, in one group;
        while another invocation holds the running key, wait for it."""
        state = self.orchestrator.backends.state
        unwaited = False
        try:
            while True:
                request = self.orchestrator.plan(
                    waiter.invocation_id,
                    InvocationStatus.RUNNING,
                    self.runner.runner_id,
                    reason="dependencies final",
                    exclusive_key=waiter.running_key,
                )
                if (
                    self._steps is not None
                    and not unwaited
                    and all(e.request.change.status in FINAL_STATUSES for e in held)
                ):
                    result = self._resume_in_one_step(self._steps, waiter, held, request)
                else:
                    with self.orchestrator.backends.atomic():
                        for ending in held:  # forgotten only once the group is through (a rollback keeps them)
                            self._store(ending)
                        if not unwaited:
                            state.remove_waits(waiter.invocation_id)
                        result = self.orchestrator.store(request)
                held.clear()
                unwaited = True
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
        finally:
            self._store_held(held)  # the group failed before it was stored: on its own
            if not unwaited:
                state.remove_waits(waiter.invocation_id)
