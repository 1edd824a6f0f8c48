"""``app.trigger``: emit events, and store the app's trigger definitions where runners read them.

Evaluation happens elsewhere (:mod:`trigger.engine`, in the services of whichever runner holds
the lease); this side only writes: an event is one write (its record and its place in the feed),
and a task's triggers are one write that replaces what that task had.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pynenc_nb import context
from pynenc_nb.exceptions import TriggerError, TriggerTimeoutError
from pynenc_nb.ports import StateBackend, TriggerStore
from pynenc_nb.records import CODE_NAMESPACE, TRIGGER_ENGINE_NAMESPACE, EventRecord, RunnerContext, TriggerRun, new_id
from pynenc_nb.serialization import Serializer
from pynenc_nb.trigger.definition import TriggerDefinition, trigger_id_of


class TriggerHost(Protocol):
    @property
    def trigger_store(self) -> TriggerStore: ...

    @property
    def state_backend(self) -> StateBackend: ...

    serializer: Serializer

    def client_context(self, kind: str = ...) -> RunnerContext: ...


class TriggerManager:
    """The host is the app; its stores are read through it, as the app reopens them after fork."""

    def __init__(self, host: TriggerHost) -> None:
        self._host = host

    def emit_event(self, event_code: str, payload: Mapping[str, Any] | None = None) -> str:
        """Store an event for ``on_event`` triggers and the events browser; returns its id."""
        if not event_code or not isinstance(event_code, str):
            raise TriggerError(f"an event code must be a non-empty string, got {event_code!r}")
        if payload is not None and not isinstance(payload, Mapping):
            raise TriggerError(f"event {event_code!r}: the payload must be a dict, got {type(payload).__name__}")
        try:
            text = json.dumps(dict(payload or {}), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TriggerError(f"event {event_code!r}: the payload must be JSON-compatible ({exc})") from None
        execution = context.current()
        runner = context.current_runner() or self._host.client_context()
        event = EventRecord(
            new_id(),
            event_code,
            text,
            time.time(),
            execution.record.invocation_id if execution is not None else None,
            runner.runner_id,
        )
        self._host.trigger_store.add_event(event)
        return event.event_id

    def runs_of(self, task: Any, limit: int = 100) -> list[TriggerRun]:
        """The newest runs of every trigger of ``task`` (a task or its id), newest first."""
        task_id = task if isinstance(task, str) else task.task_id
        store = self._host.trigger_store
        trigger_ids = [t for t, (owner, _) in store.triggers().items() if owner == task_id]
        runs = [run for t in trigger_ids for run in store.trigger_runs(trigger_id=t, limit=limit)]
        return sorted(runs, key=lambda r: (r.at, r.run_id), reverse=True)[:limit]

    def wait_for_runs(self, task: Any, count: int = 1, timeout_s: float = 30.0) -> list[TriggerRun]:
        """Wait until triggers made ``count`` runs of ``task`` (a runner evaluates them; see
        ``runs_of``), and return them oldest first. For notebooks and tests."""
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while True:
            runs = self.runs_of(task, limit=max(count, 100))
            if len(runs) >= count:
                return sorted(runs, key=lambda r: (r.at, r.run_id))
            if time.monotonic() > deadline:
                raise TriggerTimeoutError(
                    f"{len(runs)} of {count} trigger runs of {getattr(task, 'task_id', task)} after {timeout_s} s: "
                    "is a runner started (triggers are evaluated by runners)?"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def publish(self, definitions: Mapping[str, Sequence[TriggerDefinition]]) -> dict[str, list[str]]:
        """Replace the stored triggers of each task by these (none: the task has no trigger any
        more); returns the trigger ids per task. Functions from notebook cells are stored first."""
        host = self._host
        for items in definitions.values():
            for definition in items:
                for ref in definition.functions():
                    if ref.payload is not None:
                        host.state_backend.kv_put(
                            CODE_NAMESPACE, ref.shipped_key, host.serializer.wrap_bytes(ref.payload)
                        )
        texts = {task_id: [d.to_text(host.serializer.dumps) for d in items] for task_id, items in definitions.items()}
        wanted = {task_id: {trigger_id_of(t): t for t in items} for task_id, items in texts.items()}
        current: dict[str, dict[str, str]] = {}
        for trigger_id, (task_id, text) in host.trigger_store.triggers().items():
            current.setdefault(task_id, {})[trigger_id] = text
        changed = {task_id: items for task_id, items in wanted.items() if current.get(task_id, {}) != items}
        if changed:  # a runner starting with the same code as the last one writes nothing
            self._start_feeds(current, definitions)
            host.trigger_store.put_triggers(changed)
        return {task_id: list(items) for task_id, items in wanted.items()}

    def _start_feeds(
        self, current: Mapping[str, Mapping[str, str]], definitions: Mapping[str, Sequence[TriggerDefinition]]
    ) -> None:
        """A feed nobody followed starts now for the new triggers: an event emitted right after
        its trigger is defined fires it, even before any runner evaluated anything, while what
        happened before is not replayed."""
        host = self._host
        followed: set[str] = set()
        for items in current.values():
            for text in items.values():
                try:
                    followed |= TriggerDefinition.from_text(text, host.serializer.loads).feeds
                except Exception:  # an unreadable old definition: its feeds restart
                    continue
        needed = {feed for items in definitions.values() for d in items for feed in d.feeds} - followed
        state = host.state_backend
        for feed in sorted(needed):
            head = host.trigger_store.event_cursor() if feed == "events" else state.change_cursor()
            state.kv_put(TRIGGER_ENGINE_NAMESPACE, feed, head)
