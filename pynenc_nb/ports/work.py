"""Taking work: what a runner's worker calls, and what taking needs of the orchestration.

A backend chooses how its runners take work. The generic source (``backends/work.py``) runs
receive -> claim -> ack -> start over the plain ports; a backend that holds queues and
invocations together may do all of it in one server step (Redis), batch short calls or hand new
calls straight to an idle worker. Runners see only :class:`WorkSource`.
"""

from __future__ import annotations

from typing import Protocol

from pynenc_nb.records import InvocationRecord, TransitionRequest, TransitionResult


class TakeRules(Protocol):
    """The orchestration's side of a take (the ``Orchestrator`` implements it): which compare-and-set
    requests claim and start an invocation, and what follows each stored change."""

    def claim_request(self, invocation_id: str, runner_id: str) -> TransitionRequest:
        """Queued -> PENDING for ``runner_id``."""
        ...

    def start_request(self, invocation_id: str, runner_id: str, running_key: str | None) -> TransitionRequest:
        """PENDING -> RUNNING, exclusive on ``running_key`` (a backend that reads the record's own
        key on the server may build it once with None and apply it to every invocation it takes)."""
        ...

    def settle(self, request: TransitionRequest, result: TransitionResult) -> None:
        """What follows a stored change, whoever stored it (a freed running key lets a waiting call go)."""
        ...

    def started(self, claimed: InvocationRecord, result: TransitionResult) -> InvocationRecord | None:
        """The RUNNING record after a start, or None when running concurrency kept the call from
        starting (it waits or ends as its task says)."""
        ...

    def ended(self, request: TransitionRequest, result: TransitionResult | None) -> None:
        """An ending sent with a take was stored (``None``: the invocation was purged while it ran)."""
        ...

    def give_back(self, invocation_id: str, runner_id: str, reason: str) -> None:
        """An invocation started for this worker and not run goes back to its queue."""
        ...


class WorkSource(Protocol):
    """One worker's supply of started invocations. Not shared between threads."""

    def next(self, timeout_s: float) -> InvocationRecord | None:
        """The next invocation claimed and started (RUNNING) for this worker, or None when nothing
        came within ``timeout_s``. The endings held by ``finish`` are stored first, whatever the
        queues hold and before any blocking. Raises when the backend fails; the held endings are
        then kept (or already stored: a change is applied once) and go with the next call."""
        ...

    def finish(self, ending: TransitionRequest) -> None:
        """Hold the final transition of an invocation this worker ran, to store with the next take."""
        ...

    def flush(self) -> None:
        """Store the held endings now and give back anything taken ahead of its turn: the task
        being run waits on other invocations, so nothing may wait behind it."""
        ...

    def close(self) -> None:
        """``flush``, and take no more: whatever was handed to this worker goes back to a queue."""
        ...
