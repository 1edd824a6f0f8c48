"""Concurrency keys as small key records (``KeyLocks``): taken with the change that needs them,
held only while their holder is in the statuses they were taken for."""

from __future__ import annotations

from pynenc_nb.invocation.status import NON_FINAL
from pynenc_nb.ports import StateBackend
from pynenc_nb.records import Outcome
from tests.conformance.builders import S, cas, race, record


def _pending(state: StateBackend, *records_: object, runner: str = "r1") -> list[str]:
    ids = []
    for rec in records_:
        (stored,) = state.register([rec], None, NON_FINAL)  # type: ignore[list-item]
        assert state.transition(cas(stored.invocation_id, S.PENDING, runner)).applied
        ids.append(stored.invocation_id)
    return ids


def test_an_exclusive_start_takes_the_key_and_a_refused_one_does_not(state: StateBackend) -> None:
    # Given two claimed invocations with the same running key, and nobody holding it yet
    a, b = _pending(state, record(running_key="run:k"), record(running_key="run:k"))
    assert state.key_holder("run:k") is None
    # When the first starts, it holds the key; the second's start is refused and takes nothing
    assert state.transition(cas(a, S.RUNNING, "r1", exclusive_key="run:k")).applied
    assert state.key_holder("run:k") == a
    refused = state.transition(cas(b, S.RUNNING, "r1", exclusive_key="run:k"))
    assert (refused.applied, refused.conflict, state.key_holder("run:k")) == (False, "exclusive", a)
    # When the first leaves RUNNING, its key is free without anyone releasing it: the second takes it
    done = Outcome("result", "1", "1")
    assert state.transition(cas(a, S.SUCCESS, "r1", outcome=done)).applied
    assert state.transition(cas(b, S.RUNNING, "r1", exclusive_key="run:k")).applied
    assert state.key_holder("run:k") == b


def test_a_paused_holder_frees_its_key_and_must_take_it_again_to_resume(state: StateBackend) -> None:
    a, b = _pending(state, record(running_key="run:p"), record(running_key="run:p"))
    assert state.transition(cas(a, S.RUNNING, "r1", exclusive_key="run:p")).applied
    assert state.transition(cas(a, S.PAUSED, "r1")).applied
    assert state.transition(cas(b, S.RUNNING, "r1", exclusive_key="run:p")).applied
    resumed = state.transition(cas(a, S.RUNNING, "r1", exclusive_key="run:p"))
    assert not resumed.applied and resumed.conflict == "exclusive" and state.key_holder("run:p") == b


def test_a_registration_key_is_held_by_the_live_invocation_then_taken_by_the_next(state: StateBackend) -> None:
    # Given an invocation registered with a key
    first = record(registration_key="reg:k")
    (stored,) = state.register([first], None, NON_FINAL)
    assert state.key_holder("reg:k") == first.invocation_id
    # Then another with the key is answered by it while it lives
    (answer,) = state.register([record(registration_key="reg:k")], None, NON_FINAL)
    assert answer.invocation_id == first.invocation_id
    # And once it is final, a new one is stored and takes the key
    for to in (S.PENDING, S.RUNNING):
        assert state.transition(cas(stored.invocation_id, to, "r1")).applied
    assert state.transition(cas(stored.invocation_id, S.SUCCESS, "r1", outcome=Outcome("result", "1", "1"))).applied
    later = record(registration_key="reg:k")
    (fresh,) = state.register([later], None, NON_FINAL)
    assert fresh.invocation_id == later.invocation_id and state.key_holder("reg:k") == later.invocation_id


def test_concurrent_registrations_with_one_key_store_one(state: StateBackend) -> None:
    answers = race(6, lambda i: state.register([record(registration_key="reg:race")], None, NON_FINAL)[0])
    assert len({a.invocation_id for a in answers}) == 1
    assert state.key_holder("reg:race") == answers[0].invocation_id
