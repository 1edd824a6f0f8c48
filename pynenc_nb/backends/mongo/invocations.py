"""Invocations on MongoDB: one document each, its history and outcome inside it.

A status change is ONE ``find_one_and_update`` whose filter holds the expected statuses and owners;
the same update sets the new status and owner, increments the counter, stores the outcome and
``$push``-es the history entry. History cannot be missing for a stored change, nor a change for a
stored entry: they are one document write. The entry carries its number in the change log
(``log.py``), allocated just before; a refused change voids its number.

Changes that must also take a concurrency key (a running key, a registration key) check the key's
holder and write the key document in one transaction: two takers both write the key document, so
one of them is refused by a write conflict and retried, never both applied.

A retried operation (a reply lost to a dropped connection) first looks for its own log number in
the document: an applied change is reported applied, not as a conflict with itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from pymongo.errors import BulkWriteError

from pynenc_nb.backends.mongo.connection import ClientSession, Connection
from pynenc_nb.backends.mongo.documents import (
    Step,
    change_of,
    is_ours,
    mongo_filter,
    new_document,
    record_of,
    update_for,
)
from pynenc_nb.backends.mongo.log import SequenceLog
from pynenc_nb.backends.mongo.notify import SAFETY_S, Notifier
from pynenc_nb.backends.paging import decode_cursor, encode_cursor
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.invocation.status import FINAL_STATUSES, STATUS_BY_VALUE, InvocationStatus
from pynenc_nb.records import (
    InvocationFilter,
    InvocationRecord,
    Outcome,
    StatusChange,
    TransitionRequest,
    TransitionResult,
)

RECORD = {"history": 0, "outcome": 0}  # what a record is read with: never the history or the result
RECORD_NO_ARGUMENTS = {**RECORD, "arguments": 0}  # query(arguments=False)
_ID_CHUNK = 1000
_FINALS = [s.value for s in FINAL_STATUSES]


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _ID_CHUNK):
        yield unique[start : start + _ID_CHUNK]


class MongoInvocations:
    def __init__(self, conn: Connection, notifier: Notifier) -> None:
        self.conn = conn
        self.notifier = notifier
        self.invocations = conn.collection("invocations")
        self.key_locks = conn.collection("key_locks")
        self.log = SequenceLog(conn, "changes")

    # --- register ----------------------------------------------------------------------------------

    def register(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
        *,
        stored: list[bool] | None = None,
    ) -> list[InvocationRecord]:
        flags = [] if stored is None else stored
        if not records:
            return []
        for record in records:
            self.conn.check_size(f"the arguments of a call to {record.task_id}", record.arguments, record.args_display)
        first = self.log.allocate(len(records))
        now = time.time()
        docs = [new_document(r, registered_by, now, first + i) for i, r in enumerate(records)]
        results: list[tuple[InvocationRecord, bool] | None] = [None] * len(records)
        plain = [i for i, r in enumerate(records) if not r.registration_key]
        if plain:
            for i, result in zip(plain, self._insert([docs[i] for i in plain]), strict=True):
                results[i] = result
        reuse = [s.value for s in reuse_statuses]
        for i, record in enumerate(records):
            if record.registration_key:
                results[i] = self._register_keyed(docs[i], record.registration_key, reuse)
        out: list[InvocationRecord] = []
        unused: list[int] = []
        for i, outcome in enumerate(results):
            assert outcome is not None
            found, new = outcome
            out.append(found)
            flags.append(new)
            if not new:
                unused.append(first + i)
        self.log.void(unused)
        return out

    def _insert(self, docs: list[dict[str, Any]]) -> list[tuple[InvocationRecord, bool]]:
        """Insert in one round trip; an id already stored returns that invocation (not stored)."""

        def insert(_: int) -> set[int]:
            try:
                self.invocations.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != 11000 for e in errors):
                    raise
                return {int(e["index"]) for e in errors}
            return set()

        duplicates = self.conn.run("register", insert)
        existing = self._docs([docs[i]["_id"] for i in duplicates]) if duplicates else {}
        out: list[tuple[InvocationRecord, bool]] = []
        for i, doc in enumerate(docs):
            if i not in duplicates:
                out.append((record_of(doc), True))
                continue
            found = existing[doc["_id"]]
            out.append((record_of(found), is_ours(found, doc)))  # ours: a retry after a lost reply
        return out

    def _register_keyed(self, doc: dict[str, Any], key: str, reuse: list[str]) -> tuple[InvocationRecord, bool]:
        def register(session: ClientSession) -> tuple[dict[str, Any], bool]:
            existing = self.invocations.find_one({"_id": doc["_id"]}, {"outcome": 0}, session=session)
            if existing is not None:
                return existing, is_ours(existing, doc)
            lock = self.key_locks.find_one({"_id": key}, session=session)
            if lock is not None and lock["holder"] != doc["_id"] and reuse:
                held = self.invocations.find_one(
                    {"_id": lock["holder"], "status": {"$in": reuse}}, RECORD, session=session
                )
                if held is not None:
                    return held, False
            self.invocations.insert_one(doc, session=session)
            self.key_locks.update_one({"_id": key}, {"$set": {"holder": doc["_id"]}}, upsert=True, session=session)
            return doc, True

        found, stored = self.conn.transaction("register", register)
        return record_of(found), stored

    # --- transition --------------------------------------------------------------------------------

    def transition(self, request: TransitionRequest) -> TransitionResult:
        change = request.change
        invocation_id = change.invocation_id
        if request.outcome is not None:
            self.conn.check_size(
                f"the outcome of invocation {invocation_id}", request.outcome.payload, request.outcome.display
            )
        step = Step(request)
        try:
            if request.exclusive_key:
                verdict, doc = self._exclusive(step)
            else:
                verdict, doc = self.conn.run("transition", lambda _: self._cas(step))
        except BaseException:
            if step.seq is not None and not step.applied:
                self.log.void([step.seq])
            raise
        if verdict == "applied":
            return TransitionResult(True, record_of(doc))
        if step.seq is not None:
            self.log.void([step.seq])
        if doc is None:
            raise InvocationNotFoundError(f"invocation {invocation_id} does not exist", invocation_id=invocation_id)
        return TransitionResult(False, record_of(doc), verdict)

    def _cas(self, step: Step, session: ClientSession | None = None) -> tuple[str, Any]:
        """Read, check, write conditionally on what was read; again if another change came between.

        The write is one ``update_one`` whose filter holds the status and owner read (both among the
        allowed ones) and the document's version: it applies only to the state that was checked, so
        the record after it is known without another read. (``find_one_and_update`` would do the
        read and the write in one command, but SecantusDB 0.7 scans the whole collection for it.)
        """
        request = step.request
        invocation_id = request.change.invocation_id
        while True:
            if step.applied:  # applied, and the reply to the caller was lost after it
                return "applied", step.after
            if step.sent and step.seq is not None:  # a write whose reply was lost may have applied
                stored = self.invocations.find_one(
                    {"_id": invocation_id, "history.seq": step.seq}, {"_id": 1}, session=session
                )
                step.sent = False
                if stored is not None:
                    step.applied = True
                    return "applied", step.after
            doc = self.invocations.find_one({"_id": invocation_id}, RECORD, session=session)
            if doc is None:
                return "missing", None
            if STATUS_BY_VALUE[doc["status"]] not in request.allowed_from:
                return "status", doc
            if request.allowed_owners is not None and doc.get("owner_id") not in request.allowed_owners:
                return "owner", doc
            if step.seq is None:
                step.seq = self.log.allocate()
            update, step.after = update_for(request, doc, step.seq)
            expected = {
                "_id": invocation_id,
                "v": doc.get("v", 0),
                "status": doc["status"],
                "owner_id": doc.get("owner_id"),
            }
            step.sent = True
            result = self.invocations.update_one(expected, update, session=session)
            step.sent = False
            if result.matched_count:
                step.applied = True
                return "applied", step.after

    def _exclusive(self, step: Step) -> tuple[str, Any]:
        request = step.request
        key = request.exclusive_key
        assert key is not None
        invocation_id = request.change.invocation_id
        blocking = [s.value for s in request.exclusive_statuses]

        def take(session: ClientSession) -> tuple[str, Any]:
            step.applied = False  # a transaction run again: what the last run wrote was rolled back
            lock = self.key_locks.find_one({"_id": key}, session=session)
            if lock is not None and lock["holder"] != invocation_id and blocking:
                holder = self.invocations.find_one(
                    {"_id": lock["holder"], "status": {"$in": blocking}}, {"_id": 1}, session=session
                )
                if holder is not None:
                    current = self.invocations.find_one({"_id": invocation_id}, RECORD, session=session)
                    if current is None:
                        return "missing", None
                    allowed = STATUS_BY_VALUE[current["status"]] in request.allowed_from
                    return ("exclusive" if allowed else "status"), current
            verdict, doc = self._cas(step, session)
            if verdict == "applied":
                self.key_locks.update_one(
                    {"_id": key}, {"$set": {"holder": invocation_id}}, upsert=True, session=session
                )
            return verdict, doc

        return self.conn.transaction("transition", take)

    # --- reads -------------------------------------------------------------------------------------

    def key_holder(self, key: str) -> str | None:
        lock = self.conn.run("key_holder", lambda _: self.key_locks.find_one({"_id": key}))
        return str(lock["holder"]) if lock is not None else None

    def _docs(self, ids: Sequence[str], projection: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            docs = self.conn.find("get", self.invocations, {"_id": {"$in": chunk}}, projection)
            found.update((d["_id"], d) for d in docs)
        return found

    def get(self, invocation_id: str) -> InvocationRecord | None:
        doc = self.conn.run("get", lambda _: self.invocations.find_one({"_id": invocation_id}, RECORD))
        return record_of(doc) if doc else None

    def get_many(self, invocation_ids: Sequence[str]) -> dict[str, InvocationRecord]:
        return {i: record_of(d) for i, d in self._docs(invocation_ids, RECORD).items()}

    def history(self, invocation_id: str) -> list[StatusChange]:
        doc = self.conn.run("history", lambda _: self.invocations.find_one({"_id": invocation_id}, {"history": 1}))
        return [change_of(invocation_id, e) for e in doc.get("history", ())] if doc else []

    def histories(self, invocation_ids: Sequence[str]) -> dict[str, list[StatusChange]]:
        docs = self._docs(invocation_ids, {"history": 1})
        return {i: [change_of(i, e) for e in d["history"]] for i, d in docs.items() if d.get("history")}

    def changes_since(self, cursor: str | None, limit: int = 500) -> tuple[list[StatusChange], str]:
        def fetch(after: int, upto: int, count: int) -> list[tuple[int, float, StatusChange]]:
            window = {"$gt": after, "$lte": upto}
            pipeline: list[dict[str, Any]] = [
                {"$match": {"history.seq": window}},
                {"$project": {"history": 1}},
                {"$unwind": "$history"},
                {"$match": {"history.seq": window}},
                {"$sort": {"history.seq": 1}},
                {"$limit": count},
            ]
            rows = self.conn.run("changes_since", lambda _: list(self.invocations.aggregate(pipeline)))
            return [(r["history"]["seq"], r["history"]["t"], change_of(r["_id"], r["history"])) for r in rows]

        changes, after = self.log.follow(cursor, limit, fetch)
        return changes, after

    def change_cursor(self) -> str:
        return str(self.log.current())

    def outcome(self, invocation_id: str) -> Outcome | None:
        doc = self.conn.run("outcome", lambda _: self.invocations.find_one({"_id": invocation_id}, {"outcome": 1}))
        found = doc.get("outcome") if doc else None
        return Outcome(found["kind"], found["payload"], found["display"]) if found else None

    def settled(self, invocation_ids: Sequence[str]) -> dict[str, tuple[InvocationRecord, Outcome | None]]:
        out: dict[str, tuple[InvocationRecord, Outcome | None]] = {}
        for i, doc in self._docs(invocation_ids, {"history": 0}).items():
            found = doc.get("outcome")
            out[i] = (record_of(doc), Outcome(found["kind"], found["payload"], found["display"]) if found else None)
        return out

    def _final_among(self, invocation_ids: Sequence[str]) -> set[str]:
        done: set[str] = set()
        for chunk in _chunks(invocation_ids):
            query = {"_id": {"$in": chunk}, "status": {"$in": _FINALS}}
            docs = self.conn.find("wait_final", self.invocations, query, {"_id": 1})
            done.update(d["_id"] for d in docs)
        return done

    def wait_final(self, invocation_ids: Sequence[str], timeout_s: float) -> set[str]:
        """One read, then the change stream (``notify.py``) tells which ids went final: no read per
        wake-up, which made collecting n results O(n²). Read again when the stream was down or
        ``SAFETY_S`` passed; poll where there is no stream."""
        deadline = time.monotonic() + timeout_s
        notifier = self.notifier
        wanted = set(invocation_ids)
        while True:
            generation, finals = notifier.current(), notifier.final_generation
            snapshot = notifier.snapshot()
            done, unknown = notifier.known(wanted)
            if unknown:  # read only the ids the stream cannot vouch for (a caller collecting n
                # results calls again after each one: n reads of n ids otherwise)
                read = self._final_among(list(unknown))
                notifier.remember(snapshot, unknown - read)
                done |= read
            checked = time.monotonic()
            while True:
                remaining = deadline - time.monotonic()
                if done or remaining <= 0:
                    return done
                notifier.wait(generation, remaining)
                if notifier.generation == generation or not notifier.live or time.monotonic() - checked >= SAFETY_S:
                    break  # a timeout, a stream down or a safety check: read
                generation = notifier.generation
                seen = notifier.finals_since(finals, wanted)
                if seen is None:
                    break
                done = seen

    def find_by_call(
        self, task_id: str, call_id: str, statuses: frozenset[InvocationStatus]
    ) -> InvocationRecord | None:
        query = {"task_id": task_id, "call_id": call_id, "status": {"$in": [s.value for s in statuses]}}
        doc = self.conn.run(
            "find_by_call", lambda _: self.invocations.find_one(query, RECORD, sort=[("created_at", -1)])
        )
        return record_of(doc) if doc else None

    def query(
        self, flt: InvocationFilter, *, limit: int = 100, cursor: str | None = None, arguments: bool = True
    ) -> tuple[list[InvocationRecord], str | None]:
        projection = RECORD if arguments else RECORD_NO_ARGUMENTS
        query = mongo_filter(flt)
        if cursor:
            at, invocation_id = decode_cursor(cursor)
            page = {"$or": [{"updated_at": {"$lt": at}}, {"updated_at": at, "_id": {"$lt": invocation_id}}]}
            query = {"$and": [query, page]} if query else page
        docs = self.conn.run(
            "query",
            lambda _: list(
                self.invocations.find(query, projection, sort=[("updated_at", -1), ("_id", -1)], limit=limit + 1)
            ),
        )
        records = [record_of(d) for d in docs[:limit]]
        return records, (encode_cursor(records[-1]) if len(docs) > limit else None)

    def count_by_status(self, flt: InvocationFilter | None = None) -> dict[InvocationStatus, int]:
        pipeline = [
            {"$match": mongo_filter(flt or InvocationFilter())},
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
        ]
        rows = self.conn.run("count_by_status", lambda _: list(self.invocations.aggregate(pipeline)))
        return {STATUS_BY_VALUE[r["_id"]]: int(r["n"]) for r in rows}

    def purge(self) -> None:
        self.conn.run("purge", lambda _: self.invocations.delete_many({}))
        self.conn.run("purge", lambda _: self.key_locks.delete_many({}))
        self.log.set_floor()
