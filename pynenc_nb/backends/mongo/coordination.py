"""The waits-for graph, runner contexts with heartbeats, leases and small values on MongoDB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError

from pynenc_nb.backends.mongo.connection import ClientSession, Connection
from pynenc_nb.backends.paging import find_cycle
from pynenc_nb.records import RunnerContext, RunnerInfo

_SEP = "\x1f"


class MongoCoordination:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.waits = conn.collection("waits")
        self.runners_ = conn.collection("runners")
        self.leases = conn.collection("leases")
        self.kv = conn.collection("kv")
        self.counters = conn.collection("counters")

    # --- waits-for graph ---------------------------------------------------------------------------

    def add_waits(self, waiter_id: str, target_ids: Sequence[str]) -> list[str] | None:
        """The cycle check and the insert in one transaction that also writes one shared document:
        two waiters checking at once conflict there, and the one retried sees the other's edges."""
        targets = list(dict.fromkeys(target_ids))

        def add(session: ClientSession) -> list[str] | None:
            self.counters.update_one({"_id": "waits"}, {"$inc": {"n": 1}}, upsert=True, session=session)

            def waits_on(node: str) -> list[str]:
                return [d["target"] for d in self.waits.find({"waiter": node}, {"target": 1}, session=session)]

            cycle = find_cycle(waiter_id, targets, waits_on)
            if cycle is not None:
                return cycle
            for target in targets:
                self.waits.update_one(
                    {"_id": f"{waiter_id}{_SEP}{target}"},
                    {"$set": {"waiter": waiter_id, "target": target}},
                    upsert=True,
                    session=session,
                )
            return None

        return self.conn.transaction("add_waits", add)

    def remove_waits(self, waiter_id: str) -> None:
        self.conn.run("remove_waits", lambda _: self.waits.delete_many({"waiter": waiter_id}))

    def waiter_counts(self, target_ids: Sequence[str]) -> dict[str, int]:
        if not target_ids:
            return {}
        pipeline: list[dict[str, Any]] = [
            {"$match": {"target": {"$in": list(dict.fromkeys(target_ids))}}},
            {"$group": {"_id": "$target", "n": {"$sum": 1}}},
        ]
        rows = self.conn.run("waiter_counts", lambda _: list(self.waits.aggregate(pipeline)))
        return {r["_id"]: int(r["n"]) for r in rows}

    # --- runners and leases ------------------------------------------------------------------------

    def put_runner(self, info: RunnerInfo) -> None:
        doc = {
            "context": info.context.to_dict(),
            "last_heartbeat": info.last_heartbeat,
            "state": info.state,
            "slots": info.slots,
            "busy": info.busy,
            "details": info.details,
        }
        runner_id = info.context.runner_id
        self.conn.run("put_runner", lambda _: self.runners_.replace_one({"_id": runner_id}, doc, upsert=True))

    def heartbeat(self, runner_id: str, at: float, busy: int, state: str = "running") -> None:
        values = {"last_heartbeat": at, "busy": busy, "state": state}
        self.conn.run("heartbeat", lambda _: self.runners_.update_one({"_id": runner_id}, {"$set": values}))

    def runners(self, *, include_stopped: bool = False) -> list[RunnerInfo]:
        query: dict[str, Any] = {} if include_stopped else {"state": {"$ne": "stopped"}}
        docs = self.conn.run("runners", lambda _: list(self.runners_.find(query, sort=[("last_heartbeat", -1)])))
        return [
            RunnerInfo(
                RunnerContext.from_dict(d["context"]),
                d["last_heartbeat"],
                d["state"],
                d["slots"],
                d["busy"],
                d["details"],
            )
            for d in docs
        ]

    def acquire_lease(self, name: str, holder: str, ttl_s: float, now: float) -> bool:
        """One upsert whose filter matches only a lease that is expired or already the holder's:
        a lease held by another does not match, and the upsert's insert then hits the ``_id``."""
        query = {"_id": name, "$or": [{"holder": holder}, {"expires_at": {"$lte": now}}]}

        def take(_: int) -> bool:
            try:
                self.leases.update_one(query, {"$set": {"holder": holder, "expires_at": now + ttl_s}}, upsert=True)
            except DuplicateKeyError:
                return False
            return True

        return self.conn.run("acquire_lease", take)

    def release_lease(self, name: str, holder: str) -> None:
        self.conn.run("release_lease", lambda _: self.leases.delete_one({"_id": name, "holder": holder}))

    # --- key/value ---------------------------------------------------------------------------------

    def kv_put(self, namespace: str, key: str, value: str) -> None:
        self.conn.check_size(f"the value {namespace}/{key}", value)
        doc = {"ns": namespace, "key": key, "value": value}
        self.conn.run("kv_put", lambda _: self.kv.replace_one({"_id": f"{namespace}{_SEP}{key}"}, doc, upsert=True))

    def kv_get(self, namespace: str, key: str) -> str | None:
        doc = self.conn.run("kv_get", lambda _: self.kv.find_one({"_id": f"{namespace}{_SEP}{key}"}, {"value": 1}))
        return str(doc["value"]) if doc else None

    def kv_keys(self, namespace: str) -> list[str]:
        docs = self.conn.run("kv_keys", lambda _: list(self.kv.find({"ns": namespace}, {"key": 1}, sort=[("key", 1)])))
        return [d["key"] for d in docs]

    def kv_delete(self, namespace: str, key: str) -> None:
        self.conn.run("kv_delete", lambda _: self.kv.delete_one({"_id": f"{namespace}{_SEP}{key}"}))

    def purge(self) -> None:
        for collection in (self.waits, self.runners_, self.leases, self.kv):
            self.conn.call("purge", collection.delete_many, {})
