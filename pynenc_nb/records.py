"""Frozen records that cross the port boundary: what backends store and return.

Backends store these fields as they are (strings, numbers, opaque text); they never deserialize
arguments or results. Times are UTC epoch seconds (float).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pynenc_nb.invocation.status import InvocationStatus

# Key-value namespaces of the state backend written by the app and read by monitors.
TASKS_NAMESPACE = "tasks"  # task id -> JSON {module, qualname[, version]}: where a runner finds its code
CODE_NAMESPACE = "task_code"  # "task_id@version" -> task code shipped by value (notebook cells)
# runner id -> "stop": asked of a runner through its backend (one on another host, with no local
# process to signal); the runner obeys within a heartbeat
RUNNER_REQUESTS_NAMESPACE = "runner_requests"
# Workflows: deterministic operations of a workflow invocation ("<invocation id>:<step>" -> JSON),
# and workflow data: a namespace per workflow (``workflow_data_namespace``), key -> serialized value.
WORKFLOW_OPS_NAMESPACE = "workflow_ops"
WORKFLOW_DATA_NAMESPACE = "workflow_data"
# A workflow's sub-workflows, whoever in it started them: a namespace per workflow, sub id -> "".
WORKFLOW_SUBS_NAMESPACE = "workflow_subs"
# The trigger engine's cursors ("events", "changes", "cron:<trigger>:<n>") and AND partials.
TRIGGER_ENGINE_NAMESPACE = "trigger_engine"


def workflow_data_namespace(workflow_id: str) -> str:
    """One namespace per workflow, so listing its data keys reads that workflow's keys only."""
    return f"{WORKFLOW_DATA_NAMESPACE}:{workflow_id}"


def workflow_subs_namespace(workflow_id: str) -> str:
    """Where the sub-workflows started inside a workflow are listed (written at registration)."""
    return f"{WORKFLOW_SUBS_NAMESPACE}:{workflow_id}"


def new_id() -> str:
    """128 random bits as 32 hex digits: what ``uuid4().hex`` draws, without building a UUID
    around them (0.45 against 2 µs, and a running task makes a few per call)."""
    return os.urandom(16).hex()


