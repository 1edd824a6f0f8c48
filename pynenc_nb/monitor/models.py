"""View-models of the monitor: frozen, typed, and plain JSON through ``to_json()``.

Every field is an id, a number, a status, a display string computed at write time or a nested
view: never serialized arguments, results, pickles or connection details, so a view can be sent
to a browser as it is. Times are UTC epoch seconds. Strings are raw text that renderers escape;
the one exception is ``TimelineInvocation.hover``, which is Plotly hover markup, already escaped.

Each view ``Foo`` is a ``JsonView[FooJson]``: the ``TypedDict`` above it is the JSON shape its
``to_json()`` returns, mirrored by ``export interface FooJson`` in ``labextension/src/api.ts``
(``tests/monitor/test_browser_types.py`` checks that both sides and real output agree).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar, cast

from pynenc_nb.invocation.status import InvocationStatus

StatusName = Literal[
    "REGISTERED",
    "PENDING",
    "RUNNING",
    "PAUSED",
    "RETRY",
    "SUCCESS",
    "FAILED",
    "KILLED",
    "REROUTED",
    "CONCURRENCY_CONTROLLED",
    "CONCURRENCY_CONTROLLED_FINAL",
    "PENDING_RECOVERY",
    "RUNNING_RECOVERY",
]  # the values of InvocationStatus, in table order (a test keeps them equal)
LaneKind = Literal["queued", "runner"]
QUEUED_LANE = "queued"  # lane id of everything waiting for a runner (no owner)
_STATUS_VALUES: dict[InvocationStatus, StatusName] = {status: status.value for status in InvocationStatus}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plain(value: Any) -> Any:
    """JSON-ready copy: enums by value, tuples as lists, views as dicts."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, JsonView):
        return value.to_json()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} is not a monitor view value")


_J = TypeVar("_J", bound=Mapping[str, object])


class JsonView(Generic[_J]):
    """Base of every view: ``to_json()`` gives its JSON shape ``_J``, a dict ``json.dumps`` accepts.

    The generic version copies the dataclass fields through :func:`_plain`; the test checks that
    the fields are the keys of ``_J`` and the values their types.
    """

    __slots__ = ()

    def to_json(self) -> _J:
        return cast(_J, {name: _plain(getattr(self, name)) for name in _field_names(type(self))})


# --- shared rows ---------------------------------------------------------------------------------


class InvocationSummaryJson(TypedDict):
    invocation_id: str
    task_id: str
    status: StatusName
    final: bool
    args: dict[str, str]
    parent_id: str | None
    workflow_id: str | None
    owner_id: str | None
    num_retries: int
    recoveries: int
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class InvocationSummary(JsonView[InvocationSummaryJson]):
    """One invocation as a list row or a node reference."""

    invocation_id: str
    task_id: str
    status: InvocationStatus
    final: bool
    args: dict[str, str]  # argument name -> display string (computed at call time)
    parent_id: str | None
    workflow_id: str | None
    owner_id: str | None
    num_retries: int
    recoveries: int
    created_at: float
    updated_at: float


class InvocationPageJson(TypedDict):
    rows: list[InvocationSummaryJson]
    next_cursor: str | None
    generated_at: float


@dataclass(frozen=True, slots=True)
class InvocationPage(JsonView[InvocationPageJson]):
    """A page of summaries, most recently updated first; pass ``next_cursor`` back for the next."""

    rows: tuple[InvocationSummary, ...]
    next_cursor: str | None
    generated_at: float


# --- timeline ------------------------------------------------------------------------------------


class StatusSegmentJson(TypedDict):
    invocation_id: str
    task_id: str
    status: StatusName
    start: float
    end: float | None
    lane: str
    row: int


@dataclass(frozen=True, slots=True)
class StatusSegment(JsonView[StatusSegmentJson]):
    """One history entry drawn as a bar, from its change to the next change of the invocation.

    ``end`` equals ``start`` for a final status (a point) and is None while the status lasts.
    ``lane`` is the owner runner's id for PENDING/RUNNING/PAUSED, :data:`QUEUED_LANE` while the
    invocation waits unowned; a final status stays in the lane of the status before it.
    """

    invocation_id: str
    task_id: str
    status: InvocationStatus
    start: float
    end: float | None
    lane: str
    row: int


