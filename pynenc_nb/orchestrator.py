"""The one implementation of the orchestration logic, on top of the ports.

It turns the status table into compare-and-set requests, puts queued statuses on the broker,
computes concurrency keys, and encodes outcomes. Backends only store; runners only execute.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from pynenc_nb.call import EncodedCall, decode_values, display, encode_value, key_of
from pynenc_nb.exceptions import (
    InvocationConcurrencyControlledError,
    InvocationError,
    InvocationNotFoundError,
    RunnerLostError,
)
from pynenc_nb.records import (
    InvocationFilter,
    InvocationRecord,
    Outcome,
    StatusChange,
    TransitionRequest,
    TransitionResult,
    WorkflowIdentity,
    new_id,
)
from pynenc_nb.status import (
    NON_FINAL,
    STATUS_TABLE,
    InvocationStatus,
    owner_rule,
    sources_of,
)
from pynenc_nb.task_options import ConcurrencyControlType

if TYPE_CHECKING:
    from pynenc_nb.backends import Backends
    from pynenc_nb.conf import PynencConfig
    from pynenc_nb.ports import TakeAndStart
    from pynenc_nb.serialization.codec import Serializer
    from pynenc_nb.task_options import TaskOptions

S = InvocationStatus
# Running concurrency control forbids two RUNNING invocations per key; a PAUSED one does not hold its
# key (it may be waiting on a call of the same task), and resuming checks the key again.
RUNNING_CONTROLLED: frozenset[InvocationStatus] = frozenset({S.RUNNING})
# Statuses that end a RUNNING spell: entering one frees the running key for a waiting invocation.
LEAVES_RUNNING: frozenset[InvocationStatus] = frozenset(
    {S.SUCCESS, S.FAILED, S.RETRY, S.PAUSED, S.KILLED, S.RUNNING_RECOVERY}
)


class CalledTask(Protocol):
    """What registering a call needs of its task."""

    @property
    def task_id(self) -> str: ...

    @property
    def options(self) -> TaskOptions: ...

    @property
    def version(self) -> str | None: ...

    @property
    def is_workflow(self) -> bool: ...


class Orchestrator:
    """The orchestration logic over the backends, the serializer and the settings.

    The backends and settings come through getters: an app reopens its backends after ``fork``,
    and a runner's settings may be replaced after the app is built (CLI options, kernel runners).
    """

    def __init__(
        self, backends: Callable[[], Backends], serializer: Serializer, settings: Callable[[], PynencConfig]
    ) -> None:
        self._backends = backends
        self.serializer = serializer
        self._settings = settings

    @property
    def backends(self) -> Backends:
        return self._backends()

    @property
    def conf(self) -> PynencConfig:
        return self._settings()

    # --- registration ----------------------------------------------------------------------------

    def register(
        self,
        task: CalledTask,
        calls: Sequence[EncodedCall],
        parent: InvocationRecord | None,
        *,
        enqueue: bool = True,
        registered_by: str | None = None,
    ) -> list[InvocationRecord]:
        """Store invocations for ``calls`` and queue the new ones; reuse where options say so."""
        options = task.options
        state = self.backends.state
        records: list[InvocationRecord] = []
        cached: dict[int, InvocationRecord] = {}
        for index, call in enumerate(calls):
            if options.call_result_cache:
                hit = state.find_by_call(task.task_id, call.call_id, frozenset({S.SUCCESS}))
                if hit is not None:
                    cached[index] = hit
                    continue
            invocation_id = new_id()
            records.append(
                InvocationRecord(
                    invocation_id=invocation_id,
                    task_id=task.task_id,
                    call_id=call.call_id,
                    arguments=call.arguments,
                    args_display=call.args_display,
                    parent_invocation_id=parent.invocation_id if parent else None,
                    workflow=self._workflow_for(task, invocation_id, parent),
                    task_version=task.version,
                    queue=options.queue,
                    priority=options.priority,
                    registration_key=self._key("reg", task, call, options.registration_concurrency),
                    running_key=self._key("run", task, call, options.running_concurrency),
                    reroute_on_concurrency_control=options.reroute_on_concurrency_control,
                )
            )
        fused = self.backends.register_and_send
        if not records:
            stored = []
        elif enqueue and fused is not None:
            stored = fused.register_and_send(records, registered_by, NON_FINAL)
        else:
            with self.backends.atomic():
                stored = state.register(records, registered_by, NON_FINAL)
                if enqueue:
                    fresh = {r.invocation_id for r in records}
                    to_send = [(r.queue, r.invocation_id, r.priority) for r in stored if r.invocation_id in fresh]
                    if to_send:
                        self.backends.broker.send_many(to_send)
        if options.on_diff_non_key_args_raise:
            for wanted, got in zip(records, stored, strict=True):
                if got.invocation_id != wanted.invocation_id and got.call_id != wanted.call_id:
                    raise InvocationConcurrencyControlledError(
                        f"task {task.task_id}: invocation {got.invocation_id} with the same key arguments but "
                        "different other arguments is already registered (on_diff_non_key_args_raise=True)",
                        invocation_id=got.invocation_id,
                    )
        out = iter(stored)
        return [cached[i] if i in cached else next(out) for i in range(len(calls))]

    def rerun(self, invocation_id: str, registered_by: str | None = None) -> tuple[InvocationRecord, bool]:
        """Register a final invocation's call again and queue it: same task, code version,
        arguments, queue, priority and concurrency keys, as a new top-level call.

        Built from the stored record alone, so a monitor server that never imports user code can
        offer it. Like a fresh call, it is answered by a live invocation holding the same
        registration key when there is one. Returns the invocation and whether it is new.
        """
        old = self.get(invocation_id)
        if not old.status.is_final:
            raise InvocationError(
                f"invocation {invocation_id} of {old.task_id} is {old.status.value}: only a final invocation "
                "can be run again",
                invocation_id=invocation_id,
            )
        fresh_id = new_id()
        workflow = None
        if old.workflow is not None and old.workflow.workflow_id == old.invocation_id:
            workflow = WorkflowIdentity(fresh_id, old.workflow.workflow_type)  # a workflow root starts a new run
        record = replace(
            old,
            invocation_id=fresh_id,
            status=S.REGISTERED,
            owner_id=None,
            parent_invocation_id=None,
            workflow=workflow,
            num_retries=0,
            recoveries=0,
            created_at=time.time(),
            updated_at=0.0,
        )
        with self.backends.atomic():
            (stored,) = self.backends.state.register([record], registered_by, NON_FINAL)
            fresh = stored.invocation_id == fresh_id
            if fresh:
                self.backends.broker.send(stored.queue, stored.invocation_id, stored.priority)
        return stored, fresh

    @staticmethod
    def _key(prefix: str, task: CalledTask, call: EncodedCall, scope: ConcurrencyControlType) -> str | None:
        if scope is ConcurrencyControlType.DISABLED:
            return None
        if scope is ConcurrencyControlType.TASK:
            return f"{prefix}:{task.task_id}"
        if scope is ConcurrencyControlType.ARGUMENTS:
            return f"{prefix}:{task.task_id}:{call.call_id}"
        return f"{prefix}:{task.task_id}:{key_of(task.task_id, call.encoded, task.options.key_arguments)}"

    @staticmethod
    def _workflow_for(task: CalledTask, invocation_id: str, parent: InvocationRecord | None) -> WorkflowIdentity | None:
        inherited = parent.workflow if parent is not None else None
        if task.is_workflow:
            return WorkflowIdentity(
                workflow_id=invocation_id,
                workflow_type=task.task_id,
                parent_workflow_id=inherited.workflow_id if inherited else None,
            )
        return inherited

    # --- status changes --------------------------------------------------------------------------

    def request(
        self,
        invocation_id: str,
        to: InvocationStatus,
        caller: str | None,
        *,
        outcome: Outcome | None = None,
        reason: str | None = None,
        exclusive_key: str | None = None,
        exclusive_statuses: frozenset[InvocationStatus] | None = None,
    ) -> TransitionRequest:
        """The compare-and-set for moving ``invocation_id`` to ``to``, from the status table."""
        allowed_owners, new_owner = owner_rule(to, caller)
        if exclusive_statuses is None:
            exclusive_statuses = RUNNING_CONTROLLED if exclusive_key else frozenset()
        return TransitionRequest(
            change=StatusChange(invocation_id, to, new_owner, caller, time.time(), reason),
            allowed_from=sources_of(to),
            allowed_owners=allowed_owners,
            counter=STATUS_TABLE[to].counter,
            outcome=outcome,
            exclusive_key=exclusive_key,
            exclusive_statuses=exclusive_statuses,
        )

    def transition(
        self,
        invocation_id: str,
        to: InvocationStatus,
        caller: str | None,
        *,
        outcome: Outcome | None = None,
        reason: str | None = None,
        exclusive_key: str | None = None,
    ) -> TransitionResult:
        """One compare-and-set built from the status table; queued statuses go to the broker."""
        return self.apply(
            self.request(invocation_id, to, caller, outcome=outcome, reason=reason, exclusive_key=exclusive_key)
        )

    def apply(self, request: TransitionRequest) -> TransitionResult:
        """Store ``request``; a queued status goes to the broker in the same step."""
        to = request.change.status
        with self.backends.atomic():
            result = self.backends.state.transition(request)
            if result.applied and STATUS_TABLE[to].queued and not self.conf.dev_mode_force_sync_tasks:
                record = result.record
                self.backends.broker.send(record.queue, record.invocation_id, record.priority)
        self.applied(request, result)
        return result

    def applied(self, request: TransitionRequest, result: TransitionResult) -> None:
        """What follows a stored change: leaving RUNNING frees the running key for a waiting call."""
        if result.applied and result.record.running_key and request.change.status in LEAVES_RUNNING:
            self._release_one(result.record.running_key)

    def claim(self, invocation_id: str, runner_id: str) -> InvocationRecord | None:
        """Take a delivered invocation for ``runner_id`` (-> PENDING); None if someone else has it."""
        try:
            result = self.transition(invocation_id, S.PENDING, runner_id)
        except InvocationNotFoundError:
            return None  # purged while queued
        return result.record if result.applied else None

    def start(self, record: InvocationRecord, runner_id: str) -> InvocationRecord | None:
        """PENDING -> RUNNING, honouring running concurrency.

        A blocked call waits in CONCURRENCY_CONTROLLED (no busy rerouting) until the holder of its
        key stops running, or ends CONCURRENCY_CONTROLLED_FINAL if the task says not to reroute.
        """
        result = self.transition(record.invocation_id, S.RUNNING, runner_id, exclusive_key=record.running_key)
        return self._started(record, result, runner_id)

    def _started(self, record: InvocationRecord, result: TransitionResult, runner_id: str) -> InvocationRecord | None:
        if result.applied:
            return result.record
        if result.conflict == "exclusive":
            if record.reroute_on_concurrency_control:
                blocked = self.transition(
                    record.invocation_id, S.CONCURRENCY_CONTROLLED, runner_id, reason="running concurrency"
                )
                if blocked.applied:
                    self.release_if_free(blocked.record)  # the holder may have finished meanwhile
            else:
                self.transition(
                    record.invocation_id, S.CONCURRENCY_CONTROLLED_FINAL, runner_id, reason="running concurrency"
                )
        return None

    def take_and_start(
        self,
        fused: TakeAndStart,
        queues: Sequence[str],
        runner_id: str,
        timeout_s: float,
        endings: Sequence[TransitionRequest] = (),
        batch: int = 0,
        batch_tasks: Sequence[str] = (),
    ) -> tuple[list[TransitionResult | None], list[InvocationRecord]]:
        """``endings`` (the runner's last invocations end), then ``claim`` + ``start`` of the next
        queued invocation (and a batch of short ones, see ``TakeAndStart``), in one step of a
        backend that can. Returns the endings' results and the started records."""
        for ending in endings:
            if STATUS_TABLE[ending.change.status].queued:
                raise ValueError(f"an ending sent with a take cannot be queued: {ending.change.status}")

        def plan() -> tuple[TransitionRequest, TransitionRequest]:
            claim = self.request("", S.PENDING, runner_id)
            # exclusive on the record's own running key, which the backend reads
            start = self.request("", S.RUNNING, runner_id, exclusive_statuses=RUNNING_CONTROLLED)
            return claim, start

        ended, taken = fused.take_and_start(queues, runner_id, plan, timeout_s, endings, batch, batch_tasks)
        for ending, result in zip(endings, ended, strict=False):
            if result is not None:
                self.applied(ending, result)
        started = []
        for take in taken:
            if take.claimed is None or not take.claimed.applied or take.started is None:
                continue
            record = self._started(take.claimed.record, take.started, runner_id)
            if record is not None:
                started.append(record)
        return ended, started

    def release_if_free(self, record: InvocationRecord) -> bool:
        """Reroute a CONCURRENCY_CONTROLLED invocation if nothing runs with its key any more."""
        if record.running_key:
            holders, _ = self.backends.state.query(
                InvocationFilter(statuses=RUNNING_CONTROLLED, running_key=record.running_key), limit=1
            )
            if holders:
                return False
        return self.transition(record.invocation_id, S.REROUTED, None, reason="concurrency slot free").applied

    def _release_one(self, running_key: str) -> None:
        """The oldest invocation waiting for ``running_key`` goes back to the queue."""
        waiting, _ = self.backends.state.query(
            InvocationFilter(statuses=frozenset({S.CONCURRENCY_CONTROLLED}), running_key=running_key), limit=50
        )
        for record in reversed(waiting):
            if self.release_if_free(record):
                return

    def succeed(self, record: InvocationRecord, runner_id: str, value: Any) -> TransitionResult:
        return self.apply(self.success(record, runner_id, value))

    def success(self, record: InvocationRecord, runner_id: str, value: Any) -> TransitionRequest:
        """RUNNING -> SUCCESS with ``value`` stored; raises when the value cannot be serialized."""
        payload = encode_value(self.serializer, self.backends.arg_cache, value, self.conf.arg_cache_min_bytes)
        return self.request(
            record.invocation_id, S.SUCCESS, runner_id, outcome=Outcome("result", payload, display(value))
        )

    def fail(self, record: InvocationRecord, runner_id: str | None, exc: BaseException) -> TransitionResult:
        return self.apply(self.failure(record, runner_id, exc))

    def failure(self, record: InvocationRecord, runner_id: str | None, exc: BaseException) -> TransitionRequest:
        return self.request(
            record.invocation_id, S.FAILED, runner_id, outcome=self.exception_outcome(exc), reason=type(exc).__name__
        )

    def retry(self, record: InvocationRecord, runner_id: str, exc: BaseException) -> TransitionResult:
        return self.transition(record.invocation_id, S.RETRY, runner_id, reason=f"{type(exc).__name__}: {exc}")

    def recover(
        self, invocation_id: str, caller: str | None, reason: str, via: InvocationStatus = S.RUNNING_RECOVERY
    ) -> TransitionResult | None:
        """Take an invocation back from a lost runner: reroute it, or fail it past the attempt limit."""
        entered = self.transition(invocation_id, via, caller, reason=reason)
        if not entered.applied:
            return None
        record = entered.record
        limit = self.conf.max_runner_loss_retries
        if record.recoveries > limit:
            error = RunnerLostError(
                f"invocation {invocation_id} of {record.task_id} lost its runner {record.recoveries} times "
                f"(max_runner_loss_retries={limit}); last: {reason}",
                invocation_id=invocation_id,
            )
            return self.transition(
                invocation_id, S.FAILED, caller, outcome=self.exception_outcome(error), reason=reason
            )
        return self.transition(invocation_id, S.REROUTED, caller, reason=reason)

    def exception_outcome(self, exc: BaseException) -> Outcome:
        data = self.serializer.encode_exception(exc)
        data["traceback"] = "".join(traceback.format_exception(exc))
        return Outcome("exception", json.dumps(data), f"{type(exc).__name__}: {display(str(exc))[1:-1]}")

    # --- reading outcomes ------------------------------------------------------------------------

    def get(self, invocation_id: str) -> InvocationRecord:
        record = self.backends.state.get(invocation_id)
        if record is None:
            raise InvocationNotFoundError(f"invocation {invocation_id} does not exist", invocation_id=invocation_id)
        return record

    def value_of(self, record: InvocationRecord, outcome: Outcome | None = None) -> Any:
        """The result of a final invocation, or its exception raised with its original type."""
        if record.status is S.CONCURRENCY_CONTROLLED_FINAL:
            raise InvocationConcurrencyControlledError(
                f"invocation {record.invocation_id} of {record.task_id} was not run: another invocation held "
                "its concurrency slot and the task has reroute_on_concurrency_control=False",
                invocation_id=record.invocation_id,
            )
        if outcome is None:
            outcome = self.backends.state.outcome(record.invocation_id)
        if outcome is None:
            raise InvocationError(
                f"invocation {record.invocation_id} is {record.status} and has no stored outcome",
                invocation_id=record.invocation_id,
            )
        value = decode_values(outcome.payload, self.serializer, self.backends.arg_cache)
        if outcome.kind == "exception":
            if isinstance(value, BaseException):
                raise value
            raise InvocationError(f"invocation {record.invocation_id} failed: {outcome.display}")
        return value
