"""Task options: every documented option accepted and validated at decoration time."""

from __future__ import annotations

from typing import Any

import pytest

from pynenc_nb import ConcurrencyControlType, InvalidTaskOptionsError, Pynenc, RetryError, TaskOptions
from pynenc_nb.task_options import OPTION_NAMES

CC = ConcurrencyControlType
DESIGN_OPTIONS = {
    "max_retries",
    "retry_for",
    "running_concurrency",
    "registration_concurrency",
    "key_arguments",
    "on_diff_non_key_args_raise",
    "reroute_on_concurrency_control",
    "parallel_batch_size",
    "call_result_cache",
    "disable_cache_args",
    "queue",
    "priority",
    "triggers",
}


class DomainError(Exception):
    """Importable by name for ``retry_for``."""


def options_of(app: Pynenc, **options: Any) -> TaskOptions:
    def job(a: int, b: int = 0, *, c: str = "") -> int:
        return a

    task = app.task(**options)(job)
    result: TaskOptions = task.options
    return result


def test_option_names_are_the_documented_ones() -> None:
    assert set(OPTION_NAMES) == DESIGN_OPTIONS


def test_defaults(memory_app: Pynenc) -> None:
    options = options_of(memory_app)
    assert options == TaskOptions()
    assert options.retry_for == (RetryError,)
    assert options.running_concurrency is CC.DISABLED
    assert options.reroute_on_concurrency_control is True


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("max_retries", 3, 3),
        ("max_retries", "2", 2),
        ("running_concurrency", CC.TASK, CC.TASK),
        ("running_concurrency", "arguments", CC.ARGUMENTS),
        ("registration_concurrency", CC.ARGUMENTS, CC.ARGUMENTS),
        ("registration_concurrency", "DISABLED", CC.DISABLED),
        ("key_arguments", ("a",), ("a",)),
        ("key_arguments", ["a", "c"], ("a", "c")),
        ("key_arguments", "a, b", ("a", "b")),
        ("on_diff_non_key_args_raise", True, True),
        ("on_diff_non_key_args_raise", "yes", True),
        ("reroute_on_concurrency_control", False, False),
        ("reroute_on_concurrency_control", "false", False),
        ("parallel_batch_size", 10, 10),
        ("call_result_cache", True, True),
        ("disable_cache_args", ("b",), ("b",)),
        ("disable_cache_args", "b,c", ("b", "c")),
        ("queue", "high", "high"),
        ("priority", 5, 5),
        ("priority", -2, -2),
        ("priority", "7", 7),
        ("triggers", None, ()),
        ("triggers", [], ()),
    ],
)
def test_option_is_accepted(memory_app: Pynenc, name: str, value: Any, expected: Any) -> None:
    assert getattr(options_of(memory_app, **{name: value}), name) == expected


def test_keys_scope_with_key_arguments(memory_app: Pynenc) -> None:
    options = options_of(memory_app, running_concurrency=CC.KEYS, registration_concurrency="keys", key_arguments=("a",))
    assert (options.running_concurrency, options.registration_concurrency) == (CC.KEYS, CC.KEYS)


@pytest.mark.parametrize(
    "retry_for",
    [
        (ValueError, DomainError),
        [ValueError, DomainError],
        ("ValueError", f"{__name__}.DomainError"),
        f"ValueError, {__name__}:DomainError",
    ],
)
def test_retry_for_accepts_classes_and_names(memory_app: Pynenc, retry_for: Any) -> None:
    assert options_of(memory_app, retry_for=retry_for).retry_for == (RetryError, ValueError, DomainError)


def test_retry_for_accepts_a_single_class(memory_app: Pynenc) -> None:
    assert options_of(memory_app, retry_for=ConnectionError).retry_for == (RetryError, ConnectionError)


def test_retry_for_keeps_retry_error_once(memory_app: Pynenc) -> None:
    assert options_of(memory_app, retry_for=(RetryError, KeyError)).retry_for == (RetryError, KeyError)


def test_unknown_option_lists_the_valid_ones(memory_app: Pynenc) -> None:
    with pytest.raises(InvalidTaskOptionsError) as info:
        options_of(memory_app, max_retry=3)
    message = str(info.value)
    assert "max_retry" in message
    for name in DESIGN_OPTIONS:
        assert name in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_retries", "many"),
        ("max_retries", -1),
        ("max_retries", True),
        ("max_retries", 1.5),
        ("max_retries", None),
        ("retry_for", 42),
        ("retry_for", int),
        ("retry_for", ("NotAnExceptionName",)),
        ("retry_for", ("os.path",)),
        ("running_concurrency", "sometimes"),
        ("running_concurrency", 5),
        ("registration_concurrency", object()),
        ("key_arguments", 5),
        ("key_arguments", [1]),
        ("on_diff_non_key_args_raise", "maybe"),
        ("reroute_on_concurrency_control", "perhaps"),
        ("parallel_batch_size", 0),
        ("parallel_batch_size", "big"),
        ("call_result_cache", "sure?"),
        ("disable_cache_args", 3),
        ("queue", ["a"]),
        ("queue", None),
        ("priority", "high"),
        ("priority", 1.5),
        ("priority", True),
    ],
)
def test_wrong_values_are_rejected(memory_app: Pynenc, name: str, value: Any) -> None:
    with pytest.raises(InvalidTaskOptionsError) as info:
        options_of(memory_app, **{name: value})
    assert name in str(info.value)


@pytest.mark.parametrize("option", ["key_arguments", "disable_cache_args"])
def test_argument_names_must_be_parameters(memory_app: Pynenc, option: str) -> None:
    with pytest.raises(InvalidTaskOptionsError) as info:
        options_of(memory_app, **{option: ("a", "zzz")})
    assert "zzz" in str(info.value)
    assert "a, b, c" in str(info.value)  # the task's parameters are listed


@pytest.mark.parametrize("option", ["running_concurrency", "registration_concurrency"])
def test_keys_scope_needs_key_arguments(memory_app: Pynenc, option: str) -> None:
    with pytest.raises(InvalidTaskOptionsError, match="key_arguments"):
        options_of(memory_app, **{option: CC.KEYS})


def test_options_apply_to_workflow_and_direct_task_too(memory_app: Pynenc) -> None:
    def job(a: int) -> int:
        return a

    assert memory_app.workflow(max_retries=2)(job).options.max_retries == 2
    assert memory_app.direct_task(queue="q")(job).options.queue == "q"
    with pytest.raises(InvalidTaskOptionsError):
        memory_app.workflow(bogus=1)(job)
    with pytest.raises(InvalidTaskOptionsError):
        memory_app.direct_task(bogus=1)(job)


def test_concurrency_control_type_values() -> None:
    assert [c.value for c in CC] == ["DISABLED", "TASK", "ARGUMENTS", "KEYS"]
