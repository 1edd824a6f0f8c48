"""``on_result`` / ``on_any_result``: an invocation of a task ending SUCCESS with a result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pynenc_nb.exceptions import TriggerError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.trigger.conditions.base import ArgumentFilter, Resolver
from pynenc_nb.trigger.conditions.codec import Decode, Encode, filter_from_json, filter_to_json
from pynenc_nb.trigger.conditions.status import StatusContext
from pynenc_nb.trigger.references import FunctionRef

_ANY = object()


@dataclass(frozen=True, kw_only=True)
class ResultContext(StatusContext):
    result: Any


@dataclass(frozen=True)
class ResultFilter:
    """Any result, a result equal to ``value``, or one for which ``function(result)`` is True."""

    value: Any = _ANY
    function: FunctionRef | None = None

    @classmethod
    def of(cls, spec: Any | Callable[[Any], bool], what: str) -> ResultFilter:
        if callable(spec) and not isinstance(spec, type):
            return cls(function=FunctionRef.of(spec, what))
        return cls(value=spec)

    def matches(self, result: Any, resolve: Resolver) -> bool:
        if self.function is not None:
            verdict = resolve(self.function)(result)
            if not isinstance(verdict, bool):
                raise TriggerError(
                    f"result filter {self.function.path} returned {verdict!r}; a filter returns True or False"
                )
            return verdict
        return self.value is _ANY or bool(result == self.value)


@dataclass(frozen=True)
class ResultCondition:
    kind: ClassVar[str] = "result"
    task_id: str
    call_arguments: ArgumentFilter = ArgumentFilter()
    result_filter: ResultFilter = ResultFilter()

    watched_statuses: ClassVar[frozenset[InvocationStatus]] = frozenset({InvocationStatus.SUCCESS})

    def accepts(self, task_id: str, arguments: Mapping[str, Any], result: Any, resolve: Resolver) -> bool:
        return (
            task_id == self.task_id
            and self.call_arguments.matches(arguments, resolve)
            and self.result_filter.matches(result, resolve)
        )

    def to_json(self, encode: Encode) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "task": self.task_id,
            "arguments": filter_to_json(self.call_arguments, encode),
        }
        if self.result_filter.function is not None:
            data["result_function"] = self.result_filter.function.to_json()
        elif self.result_filter.value is not _ANY:
            data["result_value"] = encode(self.result_filter.value)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], decode: Decode) -> ResultCondition:
        if "result_function" in data:
            result = ResultFilter(function=FunctionRef.from_json(data["result_function"]))
        elif "result_value" in data:
            result = ResultFilter(value=decode(data["result_value"]))
        else:
            result = ResultFilter()
        return cls(data["task"], filter_from_json(data["arguments"], decode), result)
