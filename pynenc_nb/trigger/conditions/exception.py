"""``on_exception``: an invocation of a task ending FAILED with an exception of some types.

Types are matched by name along the exception's class hierarchy (stored with the failure), so a
condition on ``ValueError`` also holds for a ``UnicodeDecodeError``, and the evaluator never
imports the task's exception classes. A name may be short (``ValueError``) or qualified
(``mymodule.PaymentError``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pynenc_nb.exceptions import TriggerError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.trigger.conditions.base import ArgumentFilter, Resolver
from pynenc_nb.trigger.conditions.codec import Decode, Encode, filter_from_json, filter_to_json
from pynenc_nb.trigger.conditions.status import StatusContext


@dataclass(frozen=True, kw_only=True)
class ExceptionContext(StatusContext):
    exception_type: str  # the class name, e.g. "ValueError"
    exception_message: str


def exception_names(types: Sequence[str | type[BaseException]] | str | type[BaseException] | None) -> tuple[str, ...]:
    if types is None:
        return ()
    items = [types] if isinstance(types, str | type) else list(types)
    names: list[str] = []
    for item in items:
        if isinstance(item, type) and issubclass(item, BaseException):
            names.append(
                item.__qualname__ if item.__module__ == "builtins" else f"{item.__module__}.{item.__qualname__}"
            )
        elif isinstance(item, str) and item.strip():
            names.append(item.strip())
        else:
            raise TriggerError(f"on_exception takes exception classes or their names, got {item!r}")
    return tuple(names)


def _matches_name(wanted: str, classes: Sequence[str]) -> bool:
    for qualified in classes:
        if wanted == qualified or wanted == qualified.rpartition(".")[2] or qualified == f"builtins.{wanted}":
            return True
    return False


@dataclass(frozen=True)
class ExceptionCondition:
    kind: ClassVar[str] = "exception"
    task_id: str
    call_arguments: ArgumentFilter = ArgumentFilter()
    exception_types: tuple[str, ...] = ()  # empty: any exception

    watched_statuses: ClassVar[frozenset[InvocationStatus]] = frozenset({InvocationStatus.FAILED})

    def accepts(self, task_id: str, arguments: Mapping[str, Any], classes: Sequence[str], resolve: Resolver) -> bool:
        """``classes`` are the qualified names of the exception's class and its bases."""
        if task_id != self.task_id:
            return False
        if self.exception_types and not any(_matches_name(w, classes) for w in self.exception_types):
            return False
        return self.call_arguments.matches(arguments, resolve)

    def to_json(self, encode: Encode) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "task": self.task_id,
            "types": list(self.exception_types),
            "arguments": filter_to_json(self.call_arguments, encode),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], decode: Decode) -> ExceptionCondition:
        return cls(data["task"], filter_from_json(data["arguments"], decode), tuple(data["types"]))
