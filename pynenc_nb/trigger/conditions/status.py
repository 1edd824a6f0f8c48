"""``on_status``: an invocation of a task reaching one of some statuses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pynenc_nb.call import Arguments
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.trigger.conditions.base import ArgumentFilter, ConditionContext, Resolver
from pynenc_nb.trigger.conditions.codec import Decode, Encode, filter_from_json, filter_to_json


@dataclass(frozen=True, kw_only=True)
class StatusContext(ConditionContext):
    """The invocation that reached the status; ``arguments.kwargs`` are its call's arguments."""

    invocation_id: str
    task_id: str
    status: InvocationStatus
    arguments: Arguments


@dataclass(frozen=True)
class StatusCondition:
    kind: ClassVar[str] = "status"
    task_id: str
    statuses: tuple[InvocationStatus, ...]
    call_arguments: ArgumentFilter = ArgumentFilter()

    @property
    def watched_statuses(self) -> frozenset[InvocationStatus]:
        return frozenset(self.statuses)

    def accepts(self, task_id: str, status: InvocationStatus, arguments: Mapping[str, Any], resolve: Resolver) -> bool:
        return task_id == self.task_id and status in self.statuses and self.call_arguments.matches(arguments, resolve)

    def to_json(self, encode: Encode) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "task": self.task_id,
            "statuses": [s.value for s in self.statuses],
            "arguments": filter_to_json(self.call_arguments, encode),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], decode: Decode) -> StatusCondition:
        statuses = tuple(InvocationStatus(s) for s in data["statuses"])
        return cls(data["task"], statuses, filter_from_json(data["arguments"], decode))
