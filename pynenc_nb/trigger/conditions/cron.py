"""``on_cron``: every tick of a cron schedule (UTC), fired once per tick across all runners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from croniter import croniter

from pynenc_nb.exceptions import InvalidCronError
from pynenc_nb.trigger.conditions.base import ConditionContext
from pynenc_nb.trigger.conditions.codec import Decode, Encode


@dataclass(frozen=True, kw_only=True)
class CronContext(ConditionContext):
    """``timestamp`` is the scheduled tick; ``last_execution`` the tick before it, if one fired."""

    last_execution: datetime | None = None


@dataclass(frozen=True)
class CronCondition:
    kind: ClassVar[str] = "cron"
    cron_expression: str

    def __post_init__(self) -> None:
        expression = self.cron_expression
        if not isinstance(expression, str) or len(expression.split()) != 5:
            raise InvalidCronError(
                f"cron expression {expression!r} is not valid: use the five fields minute hour day month weekday, "
                "e.g. '*/15 * * * *'"
            )
        try:
            croniter(expression)
        except (ValueError, KeyError) as exc:
            raise InvalidCronError(f"cron expression {expression!r} is not valid: {exc}") from None

    def ticks(self, after: float, until: float, limit: int) -> list[float]:
        """Scheduled ticks in (after, until], oldest first, at most ``limit`` (the newest ones)."""
        schedule = croniter(self.cron_expression, datetime.fromtimestamp(after, UTC))
        found: list[float] = []
        while True:
            tick = float(schedule.get_next(float))
            if tick > until:
                return found
            found.append(tick)
            if len(found) > limit:
                found.pop(0)

    def to_json(self, encode: Encode) -> dict[str, Any]:
        return {"kind": self.kind, "expression": self.cron_expression}

    @classmethod
    def from_json(cls, data: dict[str, Any], decode: Decode) -> CronCondition:
        return cls(data["expression"])
