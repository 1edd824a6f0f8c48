"""One exception tree, rooted at :class:`PynencError`, with a sub-root per subsystem.

Every error carries the facts needed to act on it as attributes and says in its message what
to do next. Control flow (a task asking for a retry) is an exception too, but never logged as an
error.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[PynencError], args: tuple[Any, ...], state: dict[str, Any]) -> PynencError:
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class PynencError(Exception):
    """Root of every error raised by pynenc_nb."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled in a runner and raised in the caller: restore message and attributes as they
        # were, without calling an ``__init__`` whose parameters differ from ``self.args``.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class PynencWarning(UserWarning):
    """Root of our warnings; the test-suite turns them into errors."""


# --- configuration -------------------------------------------------------------------------------


class NoRunnerWarning(PynencWarning):
    """A caller waits on an invocation that no live runner of its app serves the queue of."""


class ConfigError(PynencError):
    """A configuration value is missing, malformed or not usable in this setup."""

    def __init__(self, message: str, *, variable: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.variable = variable
        self.value = value


class MissingDependencyError(ConfigError):
    """An optional dependency needed by the chosen backend or feature is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f'{feature} needs an optional dependency: pip install "pynenc_nb[{extra}]"')
        self.feature = feature
        self.extra = extra


# --- serialization -------------------------------------------------------------------------------


class SerializationError(PynencError):
    """A value cannot be serialized or deserialized with the configured serializer."""

    def __init__(
        self,
        message: str,
        *,
        argument: str | None = None,
        value_type: str | None = None,
        serializer: str | None = None,
    ) -> None:
        super().__init__(message)
        self.argument = argument
        self.value_type = value_type
        self.serializer = serializer


class SignatureError(SerializationError):
    """A pickled payload's HMAC signature is missing or wrong: it is refused, never loaded."""


# --- backends ------------------------------------------------------------------------------------


class BackendError(PynencError):
    """A backend failed to carry out an operation."""


class BackendUnavailableError(BackendError):
    """A backend server cannot be reached. The URL in the message is always redacted."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class BackendStorageError(BackendError):
    """The backend's storage refused a write: the disk is full, or the file or its disk is
    read-only. Nothing of the operation was stored; ``path`` is the file that could not be written."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class PayloadTooLargeError(BackendError):
    """A value is larger than the backend can store in one record (MongoDB: 16 MiB a document).
    Raised before anything is stored."""

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


# --- tasks ---------------------------------------------------------------------------------------


class TaskError(PynencError):
    """Root of the task-definition and task-lookup errors."""


class InvalidTaskOptionsError(TaskError):
    """A task decorator received an unknown option or a value of the wrong type."""


class TaskCallError(TaskError, TypeError):
    """A call's arguments do not fit the task's parameters (a ``TypeError``, as for a plain call)."""


class TaskNotFoundError(TaskError):
    """A task id is not registered in the app and cannot be imported."""

    def __init__(self, task_id: str, hint: str = "") -> None:
        message = f"unknown task {task_id!r}"
        if hint:
            message += f": {hint}"
        super().__init__(message)
        self.task_id = task_id


class TaskLoadError(TaskError):
    """A task's code cannot be loaded on this runner (module not importable, shipped code broken)."""

    def __init__(self, task_id: str, reason: str) -> None:
        super().__init__(f"cannot load the code of task {task_id!r}: {reason}")
        self.task_id = task_id
        self.reason = reason


class TaskRoutingError(TaskError):
    """A call was not routed to a new invocation (pynenc's name for that family)."""


class RetryError(PynencError):
    """Raise inside a task to ask for another attempt (up to the task's ``max_retries``)."""


# --- invocations ---------------------------------------------------------------------------------


class InvocationError(PynencError):
    """Root of the errors about one invocation."""

    def __init__(self, message: str, *, invocation_id: str | None = None) -> None:
        super().__init__(message)
        self.invocation_id = invocation_id


class InvocationNotFoundError(InvocationError):
    """No invocation with this id is stored in the state backend."""


class InvalidStatusTransitionError(InvocationError):
    """A status change is not allowed by the state machine table."""

    def __init__(self, invocation_id: str, from_status: str, to_status: str) -> None:
        super().__init__(
            f"invocation {invocation_id}: {from_status} -> {to_status} is not an allowed transition",
            invocation_id=invocation_id,
        )
        self.from_status = from_status
        self.to_status = to_status


class StatusConflictError(InvocationError):
    """A compare-and-set lost: the invocation is no longer in the expected status or owner."""

    def __init__(self, invocation_id: str, to_status: str, actual_status: str, actual_owner: str | None):
        super().__init__(
            f"invocation {invocation_id} could not move to {to_status}: it is {actual_status}"
            f" (owner {actual_owner or 'none'})",
            invocation_id=invocation_id,
        )
        self.to_status = to_status
        self.actual_status = actual_status
        self.actual_owner = actual_owner


class InvocationTimeoutError(InvocationError, TimeoutError):
    """Waiting for an invocation's result took longer than the given timeout."""


class InvocationConcurrencyControlledError(InvocationError):
    """The invocation ended CONCURRENCY_CONTROLLED_FINAL: it was not run and has no result."""


class SingleInvocationWithDifferentArgumentsError(InvocationConcurrencyControlledError, TaskRoutingError):
    """A call matched a live invocation on its key arguments but differs in the others, and the
    task has ``on_diff_non_key_args_raise=True`` (pynenc's name)."""


class CycleDetectedError(InvocationError):
    """Waiting on this invocation would close a cycle of invocations waiting on each other."""

    def __init__(self, invocation_id: str, cycle: list[str]) -> None:
        super().__init__(
            f"invocation {invocation_id} would wait on itself through " + " -> ".join(cycle),
            invocation_id=invocation_id,
        )
        self.cycle = cycle


class InvocationKilledError(InvocationError):
    """The invocation was killed on request (``inv.kill()``, ``%pynenc kill``, the monitor's Kill
    button): it ended KILLED and has no result. Call the task again for a new run."""


class RunnerLostError(InvocationError):
    """The runners executing this invocation died more often than ``max_runner_loss_retries``."""


class TaskFailedError(InvocationError):
    """Stands in for a task's exception whose type cannot be rebuilt in the caller's process."""

    def __init__(self, message: str, *, invocation_id: str, exc_type: str, remote_traceback: str):
        super().__init__(message, invocation_id=invocation_id)
        self.exc_type = exc_type
        self.remote_traceback = remote_traceback


# --- runners -------------------------------------------------------------------------------------


class RunnerError(PynencError):
    """A runner could not start, or was asked to do something its configuration does not allow."""


class RunnerNotExecutableError(RunnerError):
    """This runner cannot run work (pynenc's DummyRunner, which pynenc_nb replaces by dev mode)."""


# --- triggers ------------------------------------------------------------------------------------


class TriggerError(PynencError):
    """Root of trigger-definition and trigger-evaluation errors."""


class InvalidCronError(TriggerError):
    """A cron expression is not valid."""


class TriggerTimeoutError(TriggerError, TimeoutError):
    """Waiting for triggered invocations took longer than the given timeout."""


# --- workflows -----------------------------------------------------------------------------------


class WorkflowError(PynencError):
    """Root of workflow errors."""


class DeterministicOperationScopeError(WorkflowError):
    """A root-only workflow operation was called outside the workflow root invocation."""

    def __init__(self, operation: str, invocation_id: str | None, workflow_id: str | None) -> None:
        super().__init__(
            f"wf.root.{operation}() must be called inside the workflow root task; called from "
            f"invocation {invocation_id or '(none)'} of workflow {workflow_id or '(none)'}"
        )
        self.operation = operation
        self.invocation_id = invocation_id
        self.workflow_id = workflow_id


class WorkflowMembershipError(WorkflowError):
    """A workflow-scoped operation was called outside any workflow."""


class WorkflowNonDeterminismError(WorkflowError):
    """A replayed workflow asked for something else than it recorded at the same step."""

    def __init__(self, workflow_id: str, sequence: int, recorded: str, requested: str) -> None:
        super().__init__(
            f"workflow {workflow_id} is not deterministic: step {sequence} recorded {recorded} on its first "
            f"execution, and this attempt asks for {requested}. A workflow must make the same calls in the same "
            "order on every attempt: take values that change (time, randomness, ids) from wf.root.utc_now(), "
            "random() and uuid(), and do not change its code while it runs"
        )
        self.workflow_id = workflow_id
        self.sequence = sequence
        self.recorded = recorded
        self.requested = requested


# --- monitor -------------------------------------------------------------------------------------


class MonitorError(PynencError):
    """Root of the errors of the monitor query layer (``pynenc_nb.monitor``)."""


class InvalidMonitorQueryError(MonitorError):
    """A monitor query got an argument it cannot use: a malformed cursor, an unknown status, a bad bound."""

    def __init__(self, message: str, *, argument: str, value: Any) -> None:
        super().__init__(message)
        self.argument = argument
        self.value = value


class AppNotFoundError(MonitorError):
    """A monitor server was asked for an app key it does not know (or whose database is gone)."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


# pynenc's name for the errors of the state store.
StateBackendError = BackendError
# The name the fault suite and users coming from other task queues look for: the same class.
BackendConnectionError = BackendUnavailableError
