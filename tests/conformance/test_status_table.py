"""The status table itself: nothing can strand an invocation, and the oracle catches bad histories."""

from __future__ import annotations

from pynenc_nb.invocation.status import FINAL_STATUSES, STATUS_TABLE, InvocationStatus, replay_errors

S = InvocationStatus


def _reachable(start: InvocationStatus) -> set[InvocationStatus]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in STATUS_TABLE[todo.pop()].next:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_status_is_in_the_table_and_reachable() -> None:
    assert set(STATUS_TABLE) == set(InvocationStatus)
    assert _reachable(S.REGISTERED) == set(InvocationStatus)


def test_every_non_final_status_has_a_path_to_a_final_one() -> None:
    stranded = [s for s in STATUS_TABLE if not s.is_final and not (_reachable(s) & FINAL_STATUSES)]
    assert stranded == []


def test_final_statuses_have_no_successor() -> None:
    assert {S.SUCCESS, S.FAILED, S.KILLED, S.CONCURRENCY_CONTROLLED_FINAL} == FINAL_STATUSES
    assert {s: STATUS_TABLE[s].next for s in FINAL_STATUSES} == {s: frozenset() for s in FINAL_STATUSES}


def test_the_oracle_accepts_a_legal_history_and_rejects_broken_ones() -> None:
    legal = [(S.REGISTERED, None, None), (S.PENDING, "r1", "r1"), (S.RUNNING, "r1", "r1"), (S.SUCCESS, None, "r1")]
    assert replay_errors(legal) == []
    assert replay_errors([(S.REGISTERED, None, None), (S.RUNNING, "r1", "r1")])  # skipped PENDING
    assert replay_errors([*legal[:2], (S.RUNNING, "r2", "r2")])  # started by a non-owner
    assert replay_errors([*legal, (S.RUNNING, "r1", "r1")])  # moved on after a final status
    assert replay_errors([(S.PENDING, "r1", "r1")])  # did not start REGISTERED
