"""The change log (``changes_since``): every status change, whatever path stored it, in store order."""

from __future__ import annotations

from typing import Any

from pynenc_nb import Pynenc
from pynenc_nb.ports import StateBackend
from pynenc_nb.records import StatusChange
from tests.conformance.builders import S, cas, record


def _follow(state: StateBackend, cursor: str | None, limit: int = 500) -> tuple[list[StatusChange], str]:
    """Read on until nothing is new, ``limit`` at a time."""
    seen: list[StatusChange] = []
    while True:
        changes, after = state.changes_since(cursor, limit)
        seen += changes
        if not changes:
            return seen, after
        assert after != cursor, "a read that returned changes must move the cursor"
        cursor = after


def test_registrations_and_transitions_are_logged_in_order(state: StateBackend) -> None:
    # Given a follower that starts now, and two registrations then changes to both
    start = state.change_cursor()
    first, second = record(), record()
    state.register([first, second], "client", frozenset())
    assert state.transition(cas(first.invocation_id, S.PENDING, "r1")).applied
    assert state.transition(cas(second.invocation_id, S.PENDING, "r2")).applied
    assert state.transition(cas(first.invocation_id, S.RUNNING, "r1")).applied
    # When it reads from its cursor, two at a time
    changes, cursor = _follow(state, start, limit=2)
    # Then it sees each change once, in the order they were stored, with who made it
    assert [(c.invocation_id, c.status) for c in changes] == [
        (first.invocation_id, S.REGISTERED),
        (second.invocation_id, S.REGISTERED),
        (first.invocation_id, S.PENDING),
        (second.invocation_id, S.PENDING),
        (first.invocation_id, S.RUNNING),
    ]
    assert changes[0].runner_id == "client" and changes[2].owner_id == "r1"
    # And a refused change is not logged, while the next applied one is, after the cursor
    assert not state.transition(cas(first.invocation_id, S.PENDING, "r3")).applied
    assert state.changes_since(cursor) == ([], cursor)
    assert state.transition(cas(second.invocation_id, S.RUNNING, "r2")).applied
    newer, _ = state.changes_since(cursor)
    assert [(c.invocation_id, c.status) for c in newer] == [(second.invocation_id, S.RUNNING)]


def test_reading_from_none_starts_at_the_oldest_change_kept(state: StateBackend) -> None:
    one = record()
    state.register([one], None, frozenset())
    changes, _ = _follow(state, None)
    assert [(c.invocation_id, c.status) for c in changes][-1] == (one.invocation_id, S.REGISTERED)
    assert state.change_cursor() == state.changes_since(state.change_cursor())[1]


def test_changes_made_by_a_work_source_are_logged(app: Pynenc) -> None:
    # Given a follower and a task, on the backend's own work source (Redis: one script a take)
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    state = app.state_backend
    start = state.change_cursor()
    call: Any = add(1, 2)
    source = app.orchestrator.work_source(["default"], "r1")
    taken = source.next(5.0)
    assert taken is not None
    source.finish(app.orchestrator.result_ending(taken, "r1", 3))
    source.close()
    # Then the follower saw the whole life of the call, in order
    changes, _ = _follow(state, start)
    mine = [c.status for c in changes if c.invocation_id == call.invocation_id]
    assert mine == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]
