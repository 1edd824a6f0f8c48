from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class TriggerStore(Protocol):
    """Conditions, triggers, events, trigger runs and cron cursors, as opaque serialized text.

    ``claim_tick`` is what makes a cron tick fire exactly once across any number of runners.
    """

    def put_condition(self, condition_id: str, definition: str) -> None: ...

    def conditions(self) -> dict[str, str]: ...

    def put_trigger(self, trigger_id: str, task_id: str, definition: str, condition_ids: Sequence[str]) -> None: ...

    def triggers_for_condition(self, condition_id: str) -> dict[str, str]:
        """trigger_id -> definition for every trigger using ``condition_id``."""
        ...

    def add_event(self, event_id: str, code: str, payload: str, at: float) -> None: ...

    def events(
        self, *, code: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[tuple[str, str, str, float]]:
        """(event_id, code, payload, at), newest first."""
        ...

    def claim_tick(self, trigger_id: str, tick: float) -> bool:
        """True for exactly one caller per (trigger, tick)."""
        ...

    def add_trigger_run(
        self, run_id: str, trigger_id: str, source_id: str, invocation_id: str | None, at: float
    ) -> None: ...

    def trigger_runs(
        self, *, trigger_id: str | None = None, limit: int = 100
    ) -> list[tuple[str, str, str, str | None, float]]:
        """(run_id, trigger_id, source_id, invocation_id, at), newest first."""
        ...

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int: ...

    def purge(self) -> None: ...
