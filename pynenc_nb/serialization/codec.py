"""Tagged JSON: values round-trip exactly, JSON-native values stay readable JSON.

A tuple stays a tuple, a set a set, a dataclass or NamedTuple comes back as its class, datetimes
and Decimals keep their type. A tag is a dict ``{"__pnb__": kind, ...}``; a user dict that has a
``__pnb__`` key or non-string keys is itself tagged, so tags never collide with data. Values with
no JSON form are cloudpickled (``auto``), refused (``json``), or everything is pickled (``pickle``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import json
import math
import pathlib
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

import cloudpickle

from pynenc_nb.exceptions import SerializationError
from pynenc_nb.serialization.signing import Signer

TAG = "__pnb__"
SerializerName = Literal["auto", "json", "pickle"]
_SCALARS = (str, int, bool, type(None))


@runtime_checkable
class JsonSerializable(Protocol):
    """Objects that know their own JSON form: ``to_json()`` and a classmethod ``from_json(data)``."""

    def to_json(self) -> Any: ...

    @classmethod
    def from_json(cls, data: Any) -> Any: ...


def class_path(cls: type) -> str | None:
    """``module:qualname`` when the class can be imported by another process, else None."""
    module, qualname = cls.__module__, cls.__qualname__
    if module == "__main__" or "<locals>" in qualname:
        return None
    return f"{module}:{qualname}"


def import_class(path: str) -> Any:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class Serializer:
    """Encodes values as JSON text. ``name`` is ``auto``, ``json`` or ``pickle``."""

    def __init__(self, name: SerializerName = "auto", secret: str = "") -> None:
        if name not in ("auto", "json", "pickle"):
            raise SerializationError(
                f"unknown serializer {name!r}: use 'auto', 'json' or 'pickle'", serializer=str(name)
            )
        self.name = name
        self.signer = Signer(secret)

    # --- public ----------------------------------------------------------------------------------

    def dumps(self, value: Any) -> str:
        if self.name == "pickle":
            return json.dumps(self._pickle(value), separators=(",", ":"))
        if type(value) in _SCALARS:
            return json.dumps(value)
        return json.dumps(self.encode(value), separators=(",", ":"), allow_nan=False)

    def wrap_bytes(self, payload: bytes) -> str:
        """Opaque pickled bytes (shipped task code) as text, signed when a secret is set."""
        data = {"v": base64.b64encode(payload).decode()}
        if self.signer.enabled:
            data["sig"] = self.signer.sign(payload)
        return json.dumps(data)

    def unwrap_bytes(self, text: str) -> bytes:
        data = json.loads(text)
        payload = base64.b64decode(data["v"])
        self.signer.verify(payload, data.get("sig"))
        return payload

    def loads(self, text: str, refs: Callable[[str], str] | None = None) -> Any:
        """Decode ``text``; ``refs`` resolves arg-cache references (large values stored apart)."""
        if refs is None:
            return json.loads(text, object_hook=self._decode_tag)

        def hook(obj: dict[str, Any]) -> Any:
            if obj.get(TAG) == "ref":
                return self.loads(refs(obj["k"]), refs)
            return self._decode_tag(obj)

        return json.loads(text, object_hook=hook)

    # --- encoding --------------------------------------------------------------------------------

    def encode(self, value: Any) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is float:
            return value if math.isfinite(value) else {TAG: "float", "v": repr(value)}
        if kind is list:
            return [self.encode(item) for item in value]
        if kind is dict:
            if all(type(k) is str for k in value) and TAG not in value:
                return {k: self.encode(v) for k, v in value.items()}
            return {TAG: "dict", "v": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if kind is tuple:
            return {TAG: "tuple", "v": [self.encode(item) for item in value]}
        if kind is set or kind is frozenset:
            return {TAG: kind.__name__, "v": [self.encode(item) for item in value]}
        if kind is bytes:
            return {TAG: "bytes", "v": base64.b64encode(value).decode()}
        if kind is dt.datetime:
            tz = value.tzinfo
            if isinstance(tz, zoneinfo.ZoneInfo) and tz.key:  # keep the zone, not just today's offset
                return {TAG: "datetime", "v": value.isoformat(), "tz": tz.key}
            if tz is None or type(tz) is dt.timezone or self.name == "json":
                return {TAG: "datetime", "v": value.isoformat()}
            return self._pickle(value)  # a third-party tzinfo (pytz, dateutil) only survives pickling
        if kind is dt.date:
            return {TAG: "date", "v": value.isoformat()}
        if kind is dt.time:
            return {TAG: "time", "v": value.isoformat()}
        if kind is dt.timedelta:
            return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
        if kind is decimal.Decimal:
            return {TAG: "decimal", "v": str(value)}
        if kind is uuid.UUID:
            return {TAG: "uuid", "v": str(value)}
        if isinstance(value, pathlib.PurePath):
            return {TAG: "path", "cls": kind.__name__, "v": str(value)}
        return self._encode_object(value)

    def _encode_object(self, value: Any) -> Any:
        kind = type(value)
        path = class_path(kind)
        if path is not None:
            if isinstance(value, enum.Enum):
                return {TAG: "enum", "cls": path, "v": self.encode(value.value)}
            if isinstance(value, tuple) and hasattr(kind, "_fields"):
                return {TAG: "namedtuple", "cls": path, "v": [self.encode(item) for item in value]}
            if dataclasses.is_dataclass(value) and all(f.init for f in dataclasses.fields(value)):
                fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
                return {TAG: "dataclass", "cls": path, "v": fields}
            if isinstance(value, JsonSerializable) and not isinstance(value, type):
                return {TAG: "json", "cls": path, "v": value.to_json()}
            if isinstance(value, BaseException):
                return self.encode_exception(value)
        if isinstance(value, BaseException):
            return self.encode_exception(value)
        if self.name == "json":
            raise SerializationError(
                f"a value of type {kind.__module__}.{kind.__qualname__} has no JSON form and the serializer "
                "is 'json'; pass JSON-compatible values, make the class JsonSerializable, or use serializer "
                "'auto' (JSON with a cloudpickle fallback)",
                value_type=f"{kind.__module__}.{kind.__qualname__}",
                serializer=self.name,
            )
        return self._pickle(value)

    def encode_exception(self, exc: BaseException) -> dict[str, Any]:
        """Exceptions keep their class: by import path, else by pickle (not under strict JSON)."""
        kind = type(exc)
        data: dict[str, Any] = {TAG: "exception", "type": f"{kind.__module__}.{kind.__qualname__}"}
        data["message"] = str(exc)
        path = class_path(kind)
        if path is not None:
            data["cls"] = path
            try:
                data["args"] = [self.encode(arg) for arg in exc.args]
            except SerializationError:
                data["args"] = [str(arg) for arg in exc.args]
        if self.name != "json":
            try:
                pickled = self._pickle(exc)  # kept untagged: a missing class must not break decoding
                data["pickle"], data["sig"] = pickled["v"], pickled.get("sig")
            except SerializationError:
                pass
        return data

    def _pickle(self, value: Any) -> dict[str, Any]:
        try:
            payload = cloudpickle.dumps(value)
        except Exception as exc:
            kind = type(value)
            raise SerializationError(
                f"cannot serialize a value of type {kind.__module__}.{kind.__qualname__}: {exc}",
                value_type=f"{kind.__module__}.{kind.__qualname__}",
                serializer=self.name,
            ) from exc
        tag: dict[str, Any] = {TAG: "pickle", "v": base64.b64encode(payload).decode()}
        if self.signer.enabled:
            tag["sig"] = self.signer.sign(payload)
        return tag

    # --- decoding --------------------------------------------------------------------------------

    def _decode_tag(self, obj: dict[str, Any]) -> Any:
        kind = obj.get(TAG)
        if kind is None:
            return obj
        value: Any = obj.get("v")
        if kind == "datetime" and "tz" in obj:
            return dt.datetime.fromisoformat(value).astimezone(zoneinfo.ZoneInfo(obj["tz"]))
        decoder = _DECODERS.get(kind)
        if decoder is not None:
            return decoder(value)
        if kind == "dict":
            return {k: v for k, v in value}
        if kind == "pickle":
            if self.name == "json":
                raise SerializationError(
                    "refusing to unpickle a stored value: the serializer is 'json', which never loads pickles",
                    serializer=self.name,
                )
            return self._unpickle(obj)
        if kind == "exception":
            return self.decode_exception(obj)
        if kind == "path":  # "cls" names a pathlib class here, not an import path
            return getattr(pathlib, obj["cls"], pathlib.PurePath)(value)
        check = _CLASS_CHECKS.get(kind)
        if check is None:
            raise SerializationError(f"unknown serialized tag {kind!r}: written by a newer pynenc_nb?")
        cls = import_class(obj["cls"])
        if not (isinstance(cls, type) and check(cls)):
            # The tag names what it may construct; anything else (a function, another kind of class)
            # is refused, so stored data cannot make us call arbitrary importable callables.
            raise SerializationError(f"refusing to decode a {kind!r} tag naming {obj['cls']!r}: not a {kind} class")
        if kind == "enum":
            return cls(value)
        if kind == "namedtuple":
            return cls(*value)
        if kind == "dataclass":
            return cls(**value)
        serializable: Any = cls
        return serializable.from_json(value)

    def _unpickle(self, obj: dict[str, Any]) -> Any:
        payload = base64.b64decode(obj["v"])
        self.signer.verify(payload, obj.get("sig"))
        return cloudpickle.loads(payload)

    def decode_exception(self, obj: dict[str, Any]) -> BaseException:
        exc = self._rebuild_exception(obj)
        remote = obj.get("traceback")
        if remote:
            exc.add_note(f"Traceback on the runner:\n{remote.rstrip()}")
        return exc

    def _rebuild_exception(self, obj: dict[str, Any]) -> BaseException:
        if "pickle" in obj and self.name != "json":
            try:
                exc = self._unpickle({"v": obj["pickle"], "sig": obj.get("sig")})
                if isinstance(exc, BaseException):
                    return exc
            except Exception:  # the class may not exist here; fall back to its import path
                pass
        if "cls" in obj:
            try:
                cls = import_class(obj["cls"])
                if isinstance(cls, type) and issubclass(cls, BaseException):
                    return cls(*obj.get("args", []))
            except Exception:
                pass
        from pynenc_nb.exceptions import TaskFailedError

        return TaskFailedError(
            f"{obj['type']}: {obj['message']}",
            invocation_id="",
            exc_type=obj["type"],
            remote_traceback=obj.get("traceback", ""),
        )


_CLASS_CHECKS: dict[str, Any] = {
    "enum": lambda cls: issubclass(cls, enum.Enum),
    "namedtuple": lambda cls: issubclass(cls, tuple) and hasattr(cls, "_fields"),
    "dataclass": dataclasses.is_dataclass,
    "json": lambda cls: callable(getattr(cls, "from_json", None)) and callable(getattr(cls, "to_json", None)),
}


def _time_decoder(value: list[int]) -> dt.timedelta:
    return dt.timedelta(days=value[0], seconds=value[1], microseconds=value[2])


_DECODERS: dict[str, Any] = {
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "float": float,
    "bytes": base64.b64decode,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "timedelta": _time_decoder,
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
}


def make_serializer(name: str, secret: str = "") -> Serializer:
    return Serializer(name, secret)  # type: ignore[arg-type]