class SegmentColumnsJson(TypedDict):
    invocation_id: list[str]
    task_id: list[str]
    status: list[StatusName]
    start: list[float]
    end: list[float | None]
    lane: list[str]
    row: list[int]


@dataclass(frozen=True, slots=True)
class SegmentColumns(JsonView[SegmentColumnsJson]):
    """The timeline's segments as parallel columns: the shape Plotly bar traces take.

    Segment ``i`` is ``(invocation_id[i], task_id[i], status[i], start[i], end[i], lane[i],
    row[i])``; iterating or indexing gives :class:`StatusSegment` records. A timeline holds tens
    of thousands of segments: columns cost a fraction of the time and JSON of one object each.
    """

    invocation_id: tuple[str, ...]
    task_id: tuple[str, ...]
    status: tuple[InvocationStatus, ...]
    start: tuple[float, ...]
    end: tuple[float | None, ...]
    lane: tuple[str, ...]
    row: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, index: int) -> StatusSegment:
        return StatusSegment(
            self.invocation_id[index],
            self.task_id[index],
            self.status[index],
            self.start[index],
            self.end[index],
            self.lane[index],
            self.row[index],
        )

    def __iter__(self) -> Iterator[StatusSegment]:
        return map(
            StatusSegment, self.invocation_id, self.task_id, self.status, self.start, self.end, self.lane, self.row
        )

    def to_json(self) -> SegmentColumnsJson:
        return {
            "invocation_id": list(self.invocation_id),
            "task_id": list(self.task_id),
            "status": [_STATUS_VALUES[s] for s in self.status],
            "start": list(self.start),
            "end": list(self.end),
            "lane": list(self.lane),
            "row": list(self.row),
        }


class LaneJson(TypedDict):
    lane_id: str
    kind: LaneKind
    label: str
    runner_cls: str | None
    hostname: str | None
    parent_runner_id: str | None
    rows: int
    name: str | None
    slots: int
    paused_row: int | None


@dataclass(frozen=True, slots=True)
class Lane(JsonView[LaneJson]):
    """A runner (or the queue) in the timeline, split into ``rows`` sub-rows.

    A runner's rows are its worker slots: bars in one slot row never overlap, and there are at
    most ``slots`` of them (when the runner recorded its slots); while invocations wait PAUSED
    (their slot freed) they sit together on one more row, ``paused_row`` (None when nothing
    paused). ``label`` is the launch name (``%pynenc runner start --name``) or a short id.
    """

    lane_id: str
    kind: LaneKind
    label: str
    runner_cls: str | None
    hostname: str | None
    parent_runner_id: str | None
    rows: int
    name: str | None = None  # the launch name, if any
    slots: int = 0  # worker slots the runner recorded (0: unknown)
    paused_row: int | None = None


class LinkJson(TypedDict):
    parent_id: str
    child_id: str


@dataclass(frozen=True, slots=True)
class Link(JsonView[LinkJson]):
    """A call from a parent invocation to a child, both in the same view."""

    parent_id: str
    child_id: str


class EventMarkerJson(TypedDict):
    event_id: str
    code: str
    at: float
    invocation_ids: list[str]


@dataclass(frozen=True, slots=True)
class EventMarker(JsonView[EventMarkerJson]):
    """An event emitted with ``app.trigger.emit_event`` (its payload is not shipped), with the
    invocations its trigger runs created (oldest run first)."""

    event_id: str
    code: str
    at: float
    invocation_ids: tuple[str, ...]


class TimelineInvocationJson(TypedDict):
    invocation_id: str
    task_id: str
    status: StatusName
    args: dict[str, str]
    parent_id: str | None
    workflow_id: str | None
    created_at: float
    updated_at: float
    durations: dict[str, float]
    total_s: float
    hover: str


