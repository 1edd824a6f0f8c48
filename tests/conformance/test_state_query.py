"""InvocationStore: monitor queries (filters, cursor pages, newest first) and status counts."""

from __future__ import annotations

import pytest

from pynenc_nb.ports import StateBackend
from pynenc_nb.records import InvocationFilter, InvocationRecord, WorkflowIdentity
from tests.conformance.builders import NON_FINAL, S, cas, record

BASE = 1_000_000.0


def _all(state: StateBackend, flt: InvocationFilter, limit: int = 100) -> list[InvocationRecord]:
    records, cursor = state.query(flt, limit=limit)
    pages = 1
    while cursor is not None:
        page, cursor = state.query(flt, limit=limit, cursor=cursor)
        records += page
        pages += 1
        assert pages < 1000, "the cursor does not advance"
    return records


def test_pages_cover_every_record_once_newest_updated_first(state: StateBackend) -> None:
    # Given 250 invocations updated at 50 distinct times (five share each time)
    stored = state.register([record() for _ in range(250)], None, NON_FINAL)
    for index, r in enumerate(stored):
        assert state.transition(cas(r.invocation_id, S.PENDING, "r1", at=BASE + index % 50)).applied
    # When paging through them 40 at a time
    first, cursor = state.query(InvocationFilter(), limit=40)
    seen = _all(state, InvocationFilter(), limit=40)
    # Then every record comes exactly once, newest update first, ties by id, and the last page ends it
    assert len(first) == 40 and cursor is not None
    ids = [r.invocation_id for r in seen]
    assert len(ids) == len(set(ids)) == 250
    assert [(r.updated_at, r.invocation_id) for r in seen] == sorted(
        ((r.updated_at, r.invocation_id) for r in seen), reverse=True
    )
    assert seen[0].updated_at == BASE + 49
    assert state.query(InvocationFilter(), limit=250)[1] is None


def test_pages_of_several_statuses_cover_each_once_newest_first(state: StateBackend) -> None:
    # Given 120 invocations in three statuses, updated at 20 distinct times shared across statuses
    stored = state.register([record() for _ in range(120)], None, NON_FINAL)
    moves = [S.PENDING, S.FAILED, S.REROUTED]
    for index, r in enumerate(stored):
        assert state.transition(cas(r.invocation_id, moves[index % 3], None, at=BASE + index % 20)).applied
    # When paging 7 at a time through two of the statuses, within a window of the times
    flt = InvocationFilter(
        statuses=frozenset({S.PENDING, S.REROUTED}), updated_after=BASE + 2, updated_before=BASE + 18
    )
    seen = _all(state, flt, limit=7)
    # Then each matching invocation comes once, newest update first, ties by id
    expected = sorted(
        (
            (BASE + index % 20, r.invocation_id)
            for index, r in enumerate(stored)
            if moves[index % 3] in flt.statuses and BASE + 2 <= BASE + index % 20 < BASE + 18  # type: ignore[operator]
        ),
        reverse=True,
    )
    assert [(r.updated_at, r.invocation_id) for r in seen] == expected and len(expected) == 64
    assert {r.status for r in seen} == {S.PENDING, S.REROUTED}


@pytest.fixture
def population(state: StateBackend) -> dict[str, InvocationRecord]:
    """Six invocations across tasks, parents, workflows, owners and update times."""
    flow = WorkflowIdentity("wf-1", "tests.flow")
    spec = {
        "root": record("tests.flow", workflow=flow),
        "child": record("tests.add", parent="root-id", workflow=flow),
        "sibling": record("tests.add", parent="root-id"),
        "lone": record("tests.add"),
        "other": record("tests.mul"),
        "done": record("tests.mul", workflow=flow),
    }
    state.register(list(spec.values()), None, NON_FINAL)
    moves = {
        "root": (S.PENDING, "r1"),
        "child": (S.PENDING, "r2"),
        "sibling": (S.PENDING, "r1"),
        "done": (S.FAILED, None),
    }
    for index, name in enumerate(spec):
        to, caller = moves.get(name, (S.REROUTED, None))
        assert state.transition(cas(spec[name].invocation_id, to, caller, at=BASE + index)).applied
    return {name: r for name, r in spec.items()}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (InvocationFilter(), {"root", "child", "sibling", "lone", "other", "done"}),
        (InvocationFilter(statuses=frozenset({S.PENDING})), {"root", "child", "sibling"}),
        (InvocationFilter(statuses=frozenset({S.FAILED, S.REROUTED})), {"lone", "other", "done"}),
        (InvocationFilter(statuses=frozenset({S.SUCCESS})), set()),
        (InvocationFilter(task_id="tests.add"), {"child", "sibling", "lone"}),
        (InvocationFilter(owner_id="r1"), {"root", "sibling"}),
        (InvocationFilter(parent_invocation_id="root-id"), {"child", "sibling"}),
        (InvocationFilter(workflow_id="wf-1"), {"root", "child", "done"}),
        (InvocationFilter(updated_after=BASE + 3), {"lone", "other", "done"}),  # inclusive
        (InvocationFilter(updated_before=BASE + 3), {"root", "child", "sibling"}),  # exclusive
        (InvocationFilter(updated_after=BASE + 1, updated_before=BASE + 4), {"child", "sibling", "lone"}),
        (InvocationFilter(task_id="tests.add", owner_id="r1"), {"sibling"}),
        (InvocationFilter(task_id="tests.mul", workflow_id="wf-1", statuses=frozenset({S.FAILED})), {"done"}),
    ],
)
def test_every_filter_field_selects_its_records(
    state: StateBackend, population: dict[str, InvocationRecord], flt: InvocationFilter, expected: set[str]
) -> None:
    # When querying with the filter, in small pages
    found = {r.invocation_id for r in _all(state, flt, limit=2)}
    # Then exactly the expected invocations come back
    assert found == {population[name].invocation_id for name in expected}


