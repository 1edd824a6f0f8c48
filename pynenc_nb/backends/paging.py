"""Helpers shared by backends: cursors and filter semantics of monitor queries, cycle search.

Pages are ordered by (updated_at, invocation_id) descending; a cursor is the last row's key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pynenc_nb.records import InvocationFilter, InvocationRecord


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
