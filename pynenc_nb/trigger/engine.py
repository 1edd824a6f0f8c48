"""Trigger evaluation: run by the runner holding the services lease, a few times a second.

It follows two feeds in the order they were stored: the status changes of every invocation
(``StateBackend.changes_since``, appended in the same write as each change) and the events
(``TriggerStore.events_since``, appended by ``emit_event``). Cron conditions are checked against
the engine's clock (:mod:`trigger.clock`). Nothing scans the store: each read is one page of a
feed after a cursor kept in the state backend.

Exactly once. Every occurrence (a cron tick, an event, a status change) has a key, and every
firing of a trigger a run id and an invocation id derived from (trigger, occurrence keys). The
engine registers the invocation under that id (registering an id twice stores it once), then
stores the run (the claim: ``add_trigger_runs`` stores a run id once), and only then moves its
cursor. An engine killed at any point leaves a cursor behind what it did; the next lease holder
replays from there and finds the invocation and the run already stored. Two engines running at
once (an old holder that has not noticed its lease expired) are just as harmless. A runner whose
clock runs ahead fires a tick early, never twice: ticks are keys, and the cursor is shared.

AND composites keep the newest occurrence of each of their conditions in the state backend and
fire when all are there within ``trigger_composite_window_s`` of each other; firing consumes them.
"""

from __future__ import annotations

