"""WaitGraph, RunnerRegistry and KeyValueStore on Redis.

The cycle check and the insert of waits-for edges are one script (``add_waits.lua``); leases are
compare-and-set scripts on the caller's clock, like every other backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pynenc_nb.backends.redis.codec as codec
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.records import RunnerContext, RunnerInfo

_CHUNK = 500


class RedisCoordination:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.keys = conn.keys

    # --- waits-for graph -------------------------------------------------------------------------

    def add_waits(self, waiter_id: str, target_ids: Sequence[str]) -> list[str] | None:
        cycle = self.conn.eval("add_waits", [], [self.keys.prefix, waiter_id, *target_ids])
        return list(cycle) if cycle else None

    def remove_waits(self, waiter_id: str) -> None:
        self.conn.eval("remove_waits", [], [self.keys.prefix, waiter_id])

    def waiter_counts(self, target_ids: Sequence[str]) -> dict[str, int]:
        """Pipelined SCARDs (``read_all``): a wait left to other workers asks."""
        replies = self.conn.read_all([("SCARD", self.keys.waiters(target)) for target in target_ids], _CHUNK)
        return {target: int(count) for target, count in zip(target_ids, replies, strict=True) if count}

    # --- runners and leases ----------------------------------------------------------------------

    def put_runner(self, info: RunnerInfo) -> None:
        runner_id = info.context.runner_id
        fields = {
            "ctx": json.dumps(info.context.to_dict()),
            "hb": repr(info.last_heartbeat),
            "state": info.state,
            "slots": info.slots,
            "busy": info.busy,
            "details": info.details,
        }

        def write(client: Any) -> None:
            pipe = client.pipeline(transaction=True)
            pipe.hset(self.keys.runner(runner_id), mapping=fields)
            pipe.sadd(self.keys.runners, runner_id)
            pipe.execute()

        self.conn.run(write)

    def heartbeat(self, runner_id: str, at: float, busy: int, state: str = "running") -> None:
        self.conn.eval("heartbeat", [self.keys.runner(runner_id)], [repr(at), busy, state])

    def runners(self, *, include_stopped: bool = False) -> list[RunnerInfo]:
        infos = []
        for flat in self.conn.eval("runners", [self.keys.runners], [self.keys.prefix]):
            h = codec.pairs(flat)
            if "ctx" not in h or (not include_stopped and h["state"] == "stopped"):
                continue
            context = RunnerContext.from_dict(json.loads(h["ctx"]))
            infos.append(RunnerInfo(context, float(h["hb"]), h["state"], int(h["slots"]), int(h["busy"]), h["details"]))
        return sorted(infos, key=lambda info: info.last_heartbeat, reverse=True)

    def acquire_lease(self, name: str, holder: str, ttl_s: float, now: float) -> bool:
        """On Redis's clock (``now`` is not used): see lease.lua."""
        args = ["acquire", holder, repr(ttl_s)]
        return bool(self.conn.eval("lease", [self.keys.lease(name)], args))

    def release_lease(self, name: str, holder: str) -> None:
        self.conn.eval("lease", [self.keys.lease(name)], ["release", holder])

    # --- key/value -------------------------------------------------------------------------------

    def kv_put(self, namespace: str, key: str, value: str) -> None:
        self.conn.run(lambda c: c.hset(self.keys.kv(namespace), key, value))

    def kv_get(self, namespace: str, key: str) -> str | None:
        value: str | None = self.conn.run(lambda c: c.hget(self.keys.kv(namespace), key))
        return value

    def kv_keys(self, namespace: str) -> list[str]:
        return sorted(self.conn.run(lambda c: c.hkeys(self.keys.kv(namespace))))

    def kv_delete(self, namespace: str, key: str) -> None:
        self.conn.run(lambda c: c.hdel(self.keys.kv(namespace), key))
