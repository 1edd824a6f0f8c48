"""``task.wf``: what a running task knows of its workflow, and the root's deterministic operations.

A workflow is a ``@app.workflow`` invocation and everything called inside it. Its root may be
attempted many times: retried after a ``RetryError``, recovered after its runner died. Everything
that could come out differently on another attempt goes through ``wf.root``:
``uuid()``, ``random()``, ``utc_now()`` and ``execute_task(task, ...)``. Each of these is a step,
numbered in the order the code makes them. On its first execution a step's value is stored
under (invocation, step). Every later attempt of the same invocation gets the stored value back.
So the code sees the same ids, times and child results, and children that succeeded are not run
again. A step that asks for something else than was recorded (another task, other arguments)
raises ``WorkflowNonDeterminismError``: the invocation fails rather than mixing two histories.

A child recorded by ``execute_task`` is treated by its state when replayed:
- SUCCESS: its stored result is returned;
- still running: it is awaited;
- failed, killed or lost: it is called again, and the step records the new call.

Steps are one key each in the state backend's key-value store: a first execution costs a read and
a write per step, a replay a read. A rerun from the monitor is a new invocation, so it records its
own values.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random as _random
import uuid as _uuid
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from pynenc_nb import context
from pynenc_nb.context import Execution
from pynenc_nb.exceptions import DeterministicOperationScopeError, WorkflowMembershipError, WorkflowNonDeterminismError
from pynenc_nb.execution import run_inline
from pynenc_nb.invocation.handle import Invocation
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.records import WORKFLOW_OPS_NAMESPACE, WorkflowIdentity, workflow_data_namespace

S = InvocationStatus
# A child in one of these is called again on replay; any other status is awaited (or read).
_RERUN = frozenset({S.FAILED, S.KILLED, S.CONCURRENCY_CONTROLLED_FINAL})

# Per execution (one attempt of one invocation): the next step number.
_steps: dict[int, Iterator[int]] = {}


class CallableTask(Protocol):
    task_id: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


def _execution(operation: str) -> Execution:
    execution = context.current()
    if execution is None:
        raise WorkflowMembershipError(
            f"wf.{operation} is only available while a task runs: call it inside the task's body"
        )
    return execution


def step_key(invocation_id: str, step: int) -> str:
    """Where step ``step`` of a workflow invocation is stored (``WORKFLOW_OPS_NAMESPACE``)."""
    return f"{invocation_id}:{step:06d}"


def _next_step(execution: Execution) -> int:
    key = id(execution)
    steps = _steps.get(key)
    if steps is None:
        steps = _steps[key] = itertools.count()
        weakref.finalize(execution, _steps.pop, key, None)
    return next(steps)


class WorkflowContext:
    """``task.wf``: read inside the task's body."""

    @property
    def identity(self) -> WorkflowIdentity | None:
        """The workflow this invocation belongs to (None outside any workflow)."""
        execution = context.current()
        return execution.record.workflow if execution is not None else None

    @property
    def is_root(self) -> bool:
        execution = context.current()
        if execution is None or execution.record.workflow is None:
            return False
        return execution.record.workflow.workflow_id == execution.record.invocation_id

    @property
    def root_workflow_id(self) -> str | None:
        """The outermost workflow this invocation's workflow is nested in (its own id when it is not
        a sub-workflow): one read per level of nesting, up the parent workflows."""
        workflow = self.identity
        if workflow is None:
            return None
        execution = context.current()
        assert execution is not None
        state = execution.app.state_backend
        seen = {workflow.workflow_id}
        while workflow.parent_workflow_id is not None:
            parent = state.get(workflow.parent_workflow_id)
            if parent is None or parent.workflow is None or parent.workflow.workflow_id in seen:
                return workflow.parent_workflow_id  # purged above here: the highest id known
            workflow = parent.workflow
            seen.add(workflow.workflow_id)
        return workflow.workflow_id

    def _workflow(self, operation: str) -> tuple[Execution, WorkflowIdentity]:
        execution = _execution(operation)
        workflow = execution.record.workflow
        if workflow is None:
            raise WorkflowMembershipError(
                f"wf.{operation}: invocation {execution.record.invocation_id} of {execution.record.task_id} is not "
                "part of a workflow; call it from a @app.workflow task or a task it calls"
            )
        return execution, workflow

    def set_data(self, key: str, value: Any) -> None:
        """Store a value for the whole workflow (every invocation of it reads it): one write."""
        execution, workflow = self._workflow("set_data")
        app = execution.app
        app.state_backend.kv_put(workflow_data_namespace(workflow.workflow_id), key, app.serializer.dumps(value))

    def get_data(self, key: str, default: Any = None) -> Any:
        execution, workflow = self._workflow("get_data")
        app = execution.app
        stored = app.state_backend.kv_get(workflow_data_namespace(workflow.workflow_id), key)
        return default if stored is None else app.serializer.loads(stored)

    @property
    def root(self) -> RootOperations:
        """The deterministic operations; only the workflow root invocation may use them."""
        return RootOperations()


