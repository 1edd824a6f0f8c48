"""View-models of events, triggers and trigger runs (the JSON shapes the events browser, the
sidebar's Events section and ``/events`` return); see :mod:`pynenc_nb.monitor.models`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor.models import JsonView, StatusName

# --- events and triggers -------------------------------------------------------------------------


class TriggerRunJson(TypedDict):
    run_id: str
    trigger_id: str
    task_id: str
    source_kind: str
    source_id: str
    event_code: str | None
    invocation_id: str | None
    status: StatusName | None
    at: float


@dataclass(frozen=True, slots=True)
class TriggerRunView(JsonView[TriggerRunJson]):
    """One firing of a trigger and the invocation it created, with that invocation's status now.

    ``invocation_id`` is None when the firing made no invocation (no argument provider applied);
    ``status`` is None then, and when the invocation is gone (purged).
    """

    run_id: str
    trigger_id: str
    task_id: str  # the triggered task
    source_kind: str  # event | status | cron | composite
    source_id: str  # event id, invocation id, tick (ISO UTC); a composite's are joined by ","
    event_code: str | None  # the code of the event(s) among the sources
    invocation_id: str | None
    status: InvocationStatus | None
    at: float


class EventJson(TypedDict):
    event_id: str
    code: str
    at: float
    payload: str
    payload_truncated: bool
    emitter_invocation_id: str | None
    emitted_by: str | None
    matched: bool
    runs: list[TriggerRunJson]


@dataclass(frozen=True, slots=True)
class EventView(JsonView[EventJson]):
    """An emitted event, its payload as JSON text, and the trigger runs it made.

    The payload is user data: raw text (renderers escape it), URL passwords redacted, cut at a
    bounded size (``payload_truncated``). ``matched`` is True when some trigger fired on it.
    """

    event_id: str
    code: str
    at: float
    payload: str
    payload_truncated: bool
    emitter_invocation_id: str | None  # the task invocation that emitted it, if one did
    emitted_by: str | None  # label of the runner or caller process that emitted it
    matched: bool
    runs: tuple[TriggerRunView, ...]  # newest first


class EventPageJson(TypedDict):
    rows: list[EventJson]
    next_cursor: str | None
    generated_at: float


@dataclass(frozen=True, slots=True)
class EventPage(JsonView[EventPageJson]):
    """A page of events, newest first; pass ``next_cursor`` back for the next.

    Filtered on ``matched``, a page reads a bounded number of events: it may hold fewer rows than
    asked for (even none) and still have a next page.
    """

    rows: tuple[EventView, ...]
    next_cursor: str | None
    generated_at: float


class TriggerRunPageJson(TypedDict):
    rows: list[TriggerRunJson]
    generated_at: float


@dataclass(frozen=True, slots=True)
class TriggerRunPage(JsonView[TriggerRunPageJson]):
    """The most recent trigger runs, newest first."""

    rows: tuple[TriggerRunView, ...]
    generated_at: float


class TriggerJson(TypedDict):
    trigger_id: str
    task_id: str
    logic: str
    conditions: list[str]
    event_codes: list[str]
    summary: str


@dataclass(frozen=True, slots=True)
class TriggerView(JsonView[TriggerJson]):
    """A stored trigger: the task it calls and its conditions in words (``on_event feed_updated``).

    Read from the definition's JSON alone: the filter values it holds (encoded with the app's
    serializer) are never decoded, only noted ("payload filter").
    """

    trigger_id: str
    task_id: str
    logic: str  # and | or
    conditions: tuple[str, ...]
    event_codes: tuple[str, ...]  # the codes of its on_event conditions
    summary: str  # the conditions joined by their logic
