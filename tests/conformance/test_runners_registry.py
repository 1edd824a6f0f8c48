"""RunnerRegistry: runner contexts, heartbeats and the services lease."""

from __future__ import annotations

import time

from pynenc_nb.ports import StateBackend
from pynenc_nb.records import RunnerContext, RunnerInfo
from tests.conformance.builders import race

NOW = 1_000_000.0


def _runner(state: StateBackend, runner_cls: str = "ThreadRunner", **fields: object) -> RunnerInfo:
    info = RunnerInfo(RunnerContext.current(runner_cls), last_heartbeat=NOW, state="running", slots=4, **fields)  # type: ignore[arg-type]
    state.put_runner(info)
    return info


def test_put_runner_stores_the_full_context(state: StateBackend) -> None:
    # When a runner registers itself
    info = _runner(state, "ProcessRunner", busy=1, details='{"queues": ["default"]}')
    # Then it is listed exactly as stored
    assert state.runners() == [info]


def test_heartbeat_updates_time_load_and_state(state: StateBackend) -> None:
    # Given two runners
    a, b = _runner(state), _runner(state)
    # When one heartbeats with a new load, then stops
    state.heartbeat(a.context.runner_id, NOW + 5, busy=3)
    (after,) = [r for r in state.runners() if r.context.runner_id == a.context.runner_id]
    state.heartbeat(a.context.runner_id, NOW + 6, busy=0, state="stopped")
    # Then the heartbeat is visible, and a stopped runner is listed only on request
    assert (after.last_heartbeat, after.busy, after.state, after.context) == (NOW + 5, 3, "running", a.context)
    assert [r.context.runner_id for r in state.runners()] == [b.context.runner_id]
    stopped = {r.context.runner_id: r for r in state.runners(include_stopped=True)}
    assert set(stopped) == {a.context.runner_id, b.context.runner_id}
    assert (stopped[a.context.runner_id].state, stopped[a.context.runner_id].last_heartbeat) == ("stopped", NOW + 6)


def test_lease_has_one_holder_until_it_expires(state: StateBackend) -> None:
    """In real time: a backend shared by hosts keeps the expiry on its own clock, not the caller's."""
    # The checks inside a lease have ~1 s to spare, so a stalled machine does not fail them; the
    # checks past an expiry only get later when the machine stalls.
    ttl = 2.0
    # Given A holds the lease
    assert state.acquire_lease("services", "A", ttl_s=ttl, now=time.time())
    # Then B cannot take it while it lasts, but another lease is independent
    assert not state.acquire_lease("services", "B", ttl_s=ttl, now=time.time())
    assert state.acquire_lease("other", "B", ttl_s=ttl, now=time.time())
    # When A renews it, it lasts the ttl from the renewal
    time.sleep(1.2)
    assert state.acquire_lease("services", "A", ttl_s=ttl, now=time.time())
    time.sleep(0.9)  # past the first expiry, within the renewed one
    assert not state.acquire_lease("services", "B", ttl_s=ttl, now=time.time())
    # And once it has expired, B takes it over and A is out
    time.sleep(1.2)
    assert state.acquire_lease("services", "B", ttl_s=ttl, now=time.time())
    assert not state.acquire_lease("services", "A", ttl_s=ttl, now=time.time())


def test_release_frees_the_lease_only_for_its_holder(state: StateBackend) -> None:
    # Given A holds the lease
    assert state.acquire_lease("services", "A", ttl_s=60, now=NOW)
    # When B releases it, nothing happens
    state.release_lease("services", "B")
    assert not state.acquire_lease("services", "B", ttl_s=60, now=NOW + 1)
    # When A releases it, B can take it at once
    state.release_lease("services", "A")
    assert state.acquire_lease("services", "B", ttl_s=60, now=NOW + 1)


def test_concurrent_acquirers_get_one_winner(state: StateBackend) -> None:
    # When eight holders race for a free lease
    won = race(8, lambda i: state.acquire_lease("services", f"holder-{i}", ttl_s=60, now=NOW))
    # Then exactly one has it
    assert sum(won) == 1
