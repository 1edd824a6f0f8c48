"""Cursor encoding and filter matching shared by the backends' monitor queries.

Pages are ordered by (updated_at, invocation_id) descending; a cursor is the last row's key.
"""

from __future__ import annotations

from pynenc_nb.records import InvocationFilter, InvocationRecord


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
    if flt.updated_after is not None and record.updated_at < flt.updated_after:
        return False
    return not (flt.updated_before is not None and record.updated_at >= flt.updated_before)
