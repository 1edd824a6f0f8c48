"""Concurrency control never strands an invocation, and running control is exclusive per key.

Overlaps are checked on the stored histories: a RUNNING spell lasts from its RUNNING entry to
the next status change of the same invocation.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pynenc_nb import (
    ConcurrencyControlType,
    InvocationConcurrencyControlledError,
    InvocationStatus,
    Pynenc,
)
from tests.guarantees.support import (
    TIMEOUT_S,
    overlapping,
    runner_processes,
    running,
    running_intervals,
    statuses,
)
from tests.support.processes import poll

S = InvocationStatus
CC = ConcurrencyControlType


@pytest.mark.parametrize("scope", [CC.ARGUMENTS, CC.TASK])
def test_registration_control_returns_the_existing_invocation_until_it_is_final(
    app: Pynenc, scope: ConcurrencyControlType
) -> None:
    @app.task(registration_concurrency=scope)
    def job(x: int) -> int:
        return x

    # Given an invocation that is not final yet (no runner)
    first = job(1)
    # When the same call is made again
    again = job(1)
    # Then the existing invocation is returned, not a new one
    assert again.invocation_id == first.invocation_id
    other = job(2)
    if scope is CC.TASK:  # one per task, whatever the arguments
        assert other.invocation_id == first.invocation_id
    else:  # one per distinct arguments
        assert other.invocation_id != first.invocation_id
    with running(app, max_threads=1):
        assert first.result_or(TIMEOUT_S) == 1
        assert other.result_or(TIMEOUT_S) == (1 if scope is CC.TASK else 2)
        # And once it is final, the same call registers a new invocation
        after = job(1)
        assert after.invocation_id != first.invocation_id
        assert after.result_or(TIMEOUT_S) == 1
    assert statuses(app, first.invocation_id)[0] is S.REGISTERED
    assert statuses(app, first.invocation_id).count(S.REGISTERED) == 1


def test_running_control_task_never_runs_two_at_once(app: Pynenc) -> None:
    @app.task(running_concurrency=CC.TASK)
    def one_at_a_time(value: int) -> int:
        time.sleep(0.15)
        return value

    # Given four invocations of an exclusive task and a runner with four threads
    group = one_at_a_time.parallelize(range(4))
    with running(app, max_threads=4):
        # Then all of them end SUCCESS
        assert sorted(group.iter_results(timeout=TIMEOUT_S)) == [0, 1, 2, 3]
    ids = [inv.invocation_id for inv in group]
    assert group.status_counts() == {S.SUCCESS: 4}
    # And no two RUNNING spells overlap
    spells = running_intervals(app, ids)
    assert len(spells) == 4
    assert overlapping(spells) == []
    # And the blocked ones waited in CONCURRENCY_CONTROLLED (the runner did try them in parallel)
    assert any(S.CONCURRENCY_CONTROLLED in statuses(app, i) for i in ids)


def test_running_control_keys_is_exclusive_per_key_only(app: Pynenc) -> None:
    @app.task(running_concurrency=CC.KEYS, key_arguments=("key",))
    def one_per_key(key: str, value: int) -> int:
        time.sleep(0.3)
        return value

    group = one_per_key.parallelize([("a", 1), ("a", 2), ("b", 3), ("b", 4)])
    with running(app, max_threads=4):
        assert sorted(group.iter_results(timeout=TIMEOUT_S)) == [1, 2, 3, 4]
    by_key = {"a": [i.invocation_id for i in group][:2], "b": [i.invocation_id for i in group][2:]}
    # Equal keys never overlap
    for ids in by_key.values():
        assert overlapping(running_intervals(app, ids)) == []
    # Different keys did run side by side
    assert overlapping(running_intervals(app, by_key["a"] + by_key["b"]))


def test_without_reroute_the_blocked_call_ends_controlled_final_and_result_raises(app: Pynenc) -> None:
    @app.task(running_concurrency=CC.TASK, reroute_on_concurrency_control=False)
    def exclusive(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    with running(app, max_threads=2):
        # Given one invocation running
        holder = exclusive(1.0)
        poll(lambda: holder.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the first call to run")
        # When another one is picked while it runs
        blocked = exclusive(0.0)
        # Then it ends CONCURRENCY_CONTROLLED_FINAL and its result raises the typed error
        assert blocked.wait(TIMEOUT_S) is S.CONCURRENCY_CONTROLLED_FINAL
        assert holder.status is S.RUNNING
        with pytest.raises(InvocationConcurrencyControlledError):
            _ = blocked.result
        assert holder.result_or(TIMEOUT_S) == 1.0
    assert statuses(app, blocked.invocation_id) == [
        S.REGISTERED,
        S.PENDING,
        S.CONCURRENCY_CONTROLLED_FINAL,
    ]


@pytest.mark.slow
def test_running_control_holds_across_worker_processes(tasks_module: Any, shared_env: dict[str, str]) -> None:
    app = tasks_module.app
    # Given a MultiThreadRunner with two processes of two threads
    args = ("--runner-cls", "MultiThreadRunner", "--num-processes", "2", "--max-threads", "2")
    with runner_processes(app, shared_env, 1, *args, registrations_each=3):
        exclusive = tasks_module.one_at_a_time.parallelize([(0.2, i) for i in range(4)])
        keyed = tasks_module.one_per_key.parallelize([(k, 0.4, i) for i, k in enumerate("aabb")])
        assert sorted(exclusive.iter_results(timeout=TIMEOUT_S)) == [0, 1, 2, 3]
        assert sorted(keyed.iter_results(timeout=TIMEOUT_S)) == [0, 1, 2, 3]

    exclusive_ids = [i.invocation_id for i in exclusive]
    keyed_ids = [i.invocation_id for i in keyed]
    assert exclusive.status_counts() == {S.SUCCESS: 4} and keyed.status_counts() == {S.SUCCESS: 4}
    assert overlapping(running_intervals(app, exclusive_ids)) == []
    assert overlapping(running_intervals(app, keyed_ids[:2])) == []
    assert overlapping(running_intervals(app, keyed_ids[2:])) == []
    assert overlapping(running_intervals(app, keyed_ids))
