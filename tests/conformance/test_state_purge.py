"""StateBackend.purge: everything the app stored is gone, and the store is usable again."""

from __future__ import annotations

from pynenc_nb.ports import StateBackend
from pynenc_nb.records import InvocationFilter, RunnerContext, RunnerInfo
from tests.conformance.builders import NON_FINAL, S, cas, record


def test_purge_forgets_invocations_runners_leases_values_and_waits(state: StateBackend) -> None:
    # Given one of everything
    (stored,) = state.register([record(registration_key="reg:k")], "caller", NON_FINAL)
    assert state.transition(cas(stored.invocation_id, S.PENDING, "r1")).applied
    state.put_runner(RunnerInfo(RunnerContext.current("ThreadRunner"), 1.0, "running"))
    assert state.acquire_lease("services", "A", ttl_s=60, now=1.0)
    state.kv_put("tasks", "a", "1")
    assert state.add_waits("w", ["t"]) is None
    # When the state is purged
    state.purge()
    # Then nothing is left
    assert state.get(stored.invocation_id) is None and state.history(stored.invocation_id) == []
    assert state.query(InvocationFilter()) == ([], None) and state.count_by_status() == {}
    assert state.runners(include_stopped=True) == [] and state.kv_keys("tasks") == []
    assert state.waiter_counts(["t"]) == {}
    # And it works as new: the lease is free and the registration key is not held
    assert state.acquire_lease("services", "B", ttl_s=60, now=2.0)
    new = record(registration_key="reg:k")
    assert state.register([new], None, NON_FINAL)[0].invocation_id == new.invocation_id
