"""TriggerStore: conditions, triggers, events, cron ticks and trigger runs."""

from __future__ import annotations

from pynenc_nb.ports import TriggerStore
from tests.conformance.builders import race

T0 = 1_000_000.0


def test_conditions_are_stored_and_replaced(trigger_store: TriggerStore) -> None:
    trigger_store.put_condition("c1", "v1")
    trigger_store.put_condition("c2", "v2")
    trigger_store.put_condition("c1", "v1b")
    assert trigger_store.conditions() == {"c1": "v1b", "c2": "v2"}


def test_triggers_are_found_by_each_of_their_conditions(trigger_store: TriggerStore) -> None:
    # Given t1 uses c1 and c2, t2 uses c2
    trigger_store.put_trigger("t1", "tests.add", "def-1", ["c1", "c2"])
    trigger_store.put_trigger("t2", "tests.mul", "def-2", ["c2"])
    assert trigger_store.triggers_for_condition("c2") == {"t1": "def-1", "t2": "def-2"}
    # When t1 is redefined to use c3 only
    trigger_store.put_trigger("t1", "tests.add", "def-1b", ["c3"])
    # Then it is found by c3 alone, with its new definition
    assert trigger_store.triggers_for_condition("c1") == {}
    assert trigger_store.triggers_for_condition("c2") == {"t2": "def-2"}
    assert trigger_store.triggers_for_condition("c3") == {"t1": "def-1b"}


def test_a_condition_listed_twice_is_used_once(trigger_store: TriggerStore) -> None:
    # Given a trigger whose definition names one condition twice (e.g. ``a | a``)
    trigger_store.put_trigger("t1", "tests.add", "def-1", ["c1", "c1"])
    # Then it is stored, and found once by that condition
    assert trigger_store.triggers_for_condition("c1") == {"t1": "def-1"}


def _events(store: TriggerStore) -> None:
    for index, code in enumerate(["a", "b", "a", "c", "a"]):
        store.add_event(f"e{index}", code, f"payload-{index}", T0 + index)


def test_events_newest_first_with_code_since_and_limit(trigger_store: TriggerStore) -> None:
    _events(trigger_store)
    assert [e[0] for e in trigger_store.events()] == ["e4", "e3", "e2", "e1", "e0"]
    assert trigger_store.events(limit=1) == [("e4", "a", "payload-4", T0 + 4)]
    assert [e[0] for e in trigger_store.events(code="a")] == ["e4", "e2", "e0"]
    assert [e[0] for e in trigger_store.events(since=T0 + 2)] == ["e4", "e3", "e2"]  # inclusive
    assert [e[0] for e in trigger_store.events(code="a", since=T0 + 1, limit=1)] == ["e4"]
    assert trigger_store.events(code="missing") == []


def test_purge_events_by_age(trigger_store: TriggerStore) -> None:
    _events(trigger_store)
    assert trigger_store.purge_events(older_than=T0 + 2) == 2
    assert [e[0] for e in trigger_store.events()] == ["e4", "e3", "e2"]


def test_purge_events_keeping_the_last(trigger_store: TriggerStore) -> None:
    _events(trigger_store)
    assert trigger_store.purge_events(keep_last=2) == 3
    assert [e[0] for e in trigger_store.events()] == ["e4", "e3"]
    assert trigger_store.purge_events(keep_last=5) == 0
    assert trigger_store.purge_events(keep_last=0) == 2
    assert trigger_store.events() == []


def test_purge_events_by_age_and_count(trigger_store: TriggerStore) -> None:
    _events(trigger_store)
    assert trigger_store.purge_events(older_than=T0 + 1, keep_last=3) == 2
    assert [e[0] for e in trigger_store.events()] == ["e4", "e3", "e2"]


def test_claim_tick_is_won_once_per_trigger_and_tick(trigger_store: TriggerStore) -> None:
    # When eight runners claim the same tick at once
    won = race(8, lambda i: trigger_store.claim_tick("t1", T0))
    # Then exactly one wins, and later claims of it lose
    assert sum(won) == 1
    assert not trigger_store.claim_tick("t1", T0)
    # While another tick, or the same tick of another trigger, is free
    assert trigger_store.claim_tick("t1", T0 + 60)
    assert trigger_store.claim_tick("t2", T0)


def test_trigger_runs_newest_first_by_trigger(trigger_store: TriggerStore) -> None:
    trigger_store.add_trigger_run("r0", "t1", "e0", "inv-0", T0)
    trigger_store.add_trigger_run("r1", "t2", "e0", None, T0 + 1)
    trigger_store.add_trigger_run("r2", "t1", "cron", "inv-2", T0 + 2)
    assert [r[0] for r in trigger_store.trigger_runs()] == ["r2", "r1", "r0"]
    assert trigger_store.trigger_runs(trigger_id="t1") == [
        ("r2", "t1", "cron", "inv-2", T0 + 2),
        ("r0", "t1", "e0", "inv-0", T0),
    ]
    assert trigger_store.trigger_runs(trigger_id="t2") == [("r1", "t2", "e0", None, T0 + 1)]
    assert [r[0] for r in trigger_store.trigger_runs(limit=1)] == ["r2"]


def test_purge_forgets_everything(trigger_store: TriggerStore) -> None:
    # Given one of everything
    trigger_store.put_condition("c1", "v")
    trigger_store.put_trigger("t1", "tests.add", "def", ["c1"])
    trigger_store.add_event("e1", "a", "p", T0)
    assert trigger_store.claim_tick("t1", T0)
    trigger_store.add_trigger_run("r1", "t1", "e1", None, T0)
    # When the store is purged
    trigger_store.purge()
    # Then it is empty and ticks can be claimed again
    assert trigger_store.conditions() == {}
    assert trigger_store.triggers_for_condition("c1") == {}
    assert trigger_store.events() == [] and trigger_store.trigger_runs() == []
    assert trigger_store.claim_tick("t1", T0)
