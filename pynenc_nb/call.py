"""A call: a task's arguments bound to its parameters, serialized once at call time.

Serializing at call time means an unserializable argument fails in the caller, naming the
argument, before anything is stored. Each argument is encoded on its own so that key arguments
can be hashed and large values moved to the arg cache by content hash.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import reprlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pynenc_nb.exceptions import PayloadTooLargeError, PynencWarning, SerializationError, TaskCallError
from pynenc_nb.ports import ArgCache
from pynenc_nb.serialization.codec import TAG, Serializer

_display = reprlib.Repr()
_display.maxstring = 80
_display.maxother = 80
_display.maxlist = _display.maxtuple = _display.maxdict = _display.maxset = 8
_display.maxlevel = 3


_FULL_DISPLAY_CHARS = 4096  # "full" still has a bound: displays travel to browsers with every row


def display(value: Any, max_chars: int | None = None) -> str:
    """A short, bounded repr computed at write time: browsers only ever see these strings."""
    try:
        if max_chars is None:
            return _display.repr(value)
        text = repr(value)
        return text if len(text) <= max_chars else text[: max(1, max_chars - 1)] + "…"
    except Exception:
        return f"<{type(value).__name__}>"


def args_display(values: Mapping[str, Any], mode: str = "truncated", length: int = 80) -> str:
    """The stored display of a call's arguments (JSON name -> text), as ``argument_print_mode``
    says: short reprs cut at ``length``, full reprs, only the names, or nothing at all."""
    if mode == "hidden":
        return "{}"
    if mode == "keys":
        return json.dumps(dict.fromkeys(values, "…"))
    limit = _FULL_DISPLAY_CHARS if mode == "full" else length
    return json.dumps({name: display(value, limit) for name, value in values.items()})


class Arguments:
    """Arguments bound to a task's parameters, as made by ``task.args(...)``."""

    __slots__ = ("values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    @property
    def kwargs(self) -> dict[str, Any]:
        """pynenc's name for the bound values (``ctx.arguments.kwargs`` in trigger providers)."""
        return self.values

    def __repr__(self) -> str:
        return f"Arguments({', '.join(f'{k}={display(v)}' for k, v in self.values.items())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Arguments) and other.values == self.values

    __hash__ = None  # type: ignore[assignment]


class Signature:
    """Binds calls to a function's parameters and rebuilds the call from a name -> value mapping."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self._signature = inspect.signature(func)
        self._name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"
        self.parameters = tuple(self._signature.parameters)
        self._kinds = {name: p.kind for name, p in self._signature.parameters.items()}
        # Parameters a positional call fills one for one, with no default to apply: such a call is
        # bound by zip. Most task calls are like that, and inspect's binding is slow.
        plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self._plain = all(
            p.kind in plain and p.default is inspect.Parameter.empty for p in self._signature.parameters.values()
        )

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if self._plain and not kwargs and len(args) == len(self.parameters):
            return dict(zip(self.parameters, args, strict=True))
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TaskCallError(
                f"a call of {self._name} does not match its parameters {self._signature}: {exc}"
            ) from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def call(self, func: Callable[..., Any], values: Mapping[str, Any]) -> Any:
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        # Extra positional values (``*args``) follow the named ones, which must then go by position.
        by_position = any(
            values.get(name) for name, kind in self._kinds.items() if kind is inspect.Parameter.VAR_POSITIONAL
        )
        for name, value in values.items():
            kind = self._kinds.get(name, inspect.Parameter.KEYWORD_ONLY)
            if kind is inspect.Parameter.POSITIONAL_ONLY or (
                by_position and kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ):
                positional.append(value)
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                positional.extend(value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                keywords.update(value)
            else:
                keywords[name] = value
        return func(*positional, **keywords)


@dataclass(frozen=True, slots=True)
class EncodedCall:
    arguments: str  # JSON object text: name -> encoded value (or arg-cache reference)
    encoded: dict[str, str]  # name -> encoded text, for key hashing
    call_id: str
    args_display: str


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PayloadLimits:
    """``payload_warn_bytes`` / ``payload_max_bytes``: checked on every value before it is stored."""

    warn_bytes: int
    max_bytes: int


def check_size(text: str, limits: PayloadLimits | None, what: str) -> None:
    """Refuse (``PayloadTooLargeError``) or warn about a serialized value by its size."""
    if limits is None:
        return
    size = len(text)
    if size > limits.max_bytes:
        raise PayloadTooLargeError(
            f"{what} is {size} bytes serialized, over payload_max_bytes={limits.max_bytes}: pass a reference "
            "(a path, a URL, an object-store key) instead of the data, or raise the setting",
            size=size,
            limit=limits.max_bytes,
        )
    if size > limits.warn_bytes:
        warnings.warn(
            f"{what} is {size} bytes serialized, over payload_warn_bytes={limits.warn_bytes}: large values are "
            "stored once in the arg cache, but a reference (a path, an object-store key) travels faster",
            PynencWarning,
            stacklevel=4,
        )


def encode_value(
    serializer: Serializer,
    cache: ArgCache,
    value: Any,
    min_bytes: int,
    limits: PayloadLimits | None = None,
    what: str = "a value",
) -> str:
    """Serialize one value; if it is large, store it in the arg cache and return a reference."""
    text = serializer.dumps(value)
    check_size(text, limits, what)
    if len(text) >= min_bytes:
        key = content_hash(text)
        cache.put(key, text)
        return json.dumps({TAG: "ref", "k": key})
    return text


def encode_call(
    task_id: str,
    values: Mapping[str, Any],
    serializer: Serializer,
    cache: ArgCache,
    min_bytes: int,
    *,
    print_mode: str = "truncated",
    print_length: int = 80,
    limits: PayloadLimits | None = None,
) -> EncodedCall:
    encoded: dict[str, str] = {}
    for name, value in values.items():
        try:
            encoded[name] = encode_value(
                serializer, cache, value, min_bytes, limits, f"argument {name!r} of task {task_id}"
            )
        except SerializationError as exc:
            raise SerializationError(
                f"argument {name!r} of task {task_id} cannot be serialized with serializer {serializer.name!r}: {exc}",
                argument=name,
                value_type=exc.value_type or type(value).__qualname__,
                serializer=serializer.name,
            ) from exc
    text = "{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in encoded.items()) + "}"
    call_id = content_hash(f"{task_id}\n{text}")[:32]
    return EncodedCall(text, encoded, call_id, args_display(values, print_mode, print_length))


def decode_values(text: str, serializer: Serializer, cache: ArgCache) -> Any:
    """Inverse of :func:`encode_call` / :func:`encode_value`, following arg-cache references."""

    def resolve(key: str) -> str:
        stored = cache.get(key)
        if stored is None:
            raise SerializationError(f"a large value (arg cache key {key[:12]}…) is missing from the arg cache")
        return stored

    return serializer.loads(text, refs=resolve)


def key_of(task_id: str, encoded: Mapping[str, str], names: tuple[str, ...]) -> str:
    """The concurrency key of a call restricted to ``names`` (KEYS scope)."""
    parts = "\n".join(f"{name}={encoded.get(name, 'null')}" for name in names)
    return content_hash(f"{task_id}\n{parts}")[:32]