@dataclass(frozen=True, slots=True)
class TimelineInvocation(JsonView[TimelineInvocationJson]):
    """What the timeline knows of one invocation beyond its segments (hover, durations)."""

    invocation_id: str
    task_id: str
    status: InvocationStatus
    args: dict[str, str]
    parent_id: str | None
    workflow_id: str | None
    created_at: float
    updated_at: float
    durations: dict[str, float]  # status -> seconds spent in it (an open status counts up to generated_at)
    total_s: float  # first change to the final one (or to generated_at while not final)
    hover: str  # Plotly hover markup: task, id, status, arguments, durations; every value escaped

    def to_json(self) -> TimelineInvocationJson:  # thousands per view: spelled out for speed
        return {
            "invocation_id": self.invocation_id,
            "task_id": self.task_id,
            "status": _STATUS_VALUES[self.status],
            "args": dict(self.args),
            "parent_id": self.parent_id,
            "workflow_id": self.workflow_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "durations": dict(self.durations),
            "total_s": self.total_s,
            "hover": self.hover,
        }


class TimelineJson(TypedDict):
    start: float | None
    end: float | None
    generated_at: float
    lanes: list[LaneJson]
    segments: SegmentColumnsJson
    invocations: list[TimelineInvocationJson]
    links: list[LinkJson]
    workflow_roots: list[str]
    events: list[EventMarkerJson]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TimelineView(JsonView[TimelineJson]):
    """Invocations active in ``[start, end)``: lanes, status segments, links and event markers.

    Rows are packed within one page; ask for a large enough ``limit`` to draw a window at once.
    """

    start: float | None
    end: float | None
    generated_at: float
    lanes: tuple[Lane, ...]
    segments: SegmentColumns
    invocations: tuple[TimelineInvocation, ...]
    links: tuple[Link, ...]
    workflow_roots: tuple[str, ...]
    events: tuple[EventMarker, ...]
    next_cursor: str | None


# --- family tree ---------------------------------------------------------------------------------


class TreeNodeJson(TypedDict):
    invocation_id: str
    task_id: str
    status: StatusName
    args: dict[str, str]
    created_at: float
    updated_at: float
    layer: int
    x: float
    y: float
    children_listed: bool


@dataclass(frozen=True, slots=True)
class TreeNode(JsonView[TreeNodeJson]):
    """An invocation placed in a layered layout: ``y`` is its generation, ``x`` its column.

    Nodes of one layer are at least 1 apart in ``x``. ``children_listed`` is False when the
    node's children were not read (depth limit or node budget), so a leaf may have children.
    """

    invocation_id: str
    task_id: str
    status: InvocationStatus
    args: dict[str, str]
    created_at: float
    updated_at: float
    layer: int
    x: float
    y: float
    children_listed: bool


class TreeEdgeJson(TypedDict):
    parent_id: str
    child_id: str


@dataclass(frozen=True, slots=True)
class TreeEdge(JsonView[TreeEdgeJson]):
    parent_id: str
    child_id: str


class FamilyTreeJson(TypedDict):
    root_id: str
    root_parent_id: str | None
    depth: int
    nodes: list[TreeNodeJson]
    edges: list[TreeEdgeJson]
    truncated: bool
    generated_at: float


@dataclass(frozen=True, slots=True)
class FamilyTreeView(JsonView[FamilyTreeJson]):
    """An invocation and its descendants down to ``depth`` generations, at most ``max_nodes`` nodes."""

    root_id: str
    root_parent_id: str | None  # to walk up from the root
    depth: int
    nodes: tuple[TreeNode, ...]
    edges: tuple[TreeEdge, ...]
    truncated: bool  # True when descendants within ``depth`` were left out to stay within max_nodes
    generated_at: float


# --- invocation detail ---------------------------------------------------------------------------


class ExceptionJson(TypedDict):
    type: str
    message: str
    traceback: str


@dataclass(frozen=True, slots=True)
class ExceptionView(JsonView[ExceptionJson]):
    """The plain-text parts of a stored exception; the pickle and arguments never leave the backend."""

    type: str  # module.qualname of the exception class
    message: str
    traceback: str  # as formatted on the runner (bounded, the end kept)


