"""pynenc_nb: distributed task orchestration that lives natively in Jupyter.

The public names are listed in ``__all__`` and frozen by a test; everything else is internal.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pynenc_nb.app import Pynenc
from pynenc_nb.builder import PynencBuilder
from pynenc_nb.call import Arguments
from pynenc_nb.conf import PynencConfig
from pynenc_nb.exceptions import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    CycleDetectedError,
    DeterministicOperationScopeError,
    InvalidCronError,
    InvalidStatusTransitionError,
    InvalidTaskOptionsError,
    InvocationConcurrencyControlledError,
    InvocationError,
    InvocationNotFoundError,
    InvocationTimeoutError,
    MissingDependencyError,
    PynencError,
    RetryError,
    RunnerError,
    RunnerLostError,
    SerializationError,
    SignatureError,
    StatusConflictError,
    TaskError,
    TaskFailedError,
    TaskLoadError,
    TaskNotFoundError,
    TriggerError,
    TriggerTimeoutError,
    WorkflowError,
    WorkflowMembershipError,
    WorkflowNonDeterminismError,
)
from pynenc_nb.invocation.handle import Invocation, InvocationGroup, current_invocation
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.records import RunnerContext, WorkflowIdentity
from pynenc_nb.runners import (
    BaseRunner,
    MultiThreadRunner,
    PersistentProcessRunner,
    ProcessRunner,
    ThreadRunner,
)
from pynenc_nb.serialization import JsonSerializable
from pynenc_nb.task import DirectTask, Task
from pynenc_nb.task_options import ConcurrencyControlType, TaskOptions
from pynenc_nb.trigger.trigger_builder import TriggerBuilder

try:
    __version__ = version("pynenc_nb")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    # app and configuration
    "Pynenc",
    "PynencBuilder",
    "PynencConfig",
    # tasks and invocations
    "Arguments",
    "ConcurrencyControlType",
    "DirectTask",
    "Invocation",
    "InvocationGroup",
    "InvocationStatus",
    "JsonSerializable",
    "RunnerContext",
    "Task",
    "TaskOptions",
    "WorkflowIdentity",
    "current_invocation",
    # triggers
    "TriggerBuilder",
    # runners
    "BaseRunner",
    "MultiThreadRunner",
    "PersistentProcessRunner",
    "ProcessRunner",
    "ThreadRunner",
    # errors
    "BackendError",
    "BackendUnavailableError",
    "ConfigError",
    "CycleDetectedError",
    "DeterministicOperationScopeError",
    "InvalidCronError",
    "InvalidStatusTransitionError",
    "InvalidTaskOptionsError",
    "InvocationConcurrencyControlledError",
    "InvocationError",
    "InvocationNotFoundError",
    "InvocationTimeoutError",
    "MissingDependencyError",
    "PynencError",
    "RetryError",
    "RunnerError",
    "RunnerLostError",
    "SerializationError",
    "SignatureError",
    "StatusConflictError",
    "TaskError",
    "TaskFailedError",
    "TaskLoadError",
    "TaskNotFoundError",
    "TriggerError",
    "TriggerTimeoutError",
    "WorkflowError",
    "WorkflowMembershipError",
    "WorkflowNonDeterminismError",
    # notebook
    "load_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext pynenc_nb``: the magics live in ``kernel_magics``, imported only here."""
    from kernel_magics import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where ``jupyter labextension develop`` finds the built sidebar (``labextension/`` sources)."""
    return [{"src": "labextension", "dest": "pynenc-nb"}]
