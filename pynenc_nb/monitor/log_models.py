"""View-models of the log explorer (the JSON shapes ``LogExplorer``, the sidebar's Log explorer
panel and ``POST /logs`` return); see :mod:`pynenc_nb.monitor.models`.

A pasted line is kept whole (``raw``), parsed or not; ids are as the line wrote them except
``invocation_id``, which is normalised to this project's form (32 hex digits) when it is a UUID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from pynenc_nb.monitor.models import InvocationSummary, InvocationSummaryJson, JsonView, TimelineJson, TimelineView

LogFormat = Literal["text", "json", "unparsed"]
RunnerRole = Literal["runner", "worker"]


class LogRunnerJson(TypedDict):
    runner_class: str | None  # as written: "TR" (compact) or "ThreadRunner"
    runner_id: str | None  # as written: the first 8 characters, or the whole id
    worker_class: str | None  # the second of "Parent(id).Worker(id)", or a JSON line's runner below a parent
    worker_id: str | None
    hostname: str | None
    pid: int | None


@dataclass(frozen=True, slots=True)
class LogRunner(JsonView[LogRunnerJson]):
    """The runner context of a line: a runner, and the worker runner inside it when there is one."""

    runner_class: str | None
    runner_id: str | None
    worker_class: str | None
    worker_id: str | None
    hostname: str | None
    pid: int | None


class LogLineJson(TypedDict):
    number: int
    raw: str
    format: LogFormat
    parsed: bool
    timestamp: float | None
    level: str | None
    logger: str | None
    runner: LogRunnerJson | None
    invocation_id: str | None
    task_id: str | None
    message: str
    invocation_ids: list[str]
    task_ids: list[str]
    runner_ids: list[str]


@dataclass(frozen=True, slots=True)
class LogLine(JsonView[LogLineJson]):
    """One pasted log entry (a line, with the traceback lines that follow it).

    ``parsed`` is False for a line in neither format (kept as it is, ``format`` "unparsed").
    ``invocation_ids``, ``task_ids`` and ``runner_ids`` gather every reference of the line: its
    context first, then ``invocation:ID`` / ``task:KEY`` / ``runner:ID`` / ``worker:ID`` and bare
    ids in the message.
    """

    number: int  # 1-based line of the pasted text where the entry starts
    raw: str
    format: LogFormat
    parsed: bool
    timestamp: float | None  # epoch seconds
    level: str | None
    logger: str | None
    runner: LogRunner | None
    invocation_id: str | None  # of the context
    task_id: str | None  # of the context
    message: str
    invocation_ids: tuple[str, ...]
    task_ids: tuple[str, ...]
    runner_ids: tuple[str, ...]


class LogInvocationJson(TypedDict):
    invocation_id: str
    found: bool
    invocation: InvocationSummaryJson | None
    owner_label: str | None
    lines: list[int]


@dataclass(frozen=True, slots=True)
class LogInvocation(JsonView[LogInvocationJson]):
    """An invocation the log mentions, resolved: ``found`` False when this app does not know it."""

    invocation_id: str
    found: bool
    invocation: InvocationSummary | None
    owner_label: str | None  # the runner that owns it now
    lines: tuple[int, ...]  # line numbers that mention it (the first 100)


class LogRunnerRefJson(TypedDict):
    written: str
    role: RunnerRole
    runner_id: str | None
    label: str | None
    lines: int


@dataclass(frozen=True, slots=True)
class LogRunnerRef(JsonView[LogRunnerRefJson]):
    """A runner or worker id as the log wrote it, resolved to a known runner when one matches."""

    written: str
    role: RunnerRole
    runner_id: str | None  # the full id of the runner it names, None if none does (or several)
    label: str | None
    lines: int  # how many lines mention it


class LogExplorerJson(TypedDict):
    lines: list[LogLineJson]
    parsed: int
    unparsed: int
    invocations: list[LogInvocationJson]
    runners: list[LogRunnerRefJson]
    tasks: list[str]
    timeline: TimelineJson
    highlighted_lanes: list[str]
    truncated: bool
    generated_at: float


@dataclass(frozen=True, slots=True)
class LogExplorerView(JsonView[LogExplorerJson]):
    """Pasted lines parsed, the invocations and runners they mention resolved, and a timeline of
    those invocations whose ``highlighted_lanes`` are the runners and workers the lines name."""

    lines: tuple[LogLine, ...]
    parsed: int
    unparsed: int
    invocations: tuple[LogInvocation, ...]
    runners: tuple[LogRunnerRef, ...]
    tasks: tuple[str, ...]
    timeline: TimelineView
    highlighted_lanes: tuple[str, ...]
    truncated: bool  # more invocations were mentioned than the timeline shows
    generated_at: float