def test_count_by_status_with_and_without_filter(state: StateBackend, population: dict[str, InvocationRecord]) -> None:
    # Then the counts add up per status, overall and within a filter
    assert state.count_by_status() == {S.PENDING: 3, S.REROUTED: 2, S.FAILED: 1}
    assert state.count_by_status(InvocationFilter()) == {S.PENDING: 3, S.REROUTED: 2, S.FAILED: 1}
    assert state.count_by_status(InvocationFilter(task_id="tests.mul")) == {S.REROUTED: 1, S.FAILED: 1}
    assert state.count_by_status(InvocationFilter(workflow_id="wf-1", owner_id="r2")) == {S.PENDING: 1}
    assert state.count_by_status(InvocationFilter(statuses=frozenset({S.SUCCESS}))) == {}


def test_running_key_filter(state: StateBackend) -> None:
    # Given invocations with two running keys and none
    keyed = state.register(
        [record(running_key="run:a"), record(running_key="run:a"), record(running_key="run:b")], None, NON_FINAL
    )
    state.register([record()], None, NON_FINAL)
    # Then the filter selects by key, also with a status
    assert {r.invocation_id for r in _all(state, InvocationFilter(running_key="run:a"))} == {
        keyed[0].invocation_id,
        keyed[1].invocation_id,
    }
    assert state.transition(cas(keyed[0].invocation_id, S.PENDING, "r1")).applied
    pending = InvocationFilter(statuses=frozenset({S.PENDING}), running_key="run:a")
    assert [r.invocation_id for r in _all(state, pending)] == [keyed[0].invocation_id]
    assert state.count_by_status(InvocationFilter(running_key="run:b")) == {S.REGISTERED: 1}


def test_a_query_without_arguments_is_the_same_page_with_the_serialized_arguments_left_out(
    state: StateBackend,
) -> None:
    # Given invocations with sizeable serialized arguments, some of them RUNNING
    from dataclasses import replace

    heavy = [replace(record(), arguments="A" * 20_000) for _ in range(12)]
    stored = state.register(heavy, None, NON_FINAL)
    for index, r in enumerate(stored[:5]):
        assert state.transition(cas(r.invocation_id, S.PENDING, "r1", at=BASE + index)).applied
    for flt in (InvocationFilter(), InvocationFilter(statuses=frozenset({S.PENDING, S.REGISTERED}))):
        # When the same pages are asked for with and without the arguments (as the monitor asks)
        full, full_cursor = state.query(flt, limit=7)
        light, light_cursor = state.query(flt, limit=7, arguments=False)
        rest, _ = state.query(flt, limit=7, cursor=light_cursor, arguments=False)
        # Then they are the same records in the same order, only the arguments left out
        assert [replace(r, arguments="") for r in full] == light
        assert all(r.arguments == "A" * 20_000 for r in full)
        assert light_cursor == full_cursor
        assert len(light) + len(rest) == 12 and all(r.arguments == "" for r in rest)
        assert {r.invocation_id for r in light + rest} == {r.invocation_id for r in stored}
    # And the records read whole afterwards still carry them (nothing cached without them)
    assert all(r.arguments == "A" * 20_000 for r in state.get_many([r.invocation_id for r in stored]).values())
