"""The one implementation of the orchestration logic, on top of the ports.

It turns the status table into compare-and-set requests, puts queued statuses on the broker,
computes concurrency keys, and encodes outcomes. Backends only store; runners only execute.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from pynenc_nb.call import EncodedCall, PayloadLimits, decode_values, display, encode_value, key_of
from pynenc_nb.exceptions import (
    InvocationConcurrencyControlledError,
    InvocationError,
    InvocationKilledError,
    InvocationNotFoundError,
    RunnerLostError,
    SingleInvocationWithDifferentArgumentsError,
)
from pynenc_nb.invocation.status import (
    NON_FINAL,
    STATUS_TABLE,
    InvocationStatus,
    owner_rule,
    sources_of,
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
    workflow_subs_namespace,
)
from pynenc_nb.task_options import ConcurrencyControlType

if TYPE_CHECKING:
    from pynenc_nb.backends import Backends
    from pynenc_nb.conf import PynencConfig
    from pynenc_nb.ports.work import WorkSource
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
        self,
        backends: Callable[[], Backends],
        serializer: Serializer,
        settings: Callable[[], PynencConfig],
        logger: logging.Logger | None = None,
    ) -> None:
        self._backends = backends
        self.serializer = serializer
        self._settings = settings
        self.logger = logger or logging.getLogger("pynenc")

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
        invocation_ids: Sequence[str] | None = None,
        in_task_thread: bool = False,
    ) -> list[InvocationRecord]:
        """Store invocations for ``calls`` and queue the new ones; reuse where options say so.

        ``invocation_ids`` (one per call) replace fresh ids: registering the same id again answers
        with the stored invocation, which is how a trigger occurrence replayed after a crash
        creates its invocation once. ``in_task_thread``: the caller is a running task's own thread,
        which will store that task's ending, so a backend may report a failure to store fresh
        calls at that thread's next operation instead of waiting for its reply now."""
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
            invocation_id = invocation_ids[index] if invocation_ids is not None else new_id()
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
        if not records:
            stored = []
        elif enqueue:
            fresh = in_task_thread and invocation_ids is None
            stored = self.backends.register_and_send(records, registered_by, NON_FINAL, fresh_ids=fresh)
        else:
            stored = state.register(records, registered_by, NON_FINAL)
        self._list_subworkflows(records, stored)
        if options.on_diff_non_key_args_raise:
            for wanted, got in zip(records, stored, strict=True):
                if got.invocation_id != wanted.invocation_id and got.call_id != wanted.call_id:
                    raise SingleInvocationWithDifferentArgumentsError(
                        f"task {task.task_id}: invocation {got.invocation_id} with the same key arguments but "
                        "different other arguments is already registered (on_diff_non_key_args_raise=True)",
                        invocation_id=got.invocation_id,
                    )
        out = iter(stored)
        return [cached[i] if i in cached else next(out) for i in range(len(calls))]

    def _list_subworkflows(self, wanted: Sequence[InvocationRecord], stored: Sequence[InvocationRecord]) -> None:
        """A new sub-workflow root is listed under the workflow it was started in (one write each,
        only for sub-workflows), so the monitor finds it whoever in that workflow started it."""
        for record, got in zip(wanted, stored, strict=True):
            workflow = record.workflow
            if (
                workflow is not None
                and workflow.parent_workflow_id is not None
                and workflow.workflow_id == record.invocation_id
                and got.invocation_id == record.invocation_id
            ):
                self.backends.state.kv_put(
                    workflow_subs_namespace(workflow.parent_workflow_id), record.invocation_id, ""
                )

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
        (stored,) = self.backends.register_and_send([record], registered_by, NON_FINAL)
        return stored, stored.invocation_id == fresh_id

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
    # One set of verbs: ``plan`` builds a compare-and-set from the status table, ``store`` applies
    # one (queueing a queued status), ``move`` does both, and ``settle`` is what follows every
    # stored change, whichever path stored it (here, or a work source's take).

    def plan(
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

    def move(
        self,
        invocation_id: str,
        to: InvocationStatus,
        caller: str | None,
        *,
        outcome: Outcome | None = None,
        reason: str | None = None,
        exclusive_key: str | None = None,
    ) -> TransitionResult:
        """``plan`` then ``store``."""
        return self.store(
            self.plan(invocation_id, to, caller, outcome=outcome, reason=reason, exclusive_key=exclusive_key)
        )

    def store(self, request: TransitionRequest) -> TransitionResult:
        """Apply ``request``; a queued status goes to the broker in the same step."""
        to = request.change.status
        with self.backends.atomic():
            result = self.backends.state.transition(request)
            if result.applied and STATUS_TABLE[to].queued and not self.conf.dev_mode_force_sync_tasks:
                record = result.record
                self.backends.broker.send(record.queue, record.invocation_id, record.priority)
        self.settle(request, result)
        return result

    def settle(self, request: TransitionRequest, result: TransitionResult) -> None:
        """What follows a stored change: leaving RUNNING frees the running key for a waiting call."""
        if result.applied and result.record.running_key and request.change.status in LEAVES_RUNNING:
            self._release_one(result.record.running_key)

    # --- taking work (``TakeRules``, for the work sources) --------------------------------------

    def work_source(self, queues: Sequence[str], runner_id: str) -> WorkSource:
        """How a worker of ``runner_id`` takes work from ``queues``: its backend chooses."""
        return self.backends.work_source(self, queues, runner_id, max_batch=self.conf.max_batch)

    def claim_request(self, invocation_id: str, runner_id: str) -> TransitionRequest:
        return self.plan(invocation_id, S.PENDING, runner_id)

    def start_request(self, invocation_id: str, runner_id: str, running_key: str | None) -> TransitionRequest:
        return self.plan(
            invocation_id, S.RUNNING, runner_id, exclusive_key=running_key, exclusive_statuses=RUNNING_CONTROLLED
        )

    def started(self, claimed: InvocationRecord, result: TransitionResult) -> InvocationRecord | None:
        """A blocked call waits in CONCURRENCY_CONTROLLED (no busy rerouting) until the holder of its
        key stops running, or ends CONCURRENCY_CONTROLLED_FINAL if the task says not to reroute."""
        if result.applied:
            return result.record
        if result.conflict == "exclusive":
            runner_id = result.record.owner_id
            if claimed.reroute_on_concurrency_control:
                blocked = self.move(
                    claimed.invocation_id, S.CONCURRENCY_CONTROLLED, runner_id, reason="running concurrency"
                )
                if blocked.applied:
                    self.release_if_free(blocked.record)  # the holder may have finished meanwhile
            else:
                self.move(
                    claimed.invocation_id, S.CONCURRENCY_CONTROLLED_FINAL, runner_id, reason="running concurrency"
                )
        return None

    def ended(self, request: TransitionRequest, result: TransitionResult | None) -> None:
        if result is not None:
            self.settle(request, result)
        self.report(request, result)

    def report(self, request: TransitionRequest, result: TransitionResult | None) -> None:
        """Say so when an ending was refused: the invocation was taken from its runner meanwhile."""
        invocation_id = request.change.invocation_id
        if result is None:
            self.logger.warning("result of %s discarded: the invocation was purged", invocation_id)
        elif not result.applied:
            self.logger.warning(
                "result of %s discarded: the invocation is now %s (owner %s), it was recovered while running",
                invocation_id,
                result.record.status,
                result.record.owner_id,
            )

    def give_back(self, invocation_id: str, runner_id: str, reason: str) -> None:
        self.move(invocation_id, S.REROUTED, runner_id, reason=reason)

    def claim(self, invocation_id: str, runner_id: str) -> InvocationRecord | None:
        """Take an invocation for ``runner_id`` outside a work source (dev mode): -> PENDING."""
        try:
            result = self.store(self.claim_request(invocation_id, runner_id))
        except InvocationNotFoundError:
            return None  # purged while queued
        return result.record if result.applied else None

    def start(self, record: InvocationRecord, runner_id: str) -> InvocationRecord | None:
        """PENDING -> RUNNING, honouring running concurrency (see ``started``)."""
        request = self.start_request(record.invocation_id, runner_id, record.running_key)
        return self.started(record, self.store(request))

    def release_if_free(self, record: InvocationRecord) -> bool:
        """Reroute a CONCURRENCY_CONTROLLED invocation if nothing runs with its key any more."""
        key = record.running_key
        if key:
            state = self.backends.state
            holder_id = state.key_holder(key)
            holder = state.get(holder_id) if holder_id and holder_id != record.invocation_id else None
            if holder is not None and holder.status in RUNNING_CONTROLLED:
                return False
        return self.move(record.invocation_id, S.REROUTED, None, reason="concurrency slot free").applied

    def _release_one(self, running_key: str) -> None:
        """The oldest invocation waiting for ``running_key`` goes back to the queue."""
        waiting, _ = self.backends.state.query(
            InvocationFilter(statuses=frozenset({S.CONCURRENCY_CONTROLLED}), running_key=running_key), limit=50
        )
        for record in reversed(waiting):
            if self.release_if_free(record):
                return

    # --- endings -----------------------------------------------------------------------------------

    def result_ending(self, record: InvocationRecord, runner_id: str, value: Any) -> TransitionRequest:
        """RUNNING -> SUCCESS with ``value`` stored; raises when the value cannot be serialized."""
        conf = self.conf
        payload = encode_value(
            self.serializer,
            self.backends.arg_cache,
            value,
            conf.arg_cache_min_bytes,
            PayloadLimits(conf.payload_warn_bytes, conf.payload_max_bytes),
            f"the result of {record.task_id} ({record.invocation_id})",
        )
        return self.plan(record.invocation_id, S.SUCCESS, runner_id, outcome=Outcome("result", payload, display(value)))

    def error_ending(self, record: InvocationRecord, runner_id: str | None, exc: BaseException) -> TransitionRequest:
        """RUNNING -> FAILED with the exception stored."""
        return self.plan(
            record.invocation_id, S.FAILED, runner_id, outcome=self.exception_outcome(exc), reason=type(exc).__name__
        )

    def retry(self, record: InvocationRecord, runner_id: str, exc: BaseException) -> TransitionResult:
        return self.move(record.invocation_id, S.RETRY, runner_id, reason=f"{type(exc).__name__}: {exc}")

    def recover(
        self, invocation_id: str, caller: str | None, reason: str, via: InvocationStatus = S.RUNNING_RECOVERY
    ) -> TransitionResult | None:
        """Take an invocation back from a lost runner: reroute it, or fail it past the attempt limit."""
        entered = self.move(invocation_id, via, caller, reason=reason)
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
            return self.move(invocation_id, S.FAILED, caller, outcome=self.exception_outcome(error), reason=reason)
        return self.move(invocation_id, S.REROUTED, caller, reason=reason)

    def kill(
        self, invocation_id: str, caller: str | None = None, reason: str = "killed on request"
    ) -> InvocationRecord:
        """End a non-final invocation KILLED now, whoever owns it; a final one is left as it is.

        KILLED is final: waiters get :class:`InvocationKilledError`, a queued message for it is
        dropped by the claim's compare-and-set, and a runner executing it interrupts its code within
        one ``runner_heartbeat_interval_s`` (its ending is then refused). Children are not killed.
        Returns the stored record.
        """
        record = self.get(invocation_id)
        if record.status.is_final:
            return record
        error = InvocationKilledError(
            f"invocation {invocation_id} of {record.task_id} was killed ({reason}): it has no result; "
            "call the task again for a new run",
            invocation_id=invocation_id,
        )
        result = self.move(invocation_id, S.KILLED, caller, outcome=self.exception_outcome(error), reason=reason)
        if result.applied:
            self.logger.info("invocation %s of %s killed: %s", invocation_id, record.task_id, reason)
        return result.record

    def exception_outcome(self, exc: BaseException) -> Outcome:
        data = self.serializer.encode_exception(exc)
        data["traceback"] = "".join(traceback.format_exception(exc))
        # Its class and bases by name: exception triggers match subclasses without importing them.
        data["classes"] = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__ if c is not object]
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
