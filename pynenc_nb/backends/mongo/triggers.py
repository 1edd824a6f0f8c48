"""MongoDB trigger store and arg cache.

Events are numbered by the ``events`` log (``log.py``; the number is the event document's
``_id``) and followed by that number; pages go by ``(at, event_id)``. Storing a trigger run is an
insert on its ``run_id`` (``_id``): the unique key is the claim.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError

from pynenc_nb.backends.mongo.connection import ClientSession, Connection
from pynenc_nb.backends.mongo.log import SequenceLog
from pynenc_nb.backends.paging import decode_cursor, event_cursor_of
from pynenc_nb.records import EventRecord, TriggerRun

_ID_CHUNK = 1000
_RUN_FIELDS = ("trigger_id", "task_id", "source_kind", "source_id", "invocation_id", "at", "depth")


def _event(doc: dict[str, Any]) -> EventRecord:
    return EventRecord(
        doc["event_id"],
        doc["code"],
        doc["payload"],
        doc["at"],
        doc.get("emitter_invocation_id"),
        doc.get("emitter_runner_id"),
    )


def _run(doc: dict[str, Any]) -> TriggerRun:
    return TriggerRun(
        doc["_id"],
        doc["trigger_id"],
        doc["task_id"],
        doc["source_kind"],
        doc["source_id"],
        doc.get("invocation_id"),
        doc["at"],
        int(doc.get("depth", 1)),
    )


class MongoTriggerStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.triggers_ = conn.collection("triggers")
        self.events_ = conn.collection("events")
        self.runs = conn.collection("trigger_runs")
        self.log = SequenceLog(conn, "events")

    def put_triggers(self, definitions: Mapping[str, Mapping[str, str]]) -> None:
        if not definitions:
            return

        def put(session: ClientSession) -> None:
            for task_id, triggers in definitions.items():
                self.triggers_.delete_many({"task_id": task_id}, session=session)
                for trigger_id, definition in triggers.items():
                    self.triggers_.replace_one(
                        {"_id": trigger_id},
                        {"task_id": task_id, "definition": definition},
                        upsert=True,
                        session=session,
                    )

        self.conn.transaction("put_triggers", put)

    def triggers(self) -> dict[str, tuple[str, str]]:
        docs = self.conn.run("triggers", lambda _: list(self.triggers_.find({})))
        return {d["_id"]: (d["task_id"], d["definition"]) for d in docs}

    def add_event(self, event: EventRecord) -> None:
        self.conn.check_size(f"the payload of event {event.code}", event.payload)
        seq = self.log.allocate()
        doc = {
            "_id": seq,
            "event_id": event.event_id,
            "code": event.code,
            "payload": event.payload,
            "at": event.at,
            "emitter_invocation_id": event.emitter_invocation_id,
            "emitter_runner_id": event.emitter_runner_id,
            "t": time.time(),
        }
        try:
            self.conn.run("add_event", lambda _: self.events_.replace_one({"_id": seq}, doc, upsert=True))
        except BaseException:
            self.log.void([seq])
            raise

    def events_since(self, cursor: str | None, limit: int = 500) -> tuple[list[EventRecord], str]:
        def fetch(after: int, upto: int, count: int) -> list[tuple[int, float, EventRecord]]:
            docs = self.conn.run(
                "events_since",
                lambda _: list(
                    self.events_.find({"_id": {"$gt": after, "$lte": upto}}, sort=[("_id", 1)], limit=count)
                ),
            )
            return [(d["_id"], d["t"], _event(d)) for d in docs]

        return self.log.follow(cursor, limit, fetch)

    def event_cursor(self) -> str:
        return str(self.log.current())

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
        clauses: list[dict[str, Any]] = []
        if code is not None:
            clauses.append({"code": code})
        if since is not None:
            clauses.append({"at": {"$gte": since}})
        if until is not None:
            clauses.append({"at": {"$lt": until}})
        if cursor is not None:
            at, event_id = decode_cursor(cursor)
            clauses.append({"$or": [{"at": {"$lt": at}}, {"at": at, "event_id": {"$lt": event_id}}]})
        query: dict[str, Any] = {"$and": clauses} if clauses else {}
        docs = self.conn.run(
            "events", lambda _: list(self.events_.find(query, sort=[("at", -1), ("event_id", -1)], limit=limit + 1))
        )
        page = [_event(d) for d in docs[:limit]]
        return page, event_cursor_of(page[-1]) if len(docs) > limit else None

    def get_events(self, event_ids: Sequence[str]) -> dict[str, EventRecord]:
        found: dict[str, EventRecord] = {}
        unique = list(dict.fromkeys(event_ids))
        for start in range(0, len(unique), _ID_CHUNK):
            chunk = unique[start : start + _ID_CHUNK]
            docs = self.conn.find("get_events", self.events_, {"event_id": {"$in": chunk}}, sort=[("_id", 1)])
            found.update((d["event_id"], _event(d)) for d in docs)
        return found

    def add_trigger_runs(self, runs: Sequence[TriggerRun]) -> list[bool]:
        stored: list[bool] = []
        for run in runs:
            doc = {"_id": run.run_id, **{field: getattr(run, field) for field in _RUN_FIELDS}}

            def insert(attempt: int, doc: dict[str, Any] = doc) -> bool:
                try:
                    self.runs.insert_one(doc)
                except DuplicateKeyError:
                    if attempt:  # a retry after a lost reply: the stored run may be this one
                        return self.runs.find_one({"_id": doc["_id"]}) == doc
                    return False
                return True

            stored.append(self.conn.run("add_trigger_runs", insert))
        return stored

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
        query: dict[str, Any] = {}
        if trigger_id is not None:
            query["trigger_id"] = trigger_id
        if source_ids is not None:
            query["source_id"] = {"$in": list(dict.fromkeys(source_ids))}
        if invocation_ids is not None:
            query["invocation_id"] = {"$in": list(dict.fromkeys(invocation_ids))}
        docs = self.conn.run(
            "trigger_runs", lambda _: list(self.runs.find(query, sort=[("at", -1), ("_id", -1)], limit=limit))
        )
        return [_run(d) for d in docs]

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        victims = self._victims(self.events_, "event_id", older_than, keep_last)
        if victims:
            self.log.void(victims)  # followers skip what is gone without waiting for it
            self._delete(self.events_, victims)
        return len(victims)

    def purge_trigger_runs(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        victims = self._victims(self.runs, "_id", older_than, keep_last)
        self._delete(self.runs, victims)
        return len(victims)

    def _victims(self, collection: Any, tie: str, older_than: float | None, keep_last: int | None) -> list[Any]:
        """Ids older than ``older_than`` (the ``at`` index), and past the newest ``keep_last``."""
        doomed: list[Any] = []
        if older_than is not None:
            doomed += [
                d["_id"]
                for d in self.conn.run(
                    "purge", lambda _: list(collection.find({"at": {"$lt": older_than}}, {"_id": 1}))
                )
            ]
        if keep_last is not None:
            query = {} if older_than is None else {"at": {"$gte": older_than}}
            doomed += [
                d["_id"]
                for d in self.conn.run(
                    "purge",
                    lambda _: list(
                        collection.find(query, {"_id": 1}, sort=[("at", -1), (tie, -1)], skip=max(keep_last, 0))
                    ),
                )
            ]
        return doomed

    def _delete(self, collection: Any, ids: list[Any]) -> None:
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            self.conn.call("purge", collection.delete_many, {"_id": {"$in": chunk}})

    def purge(self) -> None:
        for collection in (self.triggers_, self.events_, self.runs):
            self.conn.call("purge", collection.delete_many, {})
        self.log.set_floor()


class MongoArgCache:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.values = conn.collection("arg_cache")

    def put(self, key: str, value: str) -> None:
        self.conn.check_size(f"the cached value {key}", value)
        self.conn.run(
            "arg_cache_put",
            lambda _: self.values.update_one({"_id": key}, {"$setOnInsert": {"value": value}}, upsert=True),
        )

    def get(self, key: str) -> str | None:
        doc = self.conn.run("arg_cache_get", lambda _: self.values.find_one({"_id": key}))
        return str(doc["value"]) if doc else None

    def purge(self) -> None:
        self.conn.run("purge", lambda _: self.values.delete_many({}))
