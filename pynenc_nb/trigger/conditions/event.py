"""``on_event``: an event emitted with ``app.trigger.emit_event(code, payload)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pynenc_nb.trigger.conditions.base import ArgumentFilter, ConditionContext, Resolver
from pynenc_nb.trigger.conditions.codec import Decode, Encode, filter_from_json, filter_to_json


@dataclass(frozen=True, kw_only=True)
class EventContext(ConditionContext):
    event_id: str
    event_code: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventCondition:
    """Holds for every event of ``event_code`` whose payload passes ``payload_filter``."""

    kind: ClassVar[str] = "event"
    event_code: str
    payload_filter: ArgumentFilter = ArgumentFilter()

    def accepts(self, code: str, payload: dict[str, Any], resolve: Resolver) -> bool:
        return code == self.event_code and self.payload_filter.matches(payload, resolve)

    def to_json(self, encode: Encode) -> dict[str, Any]:
        return {"kind": self.kind, "code": self.event_code, "payload": filter_to_json(self.payload_filter, encode)}

    @classmethod
    def from_json(cls, data: dict[str, Any], decode: Decode) -> EventCondition:
        return cls(data["code"], filter_from_json(data["payload"], decode))
