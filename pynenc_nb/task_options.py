"""Task options: validated at decoration time, overridable per task by file or environment."""

from __future__ import annotations

import builtins
import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynenc_nb.conf.loader import coerce
from pynenc_nb.exceptions import ConfigError, InvalidTaskOptionsError, RetryError
from pynenc_nb.serialization.codec import import_class


class ConcurrencyControlType(enum.StrEnum):
    """Scope of a concurrency check: none, the whole task, equal arguments, or equal key arguments."""

    DISABLED = "DISABLED"
    TASK = "TASK"
    ARGUMENTS = "ARGUMENTS"
    KEYS = "KEYS"


@dataclass(frozen=True)
class TaskOptions:
    max_retries: int = 0
    retry_for: tuple[type[BaseException], ...] = (RetryError,)
    running_concurrency: ConcurrencyControlType = ConcurrencyControlType.DISABLED
    registration_concurrency: ConcurrencyControlType = ConcurrencyControlType.DISABLED
    key_arguments: tuple[str, ...] = ()
    on_diff_non_key_args_raise: bool = False
    reroute_on_concurrency_control: bool = True
    parallel_batch_size: int = 100
    call_result_cache: bool = False
    disable_cache_args: tuple[str, ...] = ()
    queue: str = "default"
    priority: int = 0
    triggers: tuple[Any, ...] = ()


OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TaskOptions))


def _exception_types(value: Any, source: str) -> tuple[type[BaseException], ...]:
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, type):
        items = (items,)
    if not isinstance(items, Sequence):
        raise InvalidTaskOptionsError(f"{source}: retry_for takes exception classes, got {value!r}")
    resolved: list[type[BaseException]] = []
    for item in items:
        if isinstance(item, str):
            name = item.strip()
            cls = getattr(builtins, name, None)
            if cls is None:
                module, sep, attr = name.rpartition(":" if ":" in name else ".")
                try:
                    cls = import_class(f"{module}:{attr}") if sep else None
                except (ImportError, AttributeError):
                    cls = None
            if cls is None:
                raise InvalidTaskOptionsError(
                    f"{source}: retry_for entry {name!r} is not an importable exception class "
                    "(use a builtin name like ValueError or module.ClassName)"
                )
            item = cls
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise InvalidTaskOptionsError(f"{source}: retry_for entry {item!r} is not an exception class")
        resolved.append(item)
    if RetryError not in resolved:
        resolved.insert(0, RetryError)  # raising RetryError always asks for a retry
    return tuple(resolved)


def _names(value: Any, source: str, option: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidTaskOptionsError(f"{source}: {option} takes argument names, got {value!r}")


def build_options(
    raw: Mapping[str, Any], source: str, base: TaskOptions | None = None, parameters: Sequence[str] | None = None
) -> TaskOptions:
    """Validate ``raw`` over ``base``; ``parameters`` are the function's names for key checks."""
    base = base or TaskOptions()
    unknown = sorted(set(raw) - set(OPTION_NAMES))
    if unknown:
        raise InvalidTaskOptionsError(
            f"{source}: unknown task option(s) {', '.join(unknown)}; valid options are {', '.join(OPTION_NAMES)}"
        )
    values: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            values[name] = _coerce_option(name, value, source)
        except ConfigError as exc:
            raise InvalidTaskOptionsError(str(exc)) from None
    options = dataclasses.replace(base, **values)
    if parameters is not None:
        missing = [k for k in options.key_arguments + options.disable_cache_args if k not in parameters]
        if missing:
            raise InvalidTaskOptionsError(
                f"{source}: {', '.join(missing)} not among the task's parameters ({', '.join(parameters)})"
            )
    uses_keys = ConcurrencyControlType.KEYS in (options.running_concurrency, options.registration_concurrency)
    if uses_keys and not options.key_arguments:
        raise InvalidTaskOptionsError(f"{source}: concurrency control KEYS needs key_arguments")
    if options.parallel_batch_size < 1:
        raise InvalidTaskOptionsError(f"{source}: parallel_batch_size must be at least 1")
    return options


def _coerce_option(name: str, value: Any, source: str) -> Any:
    where = f"{source}:{name}"
    if name == "retry_for":
        return _exception_types(value, where)
    if name in ("key_arguments", "disable_cache_args"):
        return _names(value, where, name)
    if name in ("running_concurrency", "registration_concurrency"):
        try:
            return ConcurrencyControlType(value.upper() if isinstance(value, str) else value)
        except ValueError:
            choices = ", ".join(c.value for c in ConcurrencyControlType)
            raise InvalidTaskOptionsError(f"{where}={value!r} is not valid: expected one of {choices}") from None
    if name == "triggers":
        if value is None:
            return ()
        return tuple(value) if isinstance(value, list | tuple) else (value,)
    if name == "priority":  # may be negative, so not coerced like the counts below
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        except (TypeError, ValueError):
            raise InvalidTaskOptionsError(f"{where}={value!r} is not valid: expected an integer") from None
    hint = {f.name: f.type for f in dataclasses.fields(TaskOptions)}[name]
    python_type = {"int": int, "bool": bool, "str": str}[str(hint)]
    return coerce(value, python_type, where)
