"""TriggerStore: trigger definitions, events (followed and paged) and trigger runs (the claims)."""

from __future__ import annotations

from pynenc_nb.ports import TriggerStore
from pynenc_nb.records import EventRecord, TriggerRun
from tests.conformance.builders import race

T0 = 1_000_000.0


def _event(index: int, code: str = "a", at: float | None = None) -> EventRecord:
    return EventRecord(f"e{index}", code, f'{{"n": {index}}}', T0 + index if at is None else at, None, "runner-1")


def _run(run_id: str, trigger_id: str = "t1", source_id: str = "e0", invocation_id: str | None = "inv", at: float = T0):
    return TriggerRun(run_id, trigger_id, "tests.add", "event", source_id, invocation_id, at)


def test_triggers_are_replaced_per_task(trigger_store: TriggerStore) -> None:
    # Given two tasks with triggers
    trigger_store.put_triggers({"tests.add": {"t1": "def-1", "t2": "def-2"}, "tests.mul": {"t3": "def-3"}})
    assert trigger_store.triggers() == {
        "t1": ("tests.add", "def-1"),
        "t2": ("tests.add", "def-2"),
        "t3": ("tests.mul", "def-3"),
    }
    # When one task is redefined with another trigger, and the other without any
    trigger_store.put_triggers({"tests.add": {"t4": "def-4"}, "tests.mul": {}})
    # Then only the new trigger is left
    assert trigger_store.triggers() == {"t4": ("tests.add", "def-4")}


def test_putting_the_same_triggers_again_changes_nothing(trigger_store: TriggerStore) -> None:
    trigger_store.put_triggers({"tests.add": {"t1": "def-1"}})
    trigger_store.put_triggers({"tests.add": {"t1": "def-1"}})
    assert trigger_store.triggers() == {"t1": ("tests.add", "def-1")}


def test_events_are_followed_in_the_order_they_were_stored(trigger_store: TriggerStore) -> None:
    # Given a follower that starts before anything was emitted
    start = trigger_store.event_cursor()
    assert trigger_store.events_since(start) == ([], start)
    # When five events are stored, the later ones with an older clock (another host's)
    for index in range(5):
        trigger_store.add_event(_event(index, at=T0 - index))
    # Then they are read in storing order, in pages, and the cursor moves past them
    first, cursor = trigger_store.events_since(start, limit=3)
    assert [e.event_id for e in first] == ["e0", "e1", "e2"]
    rest, end = trigger_store.events_since(cursor, limit=3)
    assert [e.event_id for e in rest] == ["e3", "e4"]
    assert trigger_store.events_since(end) == ([], end)
    assert trigger_store.event_cursor() == end
    # And every field comes back as stored
    assert rest[0] == _event(3, at=T0 - 3)
    # And None reads from the oldest kept
    assert [e.event_id for e in trigger_store.events_since(None, limit=10)[0]] == ["e0", "e1", "e2", "e3", "e4"]


def test_events_pages_newest_first_with_code_since_until(trigger_store: TriggerStore) -> None:
    for index, code in enumerate(["a", "b", "a", "c", "a"]):
        trigger_store.add_event(_event(index, code))
    page, _ = trigger_store.events()
    assert [e.event_id for e in page] == ["e4", "e3", "e2", "e1", "e0"]
    assert [e.event_id for e in trigger_store.events(code="a")[0]] == ["e4", "e2", "e0"]
    assert [e.event_id for e in trigger_store.events(since=T0 + 2)[0]] == ["e4", "e3", "e2"]  # inclusive
    assert [e.event_id for e in trigger_store.events(until=T0 + 2)[0]] == ["e1", "e0"]  # exclusive
    assert trigger_store.events(code="missing") == ([], None)


def test_events_paginate_with_a_cursor(trigger_store: TriggerStore) -> None:
    # Given seven events, two of them at the same time
    for index in range(6):
        trigger_store.add_event(_event(index))
    trigger_store.add_event(_event(6, at=T0 + 5))
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page, cursor = trigger_store.events(limit=3, cursor=cursor)
        seen.extend(e.event_id for e in page)
        if cursor is None:
            break
    # Then every event is listed once, newest first
    assert sorted(seen) == [f"e{i}" for i in range(7)] and len(seen) == 7
    assert seen[-1] == "e0"


def test_get_events_by_id(trigger_store: TriggerStore) -> None:
    trigger_store.add_event(_event(0))
    trigger_store.add_event(_event(1))
    assert trigger_store.get_events(["e1", "missing"]) == {"e1": _event(1)}


