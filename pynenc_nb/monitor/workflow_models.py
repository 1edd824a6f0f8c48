"""View-models of workflows: runs, pages and a workflow's detail with its recorded steps; see
:mod:`pynenc_nb.monitor.models`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor.models import InvocationSummary, InvocationSummaryJson, JsonView, StatusName

# --- workflows -----------------------------------------------------------------------------------


class WorkflowRunJson(TypedDict):
    workflow_id: str
    workflow_type: str
    status: StatusName
    final: bool
    parent_workflow_id: str | None
    args: dict[str, str]
    created_at: float
    updated_at: float
    started_at: float | None
    ended_at: float | None
    duration_s: float | None
    children: int
    children_by_status: dict[str, int]


@dataclass(frozen=True, slots=True)
class WorkflowRun(JsonView[WorkflowRunJson]):
    """One run of a workflow: its root invocation, how long it took and its members by status."""

    workflow_id: str  # the root invocation's id
    workflow_type: str  # the task id of the ``@app.workflow``
    status: InvocationStatus
    final: bool
    parent_workflow_id: str | None  # set on a sub-workflow
    args: dict[str, str]
    created_at: float
    updated_at: float
    started_at: float | None  # first RUNNING
    ended_at: float | None  # the final change
    duration_s: float | None  # started_at to ended_at (or to now while it runs)
    children: int  # members, the root excluded; a sub-workflow's members are its own
    children_by_status: dict[str, int]  # the non-zero counts, in table order


class WorkflowPageJson(TypedDict):
    rows: list[WorkflowRunJson]
    types: list[str]
    next_cursor: str | None
    generated_at: float


@dataclass(frozen=True, slots=True)
class WorkflowPage(JsonView[WorkflowPageJson]):
    """Workflow roots, most recently updated first; ``types`` are the workflow types found."""

    rows: tuple[WorkflowRun, ...]
    types: tuple[str, ...]
    next_cursor: str | None
    generated_at: float


class WorkflowStepJson(TypedDict):
    step: int
    kind: str
    value: str | None
    task_id: str | None
    call: str | None
    invocation_id: str | None
    attempt: int | None
    status: StatusName | None


@dataclass(frozen=True, slots=True)
class WorkflowStep(JsonView[WorkflowStepJson]):
    """A recorded deterministic operation of a root: a value (uuid, random, utc_now) or a child call."""

    step: int
    kind: str  # uuid | random | utc_now | task
    value: str | None  # the recorded value as text (not for task steps)
    task_id: str | None  # task steps: the child's task, its call as written, its invocation and attempt
    call: str | None
    invocation_id: str | None
    attempt: int | None
    status: InvocationStatus | None  # the child's status now (None when it is not stored)


class WorkflowDetailJson(TypedDict):
    workflow: WorkflowRunJson
    steps: list[WorkflowStepJson]
    steps_truncated: bool
    data_keys: list[str]
    data_keys_truncated: bool
    members: list[InvocationSummaryJson]
    members_next_cursor: str | None
    subworkflows: list[InvocationSummaryJson]
    subworkflows_truncated: bool
    generated_at: float


@dataclass(frozen=True, slots=True)
class WorkflowDetailView(JsonView[WorkflowDetailJson]):
    """One workflow run: its step log, its data keys (never values), members and sub-workflows."""

    workflow: WorkflowRun
    steps: tuple[WorkflowStep, ...]
    steps_truncated: bool
    data_keys: tuple[str, ...]
    data_keys_truncated: bool
    members: tuple[InvocationSummary, ...]  # a page, most recently updated first
    members_next_cursor: str | None  # pass back as ``members_cursor``
    subworkflows: tuple[InvocationSummary, ...]  # roots the root called (their parent_workflow_id is this one)
    subworkflows_truncated: bool
    generated_at: float