class RootOperations:
    def _root(self, operation: str) -> Execution:
        execution = context.current()
        workflow = execution.record.workflow if execution is not None else None
        invocation_id = execution.record.invocation_id if execution is not None else None
        if execution is None or workflow is None or workflow.workflow_id != invocation_id:
            raise DeterministicOperationScopeError(
                operation, invocation_id, workflow.workflow_id if workflow is not None else None
            )
        return execution

    def _step(self, execution: Execution, kind: str, make: Any) -> Any:
        """The value of the next step: recorded, or made now and recorded."""
        step = _next_step(execution)
        app = execution.app
        key = step_key(execution.record.invocation_id, step)
        stored = app.state_backend.kv_get(WORKFLOW_OPS_NAMESPACE, key)
        if stored is not None:
            recorded = json.loads(stored)
            if recorded["kind"] != kind:
                raise WorkflowNonDeterminismError(execution.record.invocation_id, step, recorded["kind"], kind)
            return recorded["value"]
        value = make()
        app.state_backend.kv_put(WORKFLOW_OPS_NAMESPACE, key, json.dumps({"kind": kind, "value": value}))
        return value

    def uuid(self) -> str:
        """A random UUID (hex form with dashes), the same on every attempt of this invocation."""
        return str(self._step(self._root("uuid"), "uuid", lambda: str(_uuid.uuid4())))

    def random(self) -> float:
        """A float in [0, 1), the same on every attempt."""
        return float(self._step(self._root("random"), "random", _random.random))

    def utc_now(self) -> datetime:
        """The time of the first attempt's call (UTC, aware), the same on every attempt."""
        value = self._step(self._root("utc_now"), "utc_now", lambda: datetime.now(UTC).isoformat())
        return datetime.fromisoformat(value)

    def execute_task(self, task: CallableTask, *args: Any, **kwargs: Any) -> Any:
        """Call ``task`` as a child and return its result; on replay, a child that succeeded
        returns its stored result without running again (see the module docstring).

        The child's invocation id is derived from (workflow invocation, step, attempt) and recorded
        before the child is registered; registering an id twice stores it once, so an attempt that
        died between the two registers the same child, never a second one."""
        execution = self._root("execute_task")
        step = _next_step(execution)
        app = execution.app
        workflow_id = execution.record.invocation_id
        key = step_key(workflow_id, step)
        bound = task.signature.bind(args, kwargs)  # type: ignore[attr-defined]
        call = task.encode(bound)  # type: ignore[attr-defined]
        requested = f"{task.task_id}({_shown(bound)})"
        attempt = 0
        stored = app.state_backend.kv_get(WORKFLOW_OPS_NAMESPACE, key)
        if stored is not None:
            recorded = json.loads(stored)
            value = recorded.get("value")
            if (
                recorded["kind"] != "task"
                or not isinstance(value, dict)
                or value.get("task_id") != task.task_id
                or value.get("call_id") != call.call_id
            ):
                what = value.get("call", recorded["kind"]) if isinstance(value, dict) else recorded["kind"]
                raise WorkflowNonDeterminismError(workflow_id, step, what, requested)
            attempt = int(value.get("attempt", 0))
            record = app.state_backend.get(value["invocation_id"])
            if record is not None and record.status not in _RERUN:
                return Invocation(app, record).result
            if record is not None:  # it failed: this attempt calls it again
                attempt += 1
        child_id = _child_id(workflow_id, step, attempt)
        entry = {
            "task_id": task.task_id,
            "call_id": call.call_id,
            "invocation_id": child_id,
            "attempt": attempt,
            "call": requested,
        }
        app.state_backend.kv_put(WORKFLOW_OPS_NAMESPACE, key, json.dumps({"kind": "task", "value": entry}))
        return self._call(execution, task, call, child_id).result

    @staticmethod
    def _call(execution: Execution, task: Any, call: Any, child_id: str) -> Invocation[Any]:
        app = execution.app
        app.ensure_task_published(task)  # type: ignore[attr-defined]
        caller = execution.runner.runner_id
        if app.conf.dev_mode_force_sync_tasks:
            (record,) = app.orchestrator.register(
                task, [call], execution.record, enqueue=False, registered_by=caller, invocation_ids=[child_id]
            )
            if record.status is S.REGISTERED:
                record = run_inline(app, record)
            return Invocation(app, record)
        (record,) = app.orchestrator.register(
            task, [call], execution.record, registered_by=caller, invocation_ids=[child_id]
        )
        return Invocation(app, record)


def _child_id(workflow_invocation_id: str, step: int, attempt: int) -> str:
    return hashlib.sha256(f"workflow-child\n{workflow_invocation_id}\n{step}\n{attempt}".encode()).hexdigest()[:32]


def _shown(values: Any) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in dict(values).items())
    return text if len(text) <= 200 else text[:199] + "…"


def recorded_steps(app: Any, invocation_id: str, limit: int = 10_000) -> list[dict[str, Any]]:
    """The recorded steps of a workflow invocation, in order (the monitor, tests)."""
    steps: list[dict[str, Any]] = []
    for step in range(limit):
        stored = app.state_backend.kv_get(WORKFLOW_OPS_NAMESPACE, step_key(invocation_id, step))
        if stored is None:
            break
        steps.append({"step": step, **json.loads(stored)})
    return steps
