"""Redis trigger store and argument cache (layout in ``keys.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pynenc_nb.backends.redis.connection import Connection


class RedisTriggerStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.keys = conn.keys

    def __repr__(self) -> str:
        return f"<RedisTriggerStore {self.conn.url} {self.keys.prefix}>"

    def put_condition(self, condition_id: str, definition: str) -> None:
        self.conn.run(lambda c: c.hset(self.keys.cond, condition_id, definition))

    def conditions(self) -> dict[str, str]:
        return dict(self.conn.run(lambda c: c.hgetall(self.keys.cond)))

    def put_trigger(self, trigger_id: str, task_id: str, definition: str, condition_ids: Sequence[str]) -> None:
        unique = list(dict.fromkeys(condition_ids))
        key = f"{self.keys.prefix}t:trig:{trigger_id}"
        args = [self.keys.prefix, trigger_id, task_id, definition, json.dumps(unique), *unique]
        self.conn.eval("put_trigger", [key], args)

    def triggers_for_condition(self, condition_id: str) -> dict[str, str]:
        flat = self.conn.eval("triggers_for", [f"{self.keys.prefix}t:uses:{condition_id}"], [self.keys.prefix])
        return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}

    def add_event(self, event_id: str, code: str, payload: str, at: float) -> None:
        self.conn.eval("events", [], [self.keys.prefix, "add", event_id, code, payload, repr(at)])

    def events(
        self, *, code: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[tuple[str, str, str, float]]:
        if limit <= 0:
            return []
        lower = "-inf" if since is None else repr(since)
        flat = self.conn.eval("events", [], [self.keys.prefix, "list", code or "", lower, limit])
        return [(flat[i], flat[i + 1], flat[i + 2], float(flat[i + 3])) for i in range(0, len(flat), 4)]

    def claim_tick(self, trigger_id: str, tick: float) -> bool:
        return bool(self.conn.run(lambda c: c.sadd(self.keys.ticks, f"{trigger_id}|{tick!r}")))

    def add_trigger_run(
        self, run_id: str, trigger_id: str, source_id: str, invocation_id: str | None, at: float
    ) -> None:
        args = [self.keys.prefix, "add", run_id, trigger_id, source_id, invocation_id or "", repr(at)]
        self.conn.eval("trigger_runs", [], args)

    def trigger_runs(
        self, *, trigger_id: str | None = None, limit: int = 100
    ) -> list[tuple[str, str, str, str | None, float]]:
        if limit <= 0:
            return []
        flat = self.conn.eval("trigger_runs", [], [self.keys.prefix, "list", trigger_id or "", limit])
        return [
            (flat[i], flat[i + 1], flat[i + 2], flat[i + 3] or None, float(flat[i + 4])) for i in range(0, len(flat), 5)
        ]

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        args = [
            self.keys.prefix,
            "" if older_than is None else repr(older_than),
            "" if keep_last is None else keep_last,
        ]
        return int(self.conn.eval("purge_events", [], args))

    def purge(self) -> None:
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