@dataclass(frozen=True, slots=True)
class RunnerContext:
    """Who did something: a runner, one of its workers, or a caller outside any runner."""

    runner_id: str
    runner_cls: str
    hostname: str
    pid: int
    thread_id: int = 0
    parent_runner_id: str | None = None
    started_at: float = 0.0

    @classmethod
    def current(cls, runner_cls: str, parent_runner_id: str | None = None) -> RunnerContext:
        return cls(
            runner_id=new_id(),
            runner_cls=runner_cls,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            thread_id=threading.get_ident(),
            parent_runner_id=parent_runner_id,
            started_at=time.time(),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "runner_id": self.runner_id,
            "runner_cls": self.runner_cls,
            "hostname": self.hostname,
            "pid": self.pid,
            "thread_id": self.thread_id,
            "parent_runner_id": self.parent_runner_id,
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunnerContext:
        return cls(**data)

    @property
    def label(self) -> str:
        """Short form used in log lines: ``ThreadRunner(ab12cd34@host:pid)``."""
        return f"{self.runner_cls}({self.runner_id[:8]}@{self.hostname}:{self.pid})"


@dataclass(frozen=True, slots=True)
class WorkflowIdentity:
    """The workflow an invocation belongs to; ``workflow_id`` is the root invocation's id."""

    workflow_id: str
    workflow_type: str
    parent_workflow_id: str | None = None

    @property
    def is_subworkflow(self) -> bool:
        return self.parent_workflow_id is not None

    @property
    def workflow_task_id(self) -> str:
        """pynenc's name for ``workflow_type``."""
        return self.workflow_type

    @property
    def workflow_invocation_id(self) -> str:
        """pynenc's name for ``workflow_id``."""
        return self.workflow_id


@dataclass(frozen=True, slots=True)
class InvocationRecord:
    invocation_id: str
    task_id: str
    call_id: str  # hash of the serialized arguments; equal calls share it
    arguments: str  # serialized mapping of argument name -> encoded value (opaque to backends)
    args_display: str  # JSON mapping of argument name -> short repr, safe to show in a browser
    status: InvocationStatus = InvocationStatus.REGISTERED
    owner_id: str | None = None
    parent_invocation_id: str | None = None
    workflow: WorkflowIdentity | None = None
    task_version: str | None = None
    queue: str = "default"
    priority: int = 0
    registration_key: str | None = None
    running_key: str | None = None
    # The task's option, stored with the call: a runner that never decorated the task (code shipped
    # from a notebook cell) decides by it when running concurrency blocks the call.
    reroute_on_concurrency_control: bool = True
    num_retries: int = 0
    recoveries: int = 0
    created_at: float = field(default_factory=time.time)
    updated_at: float = 0.0

    def with_status(
        self,
        status: InvocationStatus,
        owner_id: str | None,
        at: float,
        *,
        num_retries: int | None = None,
        recoveries: int | None = None,
    ) -> InvocationRecord:
        """A copy with another mutable state. Every call passes here, and ``dataclasses.replace``
        costs several times this explicit construction."""
        return InvocationRecord(
            invocation_id=self.invocation_id,
            task_id=self.task_id,
            call_id=self.call_id,
            arguments=self.arguments,
            args_display=self.args_display,
            status=status,
            owner_id=owner_id,
            parent_invocation_id=self.parent_invocation_id,
            workflow=self.workflow,
            task_version=self.task_version,
            queue=self.queue,
            priority=self.priority,
            registration_key=self.registration_key,
            running_key=self.running_key,
            reroute_on_concurrency_control=self.reroute_on_concurrency_control,
            num_retries=self.num_retries if num_retries is None else num_retries,
            recoveries=self.recoveries if recoveries is None else recoveries,
            created_at=self.created_at,
            updated_at=at,
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One entry of an invocation's history: appended atomically with every status change."""

    invocation_id: str
    status: InvocationStatus
    owner_id: str | None  # owner after the change
    runner_id: str | None  # who made the change
    at: float
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TransitionRequest:
    """A compare-and-set, computed from the status table, that a backend applies atomically.

    The backend moves the invocation to ``change.status`` only if its current status is in
    ``allowed_from`` and its owner is in ``allowed_owners`` (``None`` means any owner), and only if
    no other invocation holding ``exclusive_key`` is in one of ``exclusive_statuses``. In the same
    step it sets the owner, increments ``counter``, stores ``outcome`` and appends ``change``.
    """

    change: StatusChange
    allowed_from: frozenset[InvocationStatus]
    allowed_owners: tuple[str | None, ...] | None
    counter: str | None = None
    outcome: Outcome | None = None
    exclusive_key: str | None = None
    exclusive_statuses: frozenset[InvocationStatus] = frozenset()


@dataclass(frozen=True, slots=True)
class Outcome:
    """A final result or exception, serialized, with a display string computed at write time."""

    kind: str  # "result" | "exception"
    payload: str
    display: str


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """What a compare-and-set did: the record after it, or the record that made it fail."""

    applied: bool
    record: InvocationRecord
    conflict: str | None = None  # "status" | "owner" | "exclusive" when not applied


@dataclass(frozen=True, slots=True)
class RunnerInfo:
    context: RunnerContext
    last_heartbeat: float
    state: str  # "running" | "stopping" | "stopped"
    slots: int = 0
    busy: int = 0
    details: str = ""  # JSON with runner-specific figures (queues, paused workers...)

    def _detail(self, key: str) -> Any:
        """One field of ``details`` (free-form JSON: anything unreadable is absent)."""
        try:
            data: Any = json.loads(self.details) if self.details else None
        except ValueError:
            return None
        return data.get(key) if isinstance(data, dict) else None

    @property
    def name(self) -> str | None:
        """The name it was launched with (``%pynenc runner start --name``, ``--name``), if any."""
        name = self._detail("name")
        return name if isinstance(name, str) and name else None

    @property
    def queues(self) -> list[str]:
        """The queues it serves, as it recorded them."""
        queues = self._detail("queues")
        return [str(q) for q in queues] if isinstance(queues, list) else []

    @property
    def label(self) -> str:
        """How people see the runner everywhere (lists, status, timeline lanes, the sidebar):
        its launch name first, when it has one."""
        name = self.name
        return f"{name} ({self.context.label})" if name else self.context.label


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message taken from the broker; ack it once the invocation is claimed."""

    invocation_id: str
    queue: str
    token: str  # backend-specific handle used by ack / nack


@dataclass(frozen=True, slots=True)
class InvocationFilter:
    """Filters of monitor queries; every field maps to an index."""

    statuses: frozenset[InvocationStatus] | None = None
    task_id: str | None = None
    owner_id: str | None = None
    parent_invocation_id: str | None = None
    workflow_id: str | None = None
    running_key: str | None = None
    updated_after: float | None = None
    updated_before: float | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event emitted with ``app.trigger.emit_event``: stored for the browser and the triggers."""

    event_id: str
    code: str
    payload: str  # JSON object
    at: float
    emitter_invocation_id: str | None = None  # the task that emitted it, if one did
    emitter_runner_id: str | None = None  # the runner or caller process that emitted it


@dataclass(frozen=True, slots=True)
class TriggerRun:
    """One firing of a trigger: which occurrence made it fire and the invocation it created.

    ``run_id`` is derived from (trigger, occurrence), so storing a run is the claim that makes the
    occurrence fire once: an evaluator that replays an occurrence finds its run stored.
    """

    run_id: str
    trigger_id: str
    task_id: str
    source_kind: str  # "cron" | "event" | "status" | "composite"
    source_id: str  # the tick (ISO UTC), the event id or the invocation id that made it fire
    invocation_id: str | None
    at: float
    # 1 + the depth of the run that created the invocation it fired on (its status changed, or it
    # emitted the event): how long a chain of triggers has been re-triggering itself.
    depth: int = 1
