"""WaitGraph: which running invocations wait on which others, with atomic cycle detection."""

from __future__ import annotations

from pynenc_nb.ports import StateBackend
from tests.conformance.builders import race


def test_edges_are_counted_per_target(state: StateBackend) -> None:
    # Given a and b wait on t1, a also on t2
    assert state.add_waits("a", ["t1", "t2"]) is None
    assert state.add_waits("b", ["t1"]) is None
    assert state.add_waits("a", ["t1"]) is None  # an edge added twice counts once
    # Then each target knows how many wait on it; targets nobody waits on are left out
    assert state.waiter_counts(["t1", "t2", "t3"]) == {"t1": 2, "t2": 1}
    assert state.waiter_counts([]) == {}


def test_remove_waits_drops_every_edge_of_the_waiter(state: StateBackend) -> None:
    state.add_waits("a", ["t1", "t2"])
    state.add_waits("b", ["t1"])
    state.remove_waits("a")
    state.remove_waits("unknown")
    assert state.waiter_counts(["t1", "t2"]) == {"t1": 1}


def test_an_edge_closing_a_cycle_is_refused_with_the_cycle(state: StateBackend) -> None:
    # Given a -> b -> c
    assert state.add_waits("a", ["b"]) is None
    assert state.add_waits("b", ["c"]) is None
    # When c would wait on a (or on itself)
    cycle = state.add_waits("c", ["x", "a"])
    # Then the cycle is returned and no edge of the refused call is stored
    assert cycle == ["c", "a", "b", "c"]
    assert state.add_waits("d", ["d"]) == ["d", "d"]
    assert state.waiter_counts(["x", "a", "d"]) == {}
    # And once b stops waiting, c may wait on a
    state.remove_waits("b")
    assert state.add_waits("c", ["a"]) is None


def test_mutual_waits_started_at_once_cannot_both_succeed(state: StateBackend) -> None:
    # When a starts waiting on b and b on a at the same moment, many times over
    for round_ in range(20):
        pair = (f"a{round_}", f"b{round_}")

        def wait(i: int, pair: tuple[str, str] = pair) -> list[str] | None:
            return state.add_waits(pair[i], [pair[1 - i]])

        outcomes = race(2, wait)
        # Then exactly one of them is refused with the cycle
        assert sorted(o is None for o in outcomes) == [False, True], outcomes
