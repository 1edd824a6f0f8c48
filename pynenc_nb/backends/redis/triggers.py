"""Redis trigger store and argument cache (layout in ``keys.py``).

Events are followed on a stream (its entry ids are the cursors) and paged through sorted sets
whose members sort as ``(at, event_id)``: ``<at key>|<event_id>``, all of score 0, read by lex
range. Runs are claimed with ``HSETNX``. Every read is a range of an index, never a scan.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from pynenc_nb.backends.paging import decode_cursor, event_cursor_of
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.records import EventRecord, TriggerRun

_SIGN = 1 << 63


def at_key(at: float) -> str:
    """16 hex digits that sort as the floats do (IEEE 754 bits, sign-flipped)."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", float(at)))
    return f"{bits ^ 0xFFFFFFFFFFFFFFFF if bits & _SIGN else bits | _SIGN:016x}"


def _json(values: Sequence[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _event(value: str) -> EventRecord:
    """An event from its t:ev value: ``<stream id>\\n`` and the JSON of ``_event_values``."""
    event_id, code, payload, at, invocation_id, runner_id = json.loads(value.partition("\n")[2])
    return EventRecord(event_id, code, payload, float(at), invocation_id, runner_id)


def _event_values(event: EventRecord) -> list[Any]:
    return [event.event_id, event.code, event.payload, event.at, event.emitter_invocation_id, event.emitter_runner_id]


def _run(run_id: str, value: str) -> TriggerRun:
    trigger_id, task_id, source_kind, source_id, invocation_id, at, *rest = json.loads(value)
    depth = int(rest[0]) if rest else 1  # stored before depths were kept
    return TriggerRun(run_id, trigger_id, task_id, source_kind, source_id, invocation_id, float(at), depth)


class RedisTriggerStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.keys = conn.keys

    def __repr__(self) -> str:
        return f"<RedisTriggerStore {self.conn.url} {self.keys.prefix}>"

    def put_triggers(self, definitions: Mapping[str, Mapping[str, str]]) -> None:
        args: list[Any] = [self.keys.prefix]
        for task_id, triggers in definitions.items():
            args += [task_id, len(triggers)]
            for trigger_id, definition in triggers.items():
                args += [trigger_id, _json([task_id, definition])]
        self.conn.eval("put_triggers", [self.keys.triggers], args)

    def triggers(self) -> dict[str, tuple[str, str]]:
        stored: dict[str, str] = self.conn.run(lambda c: c.hgetall(self.keys.triggers))
        found: dict[str, tuple[str, str]] = {}
        for trigger_id, value in stored.items():
            task_id, definition = json.loads(value)
            found[trigger_id] = (task_id, definition)
        return found

    def add_event(self, event: EventRecord) -> None:
        keys = [self.keys.event_feed, self.keys.events, self.keys.event_pages(), self.keys.event_pages(event.code)]
        self.conn.eval(
            "add_event", keys, [event.event_id, f"{at_key(event.at)}|{event.event_id}", _json(_event_values(event))]
        )

    def events_since(self, cursor: str | None, limit: int = 500) -> tuple[list[EventRecord], str]:
        start = "-" if cursor is None else f"({cursor}"
        unchanged = "0-0" if cursor is None else cursor
        if limit <= 0:
            return [], unchanged
        last, *values = self.conn.eval("events_since", [self.keys.event_feed, self.keys.events], [start, limit])
        return [_event(v) for v in values], last or unchanged

    def event_cursor(self) -> str:
        newest = self.conn.command("XREVRANGE", self.keys.event_feed, "+", "-", "COUNT", 1)
        return str(newest[0][0]) if newest else "0-0"

    def events(
        self,
        *,
        code: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[EventRecord], str | None]:
        if limit <= 0:
            return [], None
        # member bounds: "(K|" excludes every event at K, "(K|id" the events at K from id up
        bounds = [f"({at_key(until)}|"] if until is not None else []
        if cursor is not None:
            at, event_id = decode_cursor(cursor)
            bounds.append(f"({at_key(at)}|{event_id}")
        upper = min(bounds, key=lambda bound: bound[1:]) if bounds else "+"
        lower = "-" if since is None else f"[{at_key(since)}"
        index = self.keys.event_pages(code)
        values = self.conn.eval("event_page", [index, self.keys.events], [upper, lower, limit + 1])
        found = [_event(v) for v in values]
        page = found[:limit]
        return page, event_cursor_of(page[-1]) if len(found) > limit else None

    def get_events(self, event_ids: Sequence[str]) -> dict[str, EventRecord]:
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return {}
        values = self.conn.command("HMGET", self.keys.events, *ids)
        return {event_id: _event(value) for event_id, value in zip(ids, values, strict=True) if value}

    def add_trigger_runs(self, runs: Sequence[TriggerRun]) -> list[bool]:
        if not runs:
            return []
        args: list[Any] = [self.keys.prefix]
        for run in runs:
            record = [run.trigger_id, run.task_id, run.source_kind, run.source_id, run.invocation_id, run.at, run.depth]
            args += [run.run_id, run.trigger_id, run.source_id, run.invocation_id or "", repr(run.at), _json(record)]
        return [
            bool(stored) for stored in self.conn.eval("add_trigger_runs", [self.keys.runs, self.keys.run_index], args)
        ]

    def trigger_runs(
        self,
        *,
        trigger_id: str | None = None,
        source_ids: Sequence[str] | None = None,
        invocation_ids: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[TriggerRun]:
        if limit <= 0 or any(ids is not None and not ids for ids in (source_ids, invocation_ids)):
            return []
        # One index is read (a list filter: the union of its per-id indexes), the other filters
        # apply to what it holds. Each id of a list has few runs: with another filter, all are read.
        if invocation_ids is not None:
            indexes = [self.keys.runs_of("inv", i) for i in dict.fromkeys(invocation_ids)]
            filtered = trigger_id is not None or source_ids is not None
        elif source_ids is not None:
            indexes = [self.keys.runs_of("src", s) for s in dict.fromkeys(source_ids)]
            filtered = trigger_id is not None
        else:
            indexes = [self.keys.run_index if trigger_id is None else self.keys.runs_of("trig", trigger_id)]
            filtered = False
        flat = self.conn.eval("trigger_runs", [*indexes, self.keys.runs], [-1 if filtered else limit])
        sources = None if source_ids is None else set(source_ids)
        found = [
            run
            for run in (_run(flat[k], flat[k + 1]) for k in range(0, len(flat), 2))
            if (trigger_id is None or run.trigger_id == trigger_id) and (sources is None or run.source_id in sources)
        ]
        found.sort(key=lambda run: (run.at, run.run_id), reverse=True)
        return found[:limit]

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        args = [
            self.keys.prefix,
            "" if older_than is None else f"({at_key(older_than)}",
            "" if keep_last is None else max(keep_last, 0),
        ]
        return int(
            self.conn.eval("purge_events", [self.keys.event_feed, self.keys.events, self.keys.event_pages()], args)
        )

    def purge_trigger_runs(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        args = [
            self.keys.prefix,
            "" if older_than is None else repr(older_than),
            "" if keep_last is None else max(keep_last, 0),
        ]
        return int(self.conn.eval("purge_trigger_runs", [self.keys.runs, self.keys.run_index], args))

    def purge(self) -> None:
        """Every trigger key of the app, the event stream included (SCAN + UNLINK under ``<prefix>t:``)."""
        self.conn.delete_prefix(self.keys.port("t"))


class RedisArgCache:
    """Content-addressed values: ``SET NX``, so the first value of a key is the one kept."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.keys = conn.keys

    def __repr__(self) -> str:
        return f"<RedisArgCache {self.conn.url} {self.keys.prefix}>"

    def put(self, key: str, value: str) -> None:
        self.conn.run(lambda c: c.set(self.keys.cached(key), value, nx=True))

    def get(self, key: str) -> str | None:
        value: str | None = self.conn.run(lambda c: c.get(self.keys.cached(key)))
        return value

    def purge(self) -> None:
        self.conn.delete_prefix(self.keys.port("c"))
