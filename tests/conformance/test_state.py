"""InvocationStore: registration, reads and the compare-and-set of every status change."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.ports import StateBackend
from pynenc_nb.records import Outcome, WorkflowIdentity
from tests.conformance.builders import NON_FINAL, S, cas, race, record

# --- register ------------------------------------------------------------------------------------


def test_register_stores_registered_record_with_one_history_entry(state: StateBackend) -> None:
    # Given a new invocation with every optional field set
    new = record(parent="p1", workflow=WorkflowIdentity("w1", "tests.flow", "w0"), running_key="run:k", priority=3)
    # When it is registered
    (stored,) = state.register([new], "caller-1", NON_FINAL)
    # Then it reads back REGISTERED, unowned, with every field intact and one history entry
    assert stored.status is S.REGISTERED and stored.owner_id is None and stored.updated_at > 0
    assert state.get(new.invocation_id) == stored
    assert (stored.parent_invocation_id, stored.workflow, stored.running_key, stored.priority) == (
        "p1",
        WorkflowIdentity("w1", "tests.flow", "w0"),
        "run:k",
        3,
    )
    (entry,) = state.history(new.invocation_id)
    assert (entry.status, entry.owner_id, entry.runner_id) == (S.REGISTERED, None, "caller-1")


def test_registration_key_returns_the_live_holder(state: StateBackend) -> None:
    # Given an invocation holding registration key k
    (first,) = state.register([record(registration_key="reg:k")], None, NON_FINAL)
    # When another one with the same key is registered, also twice within one batch
    second = record(registration_key="reg:k")
    out = state.register(
        [second, record(registration_key="reg:k"), record(registration_key="reg:other")], None, NON_FINAL
    )
    # Then the holder comes back in their place and the newcomers are not stored
    assert [r.invocation_id for r in out[:2]] == [first.invocation_id, first.invocation_id]
    assert out[2].registration_key == "reg:other" and state.get(out[2].invocation_id) is not None
    assert state.get(second.invocation_id) is None


def test_registration_key_of_a_final_invocation_is_not_reused(state: StateBackend) -> None:
    # Given the holder of key k has failed
    (first,) = state.register([record(registration_key="reg:k")], None, NON_FINAL)
    assert state.transition(cas(first.invocation_id, S.FAILED, None)).applied
    # When a new invocation with key k is registered, reusing only non-final holders
    new = record(registration_key="reg:k")
    (stored,) = state.register([new], None, NON_FINAL)
    # Then it is stored as a new invocation
    assert stored.invocation_id == new.invocation_id
    assert state.get(new.invocation_id) is not None


def test_registration_key_is_not_reused_without_reuse_statuses(state: StateBackend) -> None:
    (first,) = state.register([record(registration_key="reg:k")], None, NON_FINAL)
    (second,) = state.register([record(registration_key="reg:k")], None, frozenset())
    assert second.invocation_id != first.invocation_id
    assert state.get(second.invocation_id) == second


def test_concurrent_registrations_of_one_key_store_exactly_one(state: StateBackend) -> None:
    # Given eight callers registering different invocations with the same key at once
    candidates = [record(task_id="tests.keyed", registration_key="reg:race") for _ in range(8)]
    # When they race
    winners = race(8, lambda i: state.register([candidates[i]], None, NON_FINAL)[0].invocation_id)
    # Then all of them got the one stored invocation
    assert len(set(winners)) == 1
    assert sum(state.get(c.invocation_id) is not None for c in candidates) == 1


def test_registering_a_stored_id_again_returns_the_stored_record(state: StateBackend) -> None:
    # Given two stored invocations, one holding a registration key and since claimed by a runner
    plain, keyed = record(), record(registration_key="reg:k")
    first = state.register([plain, keyed], "caller-1", NON_FINAL)
    claimed = state.transition(cas(keyed.invocation_id, S.PENDING, "r1")).record
    # When records with their ids are registered again (other arguments, another time), one twice
    again = [replace(r, arguments='{"other": 1}', created_at=r.created_at + 60) for r in (plain, keyed, plain)]
    out = state.register(again, "caller-2", NON_FINAL)
    # Then the stored records answer and nothing is stored again: one record, one REGISTERED entry each
    assert out == [first[0], claimed, first[0]]
    assert state.get_many([plain.invocation_id, keyed.invocation_id]) == {
        plain.invocation_id: first[0],
        keyed.invocation_id: claimed,
    }
    assert [(e.status, e.runner_id) for e in state.history(plain.invocation_id)] == [(S.REGISTERED, "caller-1")]
    assert [e.status for e in state.history(keyed.invocation_id)] == [S.REGISTERED, S.PENDING]


def test_register_and_send_sends_a_stored_id_once(app: Pynenc) -> None:
    # Given an invocation registered and sent
    new = record(queue="q-once")
    (first,) = app.backends.register_and_send([new], "caller-1", NON_FINAL)
    # When a record with the same id is registered and sent again
    (again,) = app.backends.register_and_send([replace(new, created_at=new.created_at + 60)], "caller-2", NON_FINAL)
    # Then the stored one answers, and it waits on its queue once
    assert again == app.state_backend.get(new.invocation_id) and again.created_at == first.created_at
    assert app.broker.depth("q-once") == 1
    assert [e.status for e in app.state_backend.history(new.invocation_id)] == [S.REGISTERED]


def test_get_many_returns_only_known_ids(state: StateBackend) -> None:
    # Given two stored invocations
    stored = state.register([record(), record()], None, NON_FINAL)
    ids = [r.invocation_id for r in stored]
    # When they are read with an unknown id
    found = state.get_many([*ids, "missing"])
    # Then the known ones come back, keyed by id
    assert found == {r.invocation_id: r for r in stored}
    assert state.get("missing") is None
    assert state.get_many([]) == {}


# --- transition ----------------------------------------------------------------------------------


@pytest.fixture
def registered(state: StateBackend) -> str:
    return state.register([record()], None, NON_FINAL)[0].invocation_id


def test_transition_applies_and_appends_history(state: StateBackend, registered: str) -> None:
    # When runner r1 claims the invocation
    result = state.transition(cas(registered, S.PENDING, "r1", at=1234.5, reason="claimed"))
    # Then the new record is returned and stored, and the change is appended to the history
    assert result.applied and result.conflict is None
    assert (result.record.status, result.record.owner_id, result.record.updated_at) == (S.PENDING, "r1", 1234.5)
    assert state.get(registered) == result.record
    last = state.history(registered)[-1]
    assert (last.status, last.owner_id, last.runner_id, last.at, last.reason) == (
        S.PENDING,
        "r1",
        "r1",
        1234.5,
        "claimed",
    )


def test_transition_from_a_wrong_status_is_a_status_conflict(state: StateBackend, registered: str) -> None:
    # When a REGISTERED invocation is asked to go to RUNNING (only PENDING or PAUSED may)
    result = state.transition(cas(registered, S.RUNNING, None))
    # Then nothing changes and the current record is returned
    assert not result.applied and result.conflict == "status"
    assert result.record.status is S.REGISTERED
    assert len(state.history(registered)) == 1


def test_second_claim_loses(state: StateBackend, registered: str) -> None:
    # Given r1 claimed the invocation
    assert state.transition(cas(registered, S.PENDING, "r1")).applied
    # When r2 claims it too
    result = state.transition(cas(registered, S.PENDING, "r2"))
    # Then r2 gets a conflict and r1 keeps it
    assert not result.applied and result.conflict == "status" and result.record.owner_id == "r1"


def test_transition_by_a_non_owner_is_an_owner_conflict(state: StateBackend, registered: str) -> None:
    # Given r1 owns the invocation
    assert state.transition(cas(registered, S.PENDING, "r1")).applied
    # When r2 tries to start it
    result = state.transition(cas(registered, S.RUNNING, "r2"))
    # Then it is refused because of the owner, and the record is unchanged
    assert not result.applied and result.conflict == "owner"
    assert state.get(registered) == result.record and result.record.status is S.PENDING
    assert [c.status for c in state.history(registered)] == [S.REGISTERED, S.PENDING]


def test_running_key_is_exclusive_while_held(state: StateBackend) -> None:
    # Given two invocations sharing running key k, the first one running
    a, b = (
        r.invocation_id
        for r in state.register([record(running_key="run:k"), record(running_key="run:k")], None, NON_FINAL)
    )
    (c,) = (r.invocation_id for r in state.register([record(running_key="run:other")], None, NON_FINAL))
    for invocation_id, runner in ((a, "r1"), (b, "r2"), (c, "r3")):
        assert state.transition(cas(invocation_id, S.PENDING, runner)).applied
    assert state.transition(cas(a, S.RUNNING, "r1", exclusive_key="run:k")).applied
    # When the second one tries to start under the same key
    blocked = state.transition(cas(b, S.RUNNING, "r2", exclusive_key="run:k"))
    # Then it is refused as "exclusive", while an invocation with another key starts
    assert not blocked.applied and blocked.conflict == "exclusive" and blocked.record.status is S.PENDING
    assert state.transition(cas(c, S.RUNNING, "r3", exclusive_key="run:other")).applied
    # And once the first one is final, the second one starts
    assert state.transition(cas(a, S.SUCCESS, "r1")).applied
    assert state.transition(cas(b, S.RUNNING, "r2", exclusive_key="run:k")).applied


def test_counters_increment_with_their_status(state: StateBackend, registered: str) -> None:
    # When the invocation retries once and is recovered once
    steps = [
        (S.PENDING, "r1"), (S.RUNNING, "r1"), (S.RETRY, "r1"),
        (S.PENDING, "r2"), (S.RUNNING, "r2"), (S.RUNNING_RECOVERY, "monitor"), (S.REROUTED, "monitor"),
    ]  # fmt: skip
    for to, caller in steps:
        result = state.transition(cas(registered, to, caller))
        assert result.applied, (to, result)
    # Then each counter went up by one, in the returned and in the stored record
    assert (result.record.num_retries, result.record.recoveries) == (1, 1)
    stored = state.get(registered)
    assert stored is not None and (stored.num_retries, stored.recoveries) == (1, 1)


def test_outcome_is_stored_with_the_final_transition(state: StateBackend, registered: str) -> None:
    # Given a running invocation, without an outcome yet
    for to in (S.PENDING, S.RUNNING):
        assert state.transition(cas(registered, to, "r1")).applied
    assert state.outcome(registered) is None
    outcome = Outcome("result", '"42"', "42")
    # When a refused transition carries an outcome, then an applied one does
    assert not state.transition(cas(registered, S.SUCCESS, "r2", outcome=Outcome("result", "x", "x"))).applied
    assert state.outcome(registered) is None
    assert state.transition(cas(registered, S.SUCCESS, "r1", outcome=outcome)).applied
    # Then only the applied outcome is stored
    assert state.outcome(registered) == outcome


def test_transition_of_unknown_invocation_raises(state: StateBackend) -> None:
    with pytest.raises(InvocationNotFoundError):
        state.transition(cas("does-not-exist", S.PENDING, "r1"))
    assert state.history("does-not-exist") == []
    assert state.outcome("does-not-exist") is None


def test_concurrent_claims_have_one_winner(state: StateBackend, registered: str) -> None:
    # When eight runners claim the same invocation at once
    results = race(8, lambda i: state.transition(cas(registered, S.PENDING, f"r{i}")))
    # Then exactly one claim applied, and it owns the invocation
    (winner,) = [r for r in results if r.applied]
    assert state.get(registered) == winner.record
    assert len(state.history(registered)) == 2


def test_concurrent_exclusive_starts_have_one_winner(state: StateBackend) -> None:
    # Given eight claimed invocations sharing one running key
    stored = state.register([record(running_key="run:k") for _ in range(8)], None, NON_FINAL)
    for index, r in enumerate(stored):
        assert state.transition(cas(r.invocation_id, S.PENDING, f"r{index}")).applied
    # When they all start at once
    results = race(
        8, lambda i: state.transition(cas(stored[i].invocation_id, S.RUNNING, f"r{i}", exclusive_key="run:k"))
    )
    # Then exactly one runs; the others are refused as "exclusive"
    assert sorted(r.conflict or "applied" for r in results) == ["applied"] + ["exclusive"] * 7
