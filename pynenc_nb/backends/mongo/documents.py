"""Invocation documents: how records, history entries and compare-and-set updates map to MongoDB."""

from __future__ import annotations

import time
from typing import Any

from pynenc_nb.invocation.status import STATUS_BY_VALUE, InvocationStatus
from pynenc_nb.records import (
    InvocationFilter,
    InvocationRecord,
    StatusChange,
    TransitionRequest,
    WorkflowIdentity,
)


def record_of(doc: dict[str, Any]) -> InvocationRecord:
    workflow_id = doc.get("workflow_id")
    workflow = (
        WorkflowIdentity(workflow_id, doc["workflow_type"], doc.get("parent_workflow_id")) if workflow_id else None
    )
    return InvocationRecord(
        invocation_id=doc["_id"],
        task_id=doc["task_id"],
        call_id=doc["call_id"],
        arguments=doc.get("arguments", ""),  # left out by query(arguments=False)
        args_display=doc["args_display"],
        status=STATUS_BY_VALUE[doc["status"]],
        owner_id=doc.get("owner_id"),
        parent_invocation_id=doc.get("parent_invocation_id"),
        workflow=workflow,
        task_version=doc.get("task_version"),
        queue=doc["queue"],
        priority=doc["priority"],
        registration_key=doc.get("registration_key"),
        running_key=doc.get("running_key"),
        reroute_on_concurrency_control=doc.get("reroute", True),
        num_retries=doc.get("num_retries", 0),
        recoveries=doc.get("recoveries", 0),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def history_entry(change: StatusChange, seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "status": change.status.value,
        "owner_id": change.owner_id,
        "runner_id": change.runner_id,
        "at": change.at,
        "reason": change.reason,
        "t": time.time(),  # when it was stored: the change log's gap rule reads it
    }


def change_of(invocation_id: str, entry: dict[str, Any]) -> StatusChange:
    return StatusChange(
        invocation_id,
        STATUS_BY_VALUE[entry["status"]],
        entry.get("owner_id"),
        entry.get("runner_id"),
        entry["at"],
        entry.get("reason"),
    )


def new_document(record: InvocationRecord, registered_by: str | None, now: float, seq: int) -> dict[str, Any]:
    wf = record.workflow
    registered = StatusChange(record.invocation_id, InvocationStatus.REGISTERED, None, registered_by, now)
    return {
        "_id": record.invocation_id,
        "task_id": record.task_id,
        "call_id": record.call_id,
        "arguments": record.arguments,
        "args_display": record.args_display,
        "status": InvocationStatus.REGISTERED.value,
        "owner_id": None,
        "parent_invocation_id": record.parent_invocation_id,
        "workflow_id": wf.workflow_id if wf else None,
        "workflow_type": wf.workflow_type if wf else None,
        "parent_workflow_id": wf.parent_workflow_id if wf else None,
        "task_version": record.task_version,
        "queue": record.queue,
        "priority": record.priority,
        "registration_key": record.registration_key,
        "running_key": record.running_key,
        "reroute": record.reroute_on_concurrency_control,
        "num_retries": 0,
        "recoveries": 0,
        "v": 0,  # the version: every change increments it and is conditional on it
        "created_at": record.created_at,
        "updated_at": now,
        "history": [history_entry(registered, seq)],
    }


class Step:
    """One transition under way: its log number once taken, and whether its write went out."""

    __slots__ = ("after", "applied", "request", "sent", "seq")

    def __init__(self, request: TransitionRequest) -> None:
        self.request = request
        self.seq: int | None = None
        self.sent = False
        self.applied = False
        self.after: dict[str, Any] = {}


def update_for(request: TransitionRequest, doc: dict[str, Any], seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The update that applies ``request`` to ``doc``, and the document it leaves."""
    change = request.change
    values: dict[str, Any] = {"status": change.status.value, "owner_id": change.owner_id, "updated_at": change.at}
    if request.outcome is not None:
        outcome = request.outcome
        values["outcome"] = {"kind": outcome.kind, "payload": outcome.payload, "display": outcome.display}
    counters = {"v": 1}
    if request.counter in ("num_retries", "recoveries"):
        counters[request.counter] = 1
    after = {**doc, **values}
    for field, step in counters.items():
        after[field] = doc.get(field, 0) + step
    update = {"$set": values, "$inc": counters, "$push": {"history": history_entry(change, seq)}}
    return update, after


def mongo_filter(flt: InvocationFilter) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if flt.statuses is not None:
        query["status"] = {"$in": [s.value for s in flt.statuses]}
    for field, value in (
        ("task_id", flt.task_id),
        ("owner_id", flt.owner_id),
        ("parent_invocation_id", flt.parent_invocation_id),
        ("workflow_id", flt.workflow_id),
        ("running_key", flt.running_key),
    ):
        if value is not None:
            query[field] = value
    updated: dict[str, float] = {}
    if flt.updated_after is not None:
        updated["$gte"] = flt.updated_after
    if flt.updated_before is not None:
        updated["$lt"] = flt.updated_before
    if updated:
        query["updated_at"] = updated
    return query


def is_ours(found: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Whether a stored invocation is the one this call inserted (same first log number)."""
    history = found.get("history") or []
    return bool(history) and history[0].get("seq") == doc["history"][0]["seq"]
