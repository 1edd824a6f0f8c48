from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pynenc_nb.records import EventRecord, TriggerRun


class TriggerStore(Protocol):
    """Trigger definitions, events and trigger runs, as opaque text.

    Events are read two ways: in the order they were stored, from a cursor (the trigger engine
    follows them like the status changes of ``InvocationStore.changes_since``), and as pages
    newest first (the events browser). Storing a run is the claim of its occurrence.
    """

    def put_triggers(self, definitions: Mapping[str, Mapping[str, str]]) -> None:
        """For each task id: replace every trigger of that task by ``trigger_id -> definition``
        (an empty mapping removes its triggers). One atomic write for the whole mapping."""
        ...

    def triggers(self) -> dict[str, tuple[str, str]]:
        """trigger_id -> (task_id, definition) of every stored trigger."""
        ...

    def add_event(self, event: EventRecord) -> None: ...

    def events_since(self, cursor: str | None, limit: int = 500) -> tuple[list[EventRecord], str]:
        """Up to ``limit`` events stored after ``cursor``, oldest first, and the cursor to read on
        from (the same one when nothing is new). ``None`` reads from the oldest event kept."""
        ...

    def event_cursor(self) -> str:
        """The cursor after the newest event: a new follower starts here."""
        ...

    def events(
        self,
        *,
        code: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[EventRecord], str | None]:
        """A page of events, newest first (``since`` inclusive, ``until`` exclusive), and the
        cursor of the next page (None after the last)."""
        ...

    def get_events(self, event_ids: Sequence[str]) -> dict[str, EventRecord]: ...

    def add_trigger_runs(self, runs: Sequence[TriggerRun]) -> list[bool]:
        """Store runs not stored yet (by ``run_id``); True for each one this call stored.

        Atomic per run: of any number of callers storing the same run at once, exactly one is told
        True."""
        ...

    def trigger_runs(
        self,
        *,
        trigger_id: str | None = None,
        source_ids: Sequence[str] | None = None,
        invocation_ids: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[TriggerRun]:
        """Runs, newest first, of a trigger, made by some sources or having created some
        invocations (each filter an index)."""
        ...

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        """Remove events older than ``older_than`` and all but the newest ``keep_last``; how many."""
        ...

    def purge_trigger_runs(self, *, older_than: float | None = None, keep_last: int | None = None) -> int: ...

    def purge(self) -> None: ...
