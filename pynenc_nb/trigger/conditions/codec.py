"""JSON forms of the filters conditions hold; static values go through the app's serializer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynenc_nb.trigger.conditions.base import ArgumentFilter
from pynenc_nb.trigger.references import FunctionRef

Encode = Callable[[Any], str]
Decode = Callable[[str], Any]


def filter_to_json(flt: ArgumentFilter, encode: Encode) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if flt.static:
        data["static"] = encode(dict(flt.static))
    if flt.function is not None:
        data["function"] = flt.function.to_json()
    return data


def filter_from_json(data: dict[str, Any], decode: Decode) -> ArgumentFilter:
    static = decode(data["static"]) if "static" in data else None
    function = FunctionRef.from_json(data["function"]) if "function" in data else None
    return ArgumentFilter(static, function)
