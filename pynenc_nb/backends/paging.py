"""Helpers shared by backends: cursors and filter semantics of monitor queries, cycle search.

Pages are ordered by (updated_at, invocation_id) descending; a cursor is the last row's key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from pynenc_nb.records import EventRecord, InvocationFilter, InvocationRecord

K = TypeVar("K")
V = TypeVar("V")


def find_cycle(waiter_id: str, target_ids: list[str], waits_on: Callable[[str], Iterable[str]]) -> list[str] | None:
    """The path ``[waiter, …, waiter]`` if ``waiter`` is reachable from a target, else None."""
    parents: dict[str, str] = {}
    frontier = []
    for target in target_ids:
        if target == waiter_id:
            return [waiter_id, waiter_id]
        if target not in parents:
            parents[target] = waiter_id
            frontier.append(target)
    while frontier:
        node = frontier.pop()
        for nxt in waits_on(node):
            if nxt == waiter_id:
                path = [node]
                while path[-1] != waiter_id:
                    path.append(parents[path[-1]])
                return [waiter_id, *reversed(path[:-1]), waiter_id] if len(path) > 1 else [waiter_id, waiter_id]
            if nxt not in parents:
                parents[nxt] = node
                frontier.append(nxt)
    return None


def encode_cursor(record: InvocationRecord) -> str:
    return f"{record.updated_at!r}|{record.invocation_id}"


def decode_cursor(cursor: str) -> tuple[float, str]:
    at, _, invocation_id = cursor.partition("|")
    return float(at), invocation_id


def matches(record: InvocationRecord, flt: InvocationFilter) -> bool:
    """Reference semantics of a filter; SQL and server backends translate it to indexed queries."""
    if flt.statuses is not None and record.status not in flt.statuses:
        return False
    if flt.task_id is not None and record.task_id != flt.task_id:
        return False
    if flt.owner_id is not None and record.owner_id != flt.owner_id:
        return False
    if flt.parent_invocation_id is not None and record.parent_invocation_id != flt.parent_invocation_id:
        return False
    if flt.workflow_id is not None and (record.workflow is None or record.workflow.workflow_id != flt.workflow_id):
        return False
    if flt.running_key is not None and record.running_key != flt.running_key:
        return False
    if flt.updated_after is not None and record.updated_at < flt.updated_after:
        return False
    return not (flt.updated_before is not None and record.updated_at >= flt.updated_before)


# --- events: pages ordered by (at, event_id) descending, like invocations ----------------------------


def event_order(event: EventRecord) -> tuple[float, str]:
    return event.at, event.event_id


def event_cursor_of(event: EventRecord) -> str:
    return f"{event.at!r}|{event.event_id}"


def event_matches(
    event: EventRecord, code: str | None, since: float | None, until: float | None, cursor: str | None
) -> bool:
    """Reference semantics of an events page; ``cursor`` is the last event of the previous page."""
    if code is not None and event.code != code:
        return False
    if since is not None and event.at < since:
        return False
    if until is not None and event.at >= until:
        return False
    return cursor is None or event_order(event) < decode_cursor(cursor)


def event_page_cursor(found: Sequence[EventRecord], limit: int) -> str | None:
    """The next page's cursor, given the rows found past the page (``found`` holds more than
    ``limit`` rows when there is a next page)."""
    return event_cursor_of(found[limit - 1]) if limit > 0 and len(found) > limit else None


def retention_victims(
    items: Iterable[tuple[K, V]], at: Callable[[V], float], older_than: float | None, keep_last: int | None
) -> list[K]:
    """Keys of what retention removes: older than ``older_than``, and past the newest ``keep_last``."""
    ordered = sorted(items, key=lambda item: at(item[1]), reverse=True)
    doomed = [key for key, value in ordered if older_than is not None and at(value) < older_than]
    if keep_last is not None:
        survivors = [key for key, value in ordered if older_than is None or at(value) >= older_than]
        doomed.extend(survivors[keep_last:])
    return doomed
