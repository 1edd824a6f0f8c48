"""A trigger as stored: the task to call, its conditions, their logic and the argument providers.

The stored text is canonical JSON, so the same definition gives the same trigger id in every
process that defines it (a module imported by many runners, a cell re-run unchanged): ids are a
hash of the text. Static values (filter dicts, expected results, static arguments) are encoded
with the app's serializer inside it; functions are references (:mod:`trigger.references`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pynenc_nb.exceptions import TriggerError
from pynenc_nb.trigger.conditions import (
    CompositeLogic,
    Condition,
    ConditionContext,
    CronCondition,
    CronContext,
    EventCondition,
    EventContext,
    ExceptionCondition,
    ExceptionContext,
    ResultCondition,
    ResultContext,
    StatusCondition,
    StatusContext,
)
from pynenc_nb.trigger.conditions.codec import Decode, Encode
from pynenc_nb.trigger.references import FunctionRef

CONDITION_KINDS: dict[str, type[Condition]] = {
    c.kind: c for c in (CronCondition, EventCondition, StatusCondition, ResultCondition, ExceptionCondition)
}
# What each provider source reads; "static" reads nothing, "trigger" the whole TriggerContext.
PROVIDER_CONTEXTS: dict[str, type[ConditionContext]] = {
    "event": EventContext,
    "status": StatusContext,
    "result": ResultContext,
    "exception": ExceptionContext,
    "cron": CronContext,
}


@dataclass(frozen=True)
class TriggerContext:
    """Everything that made a trigger fire, for ``with_args_from_trigger_context`` providers:
    one context per condition that held (one for OR, all of them for AND)."""

    trigger_id: str
    task_id: str
    contexts: tuple[ConditionContext, ...]

    def context_of(self, kind: type[ConditionContext]) -> ConditionContext | None:
        return next((c for c in self.contexts if isinstance(c, kind)), None)


@dataclass(frozen=True)
class ArgumentProvider:
    source: str  # "static" | "trigger" | a key of PROVIDER_CONTEXTS
    static: Mapping[str, Any] | None = None
    function: FunctionRef | None = None

    def applies_to(self, context: TriggerContext) -> bool:
        wanted = PROVIDER_CONTEXTS.get(self.source)
        return wanted is None or context.context_of(wanted) is not None

    def to_json(self, encode: Encode) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source}
        if self.static is not None:
            data["static"] = encode(dict(self.static))
        if self.function is not None:
            data["function"] = self.function.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], decode: Decode) -> ArgumentProvider:
        static = decode(data["static"]) if "static" in data else None
        function = FunctionRef.from_json(data["function"]) if "function" in data else None
        return cls(data["source"], static, function)


@dataclass(frozen=True)
class TriggerDefinition:
    task_id: str
    conditions: tuple[Condition, ...]
    logic: CompositeLogic = CompositeLogic.AND
    providers: tuple[ArgumentProvider, ...] = ()

    @property
    def feeds(self) -> frozenset[str]:
        """The feeds the engine follows for it: ``events`` and/or ``changes`` (status changes)."""
        kinds = {c.kind for c in self.conditions}
        return frozenset(
            ({"events"} if "event" in kinds else set())
            | ({"changes"} if kinds & {"status", "result", "exception"} else set())
        )

    @property
    def fires_per_condition(self) -> bool:
        """OR, or a single condition: every occurrence of any condition fires on its own."""
        return self.logic is CompositeLogic.OR or len(self.conditions) == 1

    def functions(self) -> Iterator[FunctionRef]:
        for condition in self.conditions:
            for attr in ("payload_filter", "call_arguments", "result_filter"):
                ref = getattr(getattr(condition, attr, None), "function", None)
                if ref is not None:
                    yield ref
        for provider in self.providers:
            if provider.function is not None:
                yield provider.function

    def to_text(self, encode: Encode) -> str:
        data = {
            "task": self.task_id,
            "logic": self.logic.value,
            "conditions": [c.to_json(encode) for c in self.conditions],
            "providers": [p.to_json(encode) for p in self.providers],
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str, decode: Decode) -> TriggerDefinition:
        data = json.loads(text)
        conditions: list[Condition] = []
        for item in data["conditions"]:
            kind = CONDITION_KINDS.get(item.get("kind"))
            if kind is None:
                raise TriggerError(f"stored trigger of {data.get('task')}: unknown condition kind {item.get('kind')!r}")
            conditions.append(kind.from_json(item, decode))
        providers = tuple(ArgumentProvider.from_json(p, decode) for p in data["providers"])
        return cls(data["task"], tuple(conditions), CompositeLogic(data["logic"]), providers)


def trigger_id_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]
