"""The public surface is frozen: any change to ``pynenc_nb.__all__`` must be deliberate."""

from __future__ import annotations

import importlib

import pynenc_nb

EXPECTED_ALL = [
    "Arguments",
    "BackendError",
    "BackendUnavailableError",
    "BaseRunner",
    "ConcurrencyControlType",
    "ConfigError",
    "CycleDetectedError",
    "DeterministicOperationScopeError",
    "DirectTask",
    "InvalidCronError",
    "InvalidStatusTransitionError",
    "InvalidTaskOptionsError",
    "Invocation",
    "InvocationConcurrencyControlledError",
    "InvocationError",
    "InvocationGroup",
    "InvocationNotFoundError",
    "InvocationStatus",
    "InvocationTimeoutError",
    "JsonSerializable",
    "MissingDependencyError",
    "MultiThreadRunner",
    "PersistentProcessRunner",
    "ProcessRunner",
    "Pynenc",
    "PynencBuilder",
    "PynencConfig",
    "PynencError",
    "RetryError",
    "RunnerContext",
    "RunnerError",
    "RunnerLostError",
    "SerializationError",
    "SignatureError",
    "StatusConflictError",
    "Task",
    "TaskError",
    "TaskFailedError",
    "TaskLoadError",
    "TaskNotFoundError",
    "TaskOptions",
    "ThreadRunner",
    "TriggerBuilder",
    "TriggerError",
    "TriggerTimeoutError",
    "WorkflowError",
    "WorkflowIdentity",
    "WorkflowMembershipError",
    "WorkflowNonDeterminismError",
    "current_invocation",
    "load_ipython_extension",
]


def test_all_is_the_frozen_list() -> None:
    assert sorted(pynenc_nb.__all__) == EXPECTED_ALL


def test_all_has_no_duplicates() -> None:
    assert len(pynenc_nb.__all__) == len(set(pynenc_nb.__all__))


def test_every_public_name_is_importable() -> None:
    module = importlib.import_module("pynenc_nb")
    for name in EXPECTED_ALL:
        assert getattr(module, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from pynenc_nb import *", namespace)
    assert set(EXPECTED_ALL) <= set(namespace)


def test_every_error_is_rooted_at_pynenc_error() -> None:
    errors = [getattr(pynenc_nb, n) for n in EXPECTED_ALL if n.endswith("Error") and n != "PynencError"]
    for error in errors:
        assert issubclass(error, pynenc_nb.PynencError), error
