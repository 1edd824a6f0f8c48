"""Invocation records and history entries as Redis hash fields and list items.

Optional fields are left out of the hash when they are ``None``; an empty string means ``None``
in script arguments (ids and keys are never empty). Times are ``repr(float)``, exact both ways.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pynenc_nb.invocation.status import STATUS_BY_VALUE, InvocationStatus
from pynenc_nb.ports.state import HistoryRow
from pynenc_nb.records import InvocationRecord, StatusChange, WorkflowIdentity

# Written once at registration; a process caches them (they never change).
STATIC_FIELDS = (
    "id", "task", "call", "args", "disp", "parent", "wf", "wft", "pwf", "ver", "queue", "prio", "regk", "runk",
    "created", "rr",
)  # fmt: skip
# Rewritten by status changes; ``chg`` names the last change (it makes a retried script idempotent).
MUTABLE_FIELDS = ("status", "owner", "retries", "recov", "updated")


def static_values(record: InvocationRecord) -> list[str]:
    """Script arguments in ``STATIC_FIELDS`` order."""
    wf = record.workflow
    return [
        record.invocation_id,
        record.task_id,
        record.call_id,
        record.arguments,
        record.args_display,
        record.parent_invocation_id or "",
        wf.workflow_id if wf else "",
        wf.workflow_type if wf else "",
        (wf.parent_workflow_id or "") if wf else "",
        record.task_version or "",
        record.queue,
        str(record.priority),
        record.registration_key or "",
        record.running_key or "",
        repr(record.created_at),
        "1" if record.reroute_on_concurrency_control else "0",
    ]


def pairs(flat: Sequence[Any]) -> dict[str, str]:
    """A dict from a flat ``[field, value, ...]`` reply (HGETALL inside a script)."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def to_record(h: Mapping[str, str]) -> InvocationRecord:
    wf = h.get("wf")
    return InvocationRecord(
        invocation_id=h["id"],
        task_id=h["task"],
        call_id=h["call"],
        arguments=h.get("args", ""),  # left out by query(arguments=False)
        args_display=h["disp"],
        status=STATUS_BY_VALUE[h["status"]],
        owner_id=h.get("owner") or None,
        parent_invocation_id=h.get("parent") or None,
        workflow=WorkflowIdentity(wf, h.get("wft", ""), h.get("pwf") or None) if wf else None,
        task_version=h.get("ver") or None,
        queue=h["queue"],
        priority=int(h["prio"]),
        registration_key=h.get("regk") or None,
        running_key=h.get("runk") or None,
        reroute_on_concurrency_control=h.get("rr") != "0",
        num_retries=int(h.get("retries", 0)),
        recoveries=int(h.get("recov", 0)),
        created_at=float(h["created"]),
        updated_at=float(h["updated"]),
    )


def with_values(
    record: InvocationRecord, status: str, owner: str, retries: str, recoveries: str, updated: str
) -> InvocationRecord:
    """``record`` with the mutable values a script returns (``MUTABLE_FIELDS`` order), read as
    :func:`to_record` reads them."""
    return record.with_status(
        STATUS_BY_VALUE[status], owner or None, float(updated), num_retries=int(retries), recoveries=int(recoveries)
    )


def entry(change: StatusChange) -> str:
    """A history entry: the JSON array [status, owner, runner, at, reason]."""
    head = entry_head(change.status, change.owner_id, change.runner_id)
    return entry_from(head, repr(change.at), change.reason)


@functools.lru_cache(maxsize=1024)
def entry_head(status: InvocationStatus, owner_id: str | None, runner_id: str | None) -> str:
    """The time-independent start of :func:`entry`, formatted once per kind of change."""
    return json.dumps([status.value, owner_id, runner_id])[:-1]


def entry_from(head: str, at: str, reason: str | None) -> str:
    """:func:`entry` from its head and ``repr`` of the time (JSON writes floats as ``repr`` does)."""
    before, after = entry_around(head, reason)
    return before + at + after


def entry_around(head: str, reason: str | None) -> tuple[str, str]:
    """What goes before and after the time in :func:`entry`: a script completes an entry whose time
    only it knows (a hand-off in ``register.lua``) by concatenation, without knowing the format."""
    return f"{head}, ", f", {'null' if reason is None else json.dumps(reason)}]"


def to_change(invocation_id: str, text: str) -> StatusChange:
    status, owner, runner, at, reason = json.loads(text)
    return StatusChange(invocation_id, STATUS_BY_VALUE[status], owner, runner, float(at), reason)


def to_row(text: str) -> HistoryRow:
    """A history entry as the timeline draws it (``HistoryRows``)."""
    status, owner, _, at, _ = json.loads(text)
    return STATUS_BY_VALUE[status], owner, float(at)


def change_token_head(status: InvocationStatus, owner_id: str | None, runner_id: str | None) -> str:
    """The change token, which names one requested change (a retried script that already applied
    it reports success), is this head followed by ``repr`` of the change's time."""
    return f"{status.value}|{owner_id or ''}|{runner_id or ''}|"