def test_purge_events_by_age_and_count(trigger_store: TriggerStore) -> None:
    for index in range(5):
        trigger_store.add_event(_event(index))
    assert trigger_store.purge_events(older_than=T0 + 1) == 1
    assert trigger_store.purge_events(keep_last=3) == 1
    assert [e.event_id for e in trigger_store.events()[0]] == ["e4", "e3", "e2"]
    assert trigger_store.purge_events(keep_last=5) == 0
    assert trigger_store.purge_events(keep_last=0) == 3
    assert trigger_store.events() == ([], None)


def test_a_follower_continues_after_old_events_are_purged(trigger_store: TriggerStore) -> None:
    trigger_store.add_event(_event(0))
    _, cursor = trigger_store.events_since(None)
    trigger_store.purge_events(keep_last=0)
    trigger_store.add_event(_event(1))
    assert [e.event_id for e in trigger_store.events_since(cursor)[0]] == ["e1"]


def test_a_run_is_stored_once_by_any_number_of_claimants(trigger_store: TriggerStore) -> None:
    # When eight evaluators store the same run at once
    won = race(8, lambda i: trigger_store.add_trigger_runs([_run("r1")])[0])
    # Then exactly one stored it, and a later attempt does not
    assert sum(won) == 1
    assert trigger_store.add_trigger_runs([_run("r1"), _run("r2")]) == [False, True]
    assert sorted(r.run_id for r in trigger_store.trigger_runs()) == ["r1", "r2"]


def test_runs_are_found_by_trigger_source_and_invocation(trigger_store: TriggerStore) -> None:
    trigger_store.add_trigger_runs(
        [
            _run("r0", "t1", "e0", "inv-0", T0),
            _run("r1", "t2", "e0", None, T0 + 1),
            _run("r2", "t1", "2026-01-01T00:00:00Z", "inv-2", T0 + 2),
        ]
    )
    assert [r.run_id for r in trigger_store.trigger_runs()] == ["r2", "r1", "r0"]
    assert [r.run_id for r in trigger_store.trigger_runs(trigger_id="t1")] == ["r2", "r0"]
    assert [r.run_id for r in trigger_store.trigger_runs(source_ids=["e0"])] == ["r1", "r0"]
    assert trigger_store.trigger_runs(invocation_ids=["inv-2"]) == [
        _run("r2", "t1", "2026-01-01T00:00:00Z", "inv-2", T0 + 2)
    ]
    assert [r.run_id for r in trigger_store.trigger_runs(limit=1)] == ["r2"]
    assert trigger_store.trigger_runs(source_ids=[]) == []


def test_purge_trigger_runs_keeps_the_newest(trigger_store: TriggerStore) -> None:
    trigger_store.add_trigger_runs([_run(f"r{i}", at=T0 + i) for i in range(4)])
    assert trigger_store.purge_trigger_runs(keep_last=2) == 2
    assert [r.run_id for r in trigger_store.trigger_runs()] == ["r3", "r2"]
    assert trigger_store.purge_trigger_runs(older_than=T0 + 3) == 1
    assert [r.run_id for r in trigger_store.trigger_runs()] == ["r3"]


def test_purge_forgets_everything(trigger_store: TriggerStore) -> None:
    # Given one of everything
    trigger_store.put_triggers({"tests.add": {"t1": "def"}})
    trigger_store.add_event(_event(0))
    trigger_store.add_trigger_runs([_run("r1")])
    # When the store is purged
    trigger_store.purge()
    # Then it is empty and the run can be claimed again
    assert trigger_store.triggers() == {}
    assert trigger_store.events() == ([], None)
    assert trigger_store.trigger_runs() == []
    assert trigger_store.add_trigger_runs([_run("r1")]) == [True]


def test_a_runs_chain_depth_is_kept(trigger_store: TriggerStore) -> None:
    # Given a run made by a run's invocation (depth 2) and a plain one (depth 1, the default)
    chained = TriggerRun("r-chain", "t1", "tests.add", "status", "inv-1", "inv-2", T0, depth=2)
    trigger_store.add_trigger_runs([chained, _run("r-plain", invocation_id="inv-3")])
    # Then reading them back gives each its depth
    by_id = {r.run_id: r for r in trigger_store.trigger_runs(invocation_ids=["inv-2", "inv-3"])}
    assert (by_id["r-chain"].depth, by_id["r-plain"].depth) == (2, 1)
