"""InvocationStore: waiting for final invocations and finding earlier calls."""

from __future__ import annotations

import threading
import time

from pynenc_nb.ports import StateBackend
from tests.conformance.builders import NON_FINAL, S, cas, record

WAKE_DELAY_S = 0.2  # lets the waiter block before the other thread finishes the invocation


def _two(state: StateBackend) -> tuple[str, str]:
    a, b = state.register([record(), record()], None, NON_FINAL)
    return a.invocation_id, b.invocation_id


def test_wait_final_returns_the_ids_already_final(state: StateBackend) -> None:
    # Given one of two invocations is final
    a, b = _two(state)
    assert state.transition(cas(a, S.FAILED, None)).applied
    # When waiting for both with a long timeout
    started = time.monotonic()
    done = state.wait_final([a, b, "unknown"], timeout_s=10)
    # Then it returns at once with just the final one
    assert done == {a}
    assert time.monotonic() - started < 2


def test_wait_final_returns_empty_on_timeout(state: StateBackend) -> None:
    # Given nothing is final
    a, b = _two(state)
    # When waiting briefly
    started = time.monotonic()
    done = state.wait_final([a, b], timeout_s=0.3)
    # Then it gives up empty-handed after about the timeout
    elapsed = time.monotonic() - started
    assert done == set()
    assert 0.25 <= elapsed < 5


def test_wait_final_is_woken_by_a_transition_in_another_thread(state: StateBackend) -> None:
    # Given a running invocation and a thread that will finish it shortly
    a, b = _two(state)
    for to in (S.PENDING, S.RUNNING):
        assert state.transition(cas(b, to, "r1")).applied
    finisher = threading.Timer(WAKE_DELAY_S, lambda: state.transition(cas(b, S.SUCCESS, "r1")))
    finisher.start()
    try:
        # When waiting with a long timeout
        started = time.monotonic()
        done = state.wait_final([a, b], timeout_s=20)
        elapsed = time.monotonic() - started
    finally:
        finisher.join()
    # Then the wait ends soon after the change, far before the timeout
    assert done == {b}
    assert elapsed < 3, elapsed


def test_find_by_call_returns_the_newest_match_in_the_statuses(state: StateBackend) -> None:
    # Given three invocations of one call (the oldest one succeeded) and one of another call
    now = time.time()
    old, mid, new = (record(task_id="tests.add", call_id="c1", created_at=now + i) for i in range(3))
    other = record(task_id="tests.add", call_id="c2", created_at=now + 3)
    state.register([old, mid, new, other], None, NON_FINAL)
    assert state.transition(cas(old.invocation_id, S.FAILED, None)).applied
    assert state.transition(cas(mid.invocation_id, S.REROUTED, None)).applied

    # When looking the call up by status
    def find(*statuses: S) -> str | None:
        hit = state.find_by_call("tests.add", "c1", frozenset(statuses))
        return hit.invocation_id if hit else None

    # Then the newest invocation in one of those statuses is found, or none
    assert find(S.FAILED) == old.invocation_id
    assert find(S.REGISTERED) == new.invocation_id
    assert find(S.REGISTERED, S.REROUTED, S.FAILED) == new.invocation_id
    assert find(S.REROUTED, S.FAILED) == mid.invocation_id
    assert find(S.SUCCESS) is None
    assert state.find_by_call("tests.other", "c1", NON_FINAL) is None