class HistoryEntryJson(TypedDict):
    status: StatusName
    at: float
    owner_id: str | None
    owner_label: str | None
    runner_id: str | None
    runner_label: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class HistoryEntry(JsonView[HistoryEntryJson]):
    status: InvocationStatus
    at: float
    owner_id: str | None  # the owner after the change
    owner_label: str | None
    runner_id: str | None  # who made the change
    runner_label: str | None
    reason: str | None


class WorkflowJson(TypedDict):
    workflow_id: str
    workflow_type: str
    parent_workflow_id: str | None
    is_root: bool


@dataclass(frozen=True, slots=True)
class WorkflowView(JsonView[WorkflowJson]):
    workflow_id: str
    workflow_type: str
    parent_workflow_id: str | None
    is_root: bool  # this invocation is the workflow's root


class InvocationOriginJson(TypedDict):
    run_id: str
    trigger_id: str
    source_kind: str
    source_id: str
    event_code: str | None
    at: float


@dataclass(frozen=True, slots=True)
class InvocationOrigin(JsonView[InvocationOriginJson]):
    """The trigger run that created an invocation: which trigger fired, and on what."""

    run_id: str
    trigger_id: str
    source_kind: str  # event | status | cron | composite
    source_id: str  # event id, invocation id, tick (ISO UTC); a composite's are joined by ","
    event_code: str | None  # the code of the event(s) among the sources
    at: float


class InvocationDetailJson(TypedDict):
    invocation: InvocationSummaryJson
    call_id: str
    queue: str
    priority: int
    task_version: str | None
    owner_label: str | None
    result: str | None
    exception: ExceptionJson | None
    history: list[HistoryEntryJson]
    parent: InvocationSummaryJson | None
    children: list[InvocationSummaryJson]
    children_next_cursor: str | None
    workflow: WorkflowJson | None
    origin: InvocationOriginJson | None
    generated_at: float


@dataclass(frozen=True, slots=True)
class InvocationDetailView(JsonView[InvocationDetailJson]):
    """Everything shown about one invocation, from display strings and plain-text fields only."""

    invocation: InvocationSummary
    call_id: str
    queue: str
    priority: int
    task_version: str | None
    owner_label: str | None
    result: str | None  # display string of the result (SUCCESS)
    exception: ExceptionView | None  # FAILED
    history: tuple[HistoryEntry, ...]
    parent: InvocationSummary | None
    children: tuple[InvocationSummary, ...]  # first page, most recently updated first
    children_next_cursor: str | None  # for ``Monitor.invocations(InvocationFilter(parent_invocation_id=...))``
    workflow: WorkflowView | None
    origin: InvocationOrigin | None  # set when a trigger created it
    generated_at: float


# --- runners and tasks ---------------------------------------------------------------------------


class RunnerJson(TypedDict):
    runner_id: str
    label: str
    name: str | None
    runner_cls: str
    hostname: str
    pid: int
    parent_runner_id: str | None
    state: str  # running | stopping | stopped | lost: stored as text by every runner, not a closed set
    slots: int
    busy: int
    started_at: float
    last_heartbeat: float
    heartbeat_age_s: float
    alive: bool


@dataclass(frozen=True, slots=True)
class RunnerView(JsonView[RunnerJson]):
    runner_id: str
    label: str
    name: str | None  # given by whoever launched it (``%pynenc runner start --name``)
    runner_cls: str
    hostname: str
    pid: int
    parent_runner_id: str | None
    state: str  # running | stopping | stopped | lost
    slots: int
    busy: int
    started_at: float
    last_heartbeat: float
    heartbeat_age_s: float
    alive: bool  # running or stopping, and heard from within ``runner_dead_after_s``


class TaskJson(TypedDict):
    task_id: str
    defined_here: bool
    is_workflow: bool | None
    module: str | None
    qualname: str | None
    version: str | None
    counts: dict[str, int] | None


@dataclass(frozen=True, slots=True)
class TaskView(JsonView[TaskJson]):
    task_id: str
    defined_here: bool  # defined in the monitoring app object (not only seen in the backend)
    is_workflow: bool | None  # None when the task is not defined here
    module: str | None
    qualname: str | None
    version: str | None  # latest version of code shipped by value (notebook cells)
    counts: dict[str, int] | None  # invocations by status, every status present; None when not asked