import functools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pynenc_nb.call import Arguments, decode_values
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.records import (
    TRIGGER_ENGINE_NAMESPACE,
    EventRecord,
    InvocationRecord,
    Outcome,
    RunnerContext,
    StatusChange,
)
from pynenc_nb.trigger import clock
from pynenc_nb.trigger.conditions import (
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
from pynenc_nb.trigger.definition import TriggerDefinition
from pynenc_nb.trigger.firing import Firer, Firing, FunctionResolver, Occurrence

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

BATCH = 500  # feed entries read per page
BUDGET_S = 1.0  # per evaluation: a backlog (an event storm) is worked off over several
CRON_CATCH_UP = 10  # ticks fired at most per cron condition after an outage (the newest ones)
S = InvocationStatus
T = TypeVar("T")
StatusLike = StatusCondition | ResultCondition | ExceptionCondition


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _cron_context(tick: float, last: float | None) -> CronContext:
    return CronContext(timestamp=_utc(tick), last_execution=_utc(last) if last else None)


class TriggerEngine:
    def __init__(self, app: Pynenc, holder: RunnerContext, now: Callable[[], float] = clock.now) -> None:
        self.app = app
        self.holder = holder
        self.now = now
        self._parsed: dict[str, TriggerDefinition] = {}
        self.resolve = FunctionResolver(app)
        self._firer = Firer(app, holder, self.resolve)
        self._fires: dict[str, list[Firing]] = defaultdict(list)
        self._definitions: dict[str, TriggerDefinition] = {}

    # --- one evaluation --------------------------------------------------------------------------

    def evaluate(self) -> int:
        """Work off what happened since the last evaluation; returns how many runs it stored."""
        self._definitions = self._load()
        events: dict[str, list[tuple[str, int, EventCondition]]] = defaultdict(list)
        statuses: dict[str, list[tuple[str, int, StatusLike]]] = defaultdict(list)
        crons: list[tuple[str, int, CronCondition]] = []
        for trigger_id, definition in self._definitions.items():
            for index, condition in enumerate(definition.conditions):
                if isinstance(condition, EventCondition):
                    events[condition.event_code].append((trigger_id, index, condition))
                elif isinstance(condition, CronCondition):
                    crons.append((trigger_id, index, condition))
                else:
                    statuses[condition.task_id].append((trigger_id, index, condition))
        deadline = time.monotonic() + BUDGET_S
        fired = self._follow_events(events, deadline)
        fired += self._follow_changes(statuses, deadline)
        fired += self._check_crons(crons)
        return fired

    def _load(self) -> dict[str, TriggerDefinition]:
        loaded: dict[str, TriggerDefinition] = {}
        for trigger_id, (task_id, text) in self.app.trigger_store.triggers().items():
            definition = self._parsed.get(text)
            if definition is None:
                try:
                    definition = TriggerDefinition.from_text(text, self.app.serializer.loads)
                except Exception:
                    self.app.logger.warning(
                        "trigger %s of %s cannot be read: skipped", trigger_id, task_id, exc_info=True
                    )
                    continue
                self._parsed[text] = definition
            loaded[trigger_id] = definition
        return loaded

    # --- cursors ---------------------------------------------------------------------------------

    def _get(self, key: str) -> str | None:
        return self.app.state_backend.kv_get(TRIGGER_ENGINE_NAMESPACE, key)

    def _put(self, key: str, value: str) -> None:
        self.app.state_backend.kv_put(TRIGGER_ENGINE_NAMESPACE, key, value)

    # --- events ----------------------------------------------------------------------------------

    def _follow(
        self,
        feed: str,
        head: Callable[[], str],
        read: Callable[[str, int], tuple[Sequence[T], str]],
        handle: Callable[[Sequence[T]], None],
        deadline: float,
    ) -> int:
        """Work off one feed from its stored cursor, a page at a time, until it is caught up or the
        deadline passes. Each page's firings are stored before the cursor moves past it (a holder
        killed in between replays the page); a feed with no cursor yet starts at its head."""
        cursor = self._get(feed)
        if not cursor:
            self._put(feed, head())
            return 0
        fired = 0
        while True:
            page, after = read(cursor, BATCH)
            handle(page)
            fired += self._flush()
            if after != cursor:
                self._put(feed, after)
                cursor = after
            if len(page) < BATCH or time.monotonic() > deadline:
                return fired

    def _follow_events(self, watched: dict[str, list[tuple[str, int, EventCondition]]], deadline: float) -> int:
        if not watched:  # nobody listens: the feed restarts when a trigger needs it (manager.publish)
            return 0
        store = self.app.trigger_store

        def handle(page: Sequence[EventRecord]) -> None:
            for event in page:
                self._event(event, watched.get(event.code, ()))

        return self._follow("events", store.event_cursor, store.events_since, handle, deadline)

    def _event(self, event: EventRecord, conditions: Sequence[tuple[str, int, EventCondition]]) -> None:
        if not conditions:
            return
        payload = json.loads(event.payload)
        context = EventContext(
            timestamp=_utc(event.at), event_id=event.event_id, event_code=event.code, payload=payload
        )
        occurrence = Occurrence(f"event:{event.event_id}", "event", event.event_id, event.at, {"event": event.event_id})
        for trigger_id, index, condition in conditions:
            if self._holds(trigger_id, functools.partial(condition.accepts, event.code, payload, self.resolve)):
                self._occurred(trigger_id, index, occurrence, context)

    def _holds(self, trigger_id: str, check: Callable[[], bool]) -> bool:
        """A filter that raises is the user's bug: logged, and the condition does not hold."""
        try:
            return check()
        except Exception as exc:
            self.app.logger.warning("trigger %s: its filter failed, so it does not fire: %r", trigger_id, exc)
            return False

    # --- status changes --------------------------------------------------------------------------

    def _follow_changes(self, watched: dict[str, list[tuple[str, int, StatusLike]]], deadline: float) -> int:
        if not watched:
            return 0
        state = self.app.state_backend
        interesting = frozenset(
            s for conditions in watched.values() for _, _, c in conditions for s in c.watched_statuses
        )

        def handle(page: Sequence[StatusChange]) -> None:
            relevant = [c for c in page if c.status in interesting]
            if relevant:
                self._changes(relevant, watched)

        return self._follow("changes", state.change_cursor, state.changes_since, handle, deadline)

    def _changes(self, changes: Sequence[StatusChange], watched: dict[str, list[tuple[str, int, StatusLike]]]) -> None:
        state = self.app.state_backend
        records = state.get_many(list(dict.fromkeys(c.invocation_id for c in changes)))
        final = [
            c.invocation_id
            for c in changes
            if c.status in (S.SUCCESS, S.FAILED)
            and c.invocation_id in records
            and records[c.invocation_id].task_id in watched
        ]
        outcomes = {i: o for i, (_, o) in state.settled(final).items()} if final else {}
        arguments: dict[str, dict[str, Any]] = {}
        for change in changes:
            record = records.get(change.invocation_id)
            conditions = watched.get(record.task_id, ()) if record is not None else ()
            conditions = [(t, i, c) for t, i, c in conditions if change.status in c.watched_statuses]
            if record is None or not conditions:
                continue
            if record.invocation_id not in arguments:
                arguments[record.invocation_id] = self._arguments_of(record)
            values = arguments[record.invocation_id]
            key = f"status:{record.invocation_id}:{change.status.value}:{change.at!r}"
            ref = {"invocation": record.invocation_id, "status": change.status.value, "at": change.at}
            occurrence = Occurrence(key, "status", record.invocation_id, change.at, ref)
            outcome = outcomes.get(record.invocation_id)
            for trigger_id, index, condition in conditions:
                context = self._status_context(trigger_id, condition, record, change.status, change.at, values, outcome)
                if context is not None:
                    self._occurred(trigger_id, index, occurrence, context)

    def _arguments_of(self, record: InvocationRecord) -> dict[str, Any]:
        try:
            values = decode_values(record.arguments, self.app.serializer, self.app.arg_cache)
        except Exception as exc:
            self.app.logger.warning("invocation %s: arguments unreadable for triggers: %r", record.invocation_id, exc)
            return {}
        return dict(values) if isinstance(values, dict) else {}

    def _status_context(
        self,
        trigger_id: str,
        condition: StatusLike,
        record: InvocationRecord,
        status: InvocationStatus,
        at: float,
        values: dict[str, Any],
        outcome: Outcome | None,
    ) -> StatusContext | None:
        """The context if ``condition`` holds for this change, else None."""
        common: dict[str, Any] = {
            "timestamp": _utc(at),
            "invocation_id": record.invocation_id,
            "task_id": record.task_id,
            "status": status,
            "arguments": Arguments(values),
        }
        if isinstance(condition, StatusCondition):
            if self._holds(trigger_id, lambda: condition.accepts(record.task_id, status, values, self.resolve)):
                return StatusContext(**common)
            return None
        if outcome is None:
            return None
        if isinstance(condition, ResultCondition):
            if outcome.kind != "result":
                return None
            try:
                result = decode_values(outcome.payload, self.app.serializer, self.app.arg_cache)
            except Exception as exc:
                self.app.logger.warning("invocation %s: result unreadable for triggers: %r", record.invocation_id, exc)
                return None
            if self._holds(trigger_id, lambda: condition.accepts(record.task_id, values, result, self.resolve)):
                return ResultContext(**common, result=result)
            return None
        if outcome.kind != "exception":
            return None
        data = json.loads(outcome.payload)
        classes = data.get("classes") or [data.get("type", "")]
        if not self._holds(trigger_id, lambda: condition.accepts(record.task_id, values, classes, self.resolve)):
            return None
        name = str(data.get("type", "")).rpartition(".")[2]
        return ExceptionContext(**common, exception_type=name, exception_message=str(data.get("message", "")))

    # --- cron ------------------------------------------------------------------------------------

    def _check_crons(self, crons: Sequence[tuple[str, int, CronCondition]]) -> int:
        now = self.now()
        fired = 0
        for trigger_id, index, condition in crons:
            key = f"cron:{trigger_id}:{index}"
            stored = self._get(key)
            if not stored:  # a new schedule starts now: it does not fire for the past
                self._put(key, json.dumps({"after": now, "last": None}))
                continue
            cursor = json.loads(stored)
            last = cursor["last"]
            ticks = condition.ticks(float(cursor["after"]), now, CRON_CATCH_UP)
            for tick in ticks:
                source = _utc(tick).isoformat()
                occurrence = Occurrence(f"cron:{tick!r}", "cron", source, tick, {"tick": tick, "last": last})
                self._occurred(trigger_id, index, occurrence, _cron_context(tick, last))
                last = tick
            if ticks:
                fired += self._flush()
                self._put(key, json.dumps({"after": ticks[-1], "last": ticks[-1]}))
        return fired

    # --- occurrences to firings ------------------------------------------------------------------

    def _occurred(self, trigger_id: str, index: int, occurrence: Occurrence, context: ConditionContext) -> None:
        definition = self._definitions[trigger_id]
        if definition.fires_per_condition:
            keyed = Occurrence(
                f"{index}|{occurrence.key}", occurrence.kind, occurrence.source_id, occurrence.at, occurrence.ref
            )
            self._fires[trigger_id].append(Firing([keyed], [context]))
            return
        self._partial(trigger_id, definition, index, occurrence)

    def _partial(self, trigger_id: str, definition: TriggerDefinition, index: int, occurrence: Occurrence) -> None:
        """AND: note the newest occurrence of this condition; fire once all are within the window."""
        key = f"and:{trigger_id}"
        stored = self._get(key)
        held: dict[str, dict[str, Any]] = json.loads(stored) if stored else {}
        held[str(index)] = {
            "key": occurrence.key,
            "kind": occurrence.kind,
            "source": occurrence.source_id,
            "at": occurrence.at,
            "ref": occurrence.ref,
        }
        window = self.app.conf.trigger_composite_window_s
        newest = max(item["at"] for item in held.values())
        held = {i: item for i, item in held.items() if newest - item["at"] <= window}
        if len(held) < len(definition.conditions):
            self._put(key, json.dumps(held))
            return
        ordered = [held[str(i)] for i in range(len(definition.conditions))]
        occurrences = [Occurrence(o["key"], o["kind"], o["source"], o["at"], o["ref"]) for o in ordered]
        contexts = [
            self._rebuild(condition, o) for condition, o in zip(definition.conditions, occurrences, strict=True)
        ]
        if all(c is not None for c in contexts):
            self._fires[trigger_id].append(Firing(occurrences, [c for c in contexts if c is not None]))
            self._flush()
        self._put(key, "{}")

    def _rebuild(self, condition: Condition, occurrence: Occurrence) -> ConditionContext | None:
        """The context of an occurrence noted earlier (AND partials keep references, not values)."""
        ref = occurrence.ref
        if occurrence.kind == "cron":
            return _cron_context(ref["tick"], ref.get("last"))
        if occurrence.kind == "event":
            event = self.app.trigger_store.get_events([ref["event"]]).get(ref["event"])
            if event is None:
                return None
            payload = json.loads(event.payload)
            return EventContext(
                timestamp=_utc(event.at), event_id=event.event_id, event_code=event.code, payload=payload
            )
        settled = self.app.state_backend.settled([ref["invocation"]]).get(ref["invocation"])
        if settled is None or not isinstance(condition, StatusLike):
            return None
        record, outcome = settled
        values = self._arguments_of(record)
        return self._status_context("", condition, record, S(ref["status"]), ref["at"], values, outcome)

    def _flush(self) -> int:
        """Register the invocations of the firings collected, then store their runs."""
        fires, self._fires = self._fires, defaultdict(list)
        stored = 0
        for trigger_id, items in fires.items():
            stored += self._firer.fire(trigger_id, self._definitions[trigger_id], items)
        return stored

    # --- retention -------------------------------------------------------------------------------

    def purge_old(self, now: float) -> int:
        conf = self.app.conf
        if not conf.event_auto_purge_enabled:
            return 0
        store = self.app.trigger_store
        removed = store.purge_events(
            older_than=now - conf.event_retention_days * 86_400, keep_last=conf.event_max_records
        )
        return removed + store.purge_trigger_runs(keep_last=conf.trigger_run_max_records)
