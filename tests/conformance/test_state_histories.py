"""InvocationStore.histories: the bulk history read behind the monitor's timeline."""

from __future__ import annotations

from pynenc_nb.ports import StateBackend
from tests.conformance.builders import NON_FINAL, S, cas, record


def test_histories_equal_each_history_across_chunks(state: StateBackend) -> None:
    # Given 1,100 invocations (more than two read chunks) with histories of different lengths
    stored = state.register([record() for _ in range(1100)], "caller", NON_FINAL)
    ids = [r.invocation_id for r in stored]
    for index, invocation_id in enumerate(ids):
        if index % 3:
            assert state.transition(cas(invocation_id, S.PENDING, "r1", at=1000.0 + index)).applied
        if index % 3 == 2:
            assert state.transition(cas(invocation_id, S.RUNNING, "r1", at=1001.0 + index)).applied
            assert state.transition(cas(invocation_id, S.SUCCESS, "r1", at=1002.0 + index, reason="ok")).applied
    # When they are read in bulk, in a shuffled order, with an unknown id and a duplicate
    asked = [*reversed(ids), "missing", ids[7]]
    found = state.histories(asked)
    # Then every known id maps to exactly its own history, in append order, and the unknown one is left out
    assert set(found) == set(ids)
    for invocation_id in ids:
        assert found[invocation_id] == state.history(invocation_id)
    lengths = {len(found[i]) for i in ids}
    assert lengths == {1, 2, 4}
    finished = found[ids[2]]
    assert [c.status for c in finished] == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]
    assert (finished[-1].runner_id, finished[-1].reason, finished[-1].at) == ("r1", "ok", 1004.0)


def test_histories_of_nothing_and_of_unknown_ids_are_empty(state: StateBackend) -> None:
    assert state.histories([]) == {}
    assert state.histories(["missing-1", "missing-2"]) == {}


def test_history_rows_are_the_histories_as_status_owner_and_time(state: StateBackend) -> None:
    from pynenc_nb.monitor.common import history_rows

    # Given invocations with histories of different lengths, more than one read chunk of them
    stored = state.register([record() for _ in range(600)], "caller", NON_FINAL)
    ids = [r.invocation_id for r in stored]
    for index, invocation_id in enumerate(ids):
        if index % 2:
            assert state.transition(cas(invocation_id, S.PENDING, "r1", at=2000.0 + index)).applied
            assert state.transition(cas(invocation_id, S.RUNNING, "r1", at=2000.5 + index)).applied
    # When the monitor reads them as rows (the backend's own rows where it offers them)
    rows = history_rows(state, [*reversed(ids), "missing"])
    # Then each is its history's (status, owner, time), in append order, and unknown ids are left out
    histories = state.histories(ids)
    assert set(rows) == set(ids)
    for invocation_id in ids:
        assert rows[invocation_id] == [(c.status, c.owner_id, c.at) for c in histories[invocation_id]]
    assert rows[ids[1]] == [
        (S.REGISTERED, None, histories[ids[1]][0].at),
        (S.PENDING, "r1", 2001.0),
        (S.RUNNING, "r1", 2001.5),
    ]
    assert history_rows(state, []) == {}
