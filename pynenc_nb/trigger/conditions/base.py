"""What every condition shares: contexts (what made it hold), logic, and the filters on arguments.

Contexts are what argument providers receive (pynenc's names and attributes). Conditions are
frozen values, stored as JSON inside a trigger definition; the static values they hold (a filter
dict, an expected result) are encoded with the app's serializer by ``trigger.definition``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynenc_nb.exceptions import TriggerError
from pynenc_nb.trigger.references import FunctionRef

# Resolves a stored function reference to the function (the trigger engine imports or loads it).
Resolver = Callable[[FunctionRef], Callable[..., Any]]


class CompositeLogic(enum.StrEnum):
    """How a trigger with several conditions fires: when all hold (within
    ``trigger_composite_window_s``) or once for each that holds."""

    AND = "and"
    OR = "or"

    @classmethod
    def _missing_(cls, value: object) -> CompositeLogic | None:
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None


@dataclass(frozen=True, kw_only=True)
class ConditionContext:
    """What made a condition hold, handed to argument providers. ``timestamp`` is UTC."""

    timestamp: datetime


@dataclass(frozen=True)
class ArgumentFilter:
    """Which calls (or event payloads) a condition accepts: those whose values include every
    item of ``static`` (a subset match, by ``==``), or for which ``function(values)`` is True."""

    static: Mapping[str, Any] | None = None
    function: FunctionRef | None = None

    @classmethod
    def of(cls, spec: Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None, what: str) -> ArgumentFilter:
        if spec is None:
            return cls()
        if isinstance(spec, Mapping):
            if not all(isinstance(k, str) for k in spec):
                raise TriggerError(f"{what}: a filter dict maps argument names (strings) to values, got {spec!r}")
            return cls(static=dict(spec))
        return cls(function=FunctionRef.of(spec, what))

    @property
    def accepts_all(self) -> bool:
        return not self.static and self.function is None

    def matches(self, values: Mapping[str, Any], resolve: Resolver) -> bool:
        if self.static:
            for key, expected in self.static.items():
                if key not in values or values[key] != expected:
                    return False
        if self.function is not None:
            verdict = resolve(self.function)(dict(values))
            if not isinstance(verdict, bool):
                raise TriggerError(f"filter {self.function.path} returned {verdict!r}; a filter returns True or False")
            return verdict
        return True
