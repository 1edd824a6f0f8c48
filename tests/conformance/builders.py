"""Records and compare-and-set requests built the way the orchestrator builds them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from pynenc_nb.invocation.status import STATUS_TABLE, InvocationStatus, owner_rule, sources_of
from pynenc_nb.orchestrator import NON_FINAL, RUNNING_CONTROLLED
from pynenc_nb.records import InvocationRecord, Outcome, StatusChange, TransitionRequest, WorkflowIdentity, new_id

S = InvocationStatus
__all__ = ["NON_FINAL", "S", "cas", "race", "record"]
T = TypeVar("T")


def record(
    task_id: str = "tests.task",
    *,
    call_id: str | None = None,
    parent: str | None = None,
    workflow: WorkflowIdentity | None = None,
    registration_key: str | None = None,
    running_key: str | None = None,
    queue: str = "default",
    priority: int = 0,
    created_at: float | None = None,
) -> InvocationRecord:
    """A new invocation as a caller would hand it to ``register``."""
    invocation_id = new_id()
    return InvocationRecord(
        invocation_id=invocation_id,
        task_id=task_id,
        call_id=call_id or new_id(),
        arguments='{"x": "1"}',
        args_display='{"x": "1"}',
        parent_invocation_id=parent,
        workflow=workflow,
        task_version="v1",
        queue=queue,
        priority=priority,
        registration_key=registration_key,
        running_key=running_key,
        created_at=time.time() if created_at is None else created_at,
    )


def cas(
    invocation_id: str,
    to: InvocationStatus,
    caller: str | None,
    *,
    at: float | None = None,
    reason: str | None = None,
    outcome: Outcome | None = None,
    exclusive_key: str | None = None,
) -> TransitionRequest:
    """The compare-and-set the status table asks for when ``caller`` moves an invocation to ``to``."""
    allowed_owners, new_owner = owner_rule(to, caller)
    return TransitionRequest(
        change=StatusChange(invocation_id, to, new_owner, caller, time.time() if at is None else at, reason),
        allowed_from=sources_of(to),
        allowed_owners=allowed_owners,
        counter=STATUS_TABLE[to].counter,
        outcome=outcome,
        exclusive_key=exclusive_key,
        exclusive_statuses=RUNNING_CONTROLLED if exclusive_key else frozenset(),
    )


def race(workers: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in ``workers`` threads released together; return the results in order."""
    barrier = threading.Barrier(workers)
    results: list[T | None] = [None] * workers
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), "a racing thread did not finish"
    return results  # type: ignore[return-value]
