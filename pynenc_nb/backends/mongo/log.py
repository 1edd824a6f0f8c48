"""Logs followed by a cursor (status changes, events) on a server with many concurrent writers.

Each entry takes a number from a counter document (``counters``, one ``$inc``) before it is written,
and is written with it: the status change inside its invocation's document (``history.seq``), the
event as the event's ``_id``. Numbers are handed out in order but may be committed out of order,
so a follower reads only the numbers that are contiguous from its cursor. A number whose write was
refused (a compare-and-set that did not apply, an event that failed) is recorded in ``voids`` and
skipped; one still missing (a writer between its ``$inc`` and its write, or one that died there) is
waited for, and skipped once an entry after it has been stored for ``GAP_GRACE_S``. Purges record
what they removed the same way (``floor``: every number up to it is gone).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError

from pynenc_nb.backends.mongo.connection import Connection, ReturnDocument

GAP_GRACE_S = 10.0
VOID_TTL = datetime.timedelta(days=1)  # voids outlive any follower's lag; the TTL index drops them

# fetch(after, upto, limit) -> up to ``limit`` (seq, stored_at, item) with after < seq <= upto, by seq
Fetch = Callable[[int, int, int], Sequence[tuple[int, float, Any]]]


class SequenceLog:
    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        self.counters = conn.collection("counters")
        self.voids = conn.collection("voids")

    def allocate(self, count: int = 1) -> int:
        """The first of ``count`` new numbers."""
        while True:
            doc = self.conn.run(
                "allocate",
                lambda _: self.counters.find_one_and_update(
                    {"_id": self.name}, {"$inc": {"n": count}}, return_document=ReturnDocument.AFTER
                ),
            )
            if doc is not None:
                return int(doc["n"]) - count + 1
            # the first number of this log: create the counter (an upserting $inc raced by another
            # upsert returned no document on SecantusDB), then take it as usual
            self.conn.run("allocate", lambda _: self._create())

    def _create(self) -> None:
        try:
            self.counters.insert_one({"_id": self.name, "n": 0})
        except DuplicateKeyError:
            pass

    def void(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        expire = datetime.datetime.now(datetime.UTC) + VOID_TTL
        now = time.time()
        docs = [{"_id": f"{self.name}:{seq}", "log": self.name, "seq": seq, "t": now, "expire": expire} for seq in seqs]
        self.conn.run("void", lambda _: self.voids.insert_many(docs, ordered=False) if _ == 0 else self._upsert(docs))

    def _upsert(self, docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            self.voids.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def _counter(self) -> tuple[int, int]:
        doc = self.conn.run("counter", lambda _: self.counters.find_one({"_id": self.name}))
        return (int(doc.get("n", 0)), int(doc.get("floor", 0))) if doc else (0, 0)

    def current(self) -> int:
        return self._counter()[0]

    def set_floor(self) -> None:
        """Everything numbered so far is gone (a purge): followers skip it without waiting."""
        top = self.current()
        self.conn.run(
            "floor", lambda _: self.counters.update_one({"_id": self.name}, {"$max": {"floor": top}}, upsert=True)
        )
        self.conn.run("floor", lambda _: self.voids.delete_many({"log": self.name}))

    def follow(self, cursor: str | None, limit: int, fetch: Fetch) -> tuple[list[Any], str]:
        after = int(cursor) if cursor else 0
        if limit <= 0:
            return [], str(after)
        top, floor = self._counter()
        start = max(after, floor)
        if start >= top:
            return [], str(after)
        entries = list(fetch(start, top, limit))
        if not entries:
            return [], str(after)
        last = entries[-1][0]
        voided: set[int] = set()
        if last - start > len(entries):  # holes below the last entry: which are known voids
            voided = {
                int(v["seq"])
                for v in self.conn.run(
                    "voids",
                    lambda _: list(
                        self.voids.find({"log": self.name, "seq": {"$gt": start, "$lte": last}}, {"seq": 1})
                    ),
                )
            }
        # the oldest store time of any entry after each position: a hole before an entry stored
        # GAP_GRACE_S ago will never be filled
        oldest_after: list[float] = [0.0] * len(entries)
        running = float("inf")
        for index in range(len(entries) - 1, -1, -1):
            running = min(running, entries[index][1])
            oldest_after[index] = running
        stale = time.time() - GAP_GRACE_S
        out: list[Any] = []
        position = start
        for index, (seq, _, item) in enumerate(entries):
            for hole in range(position + 1, seq):
                if hole not in voided and oldest_after[index] > stale:
                    return out, str(position if out else after)
            out.append(item)
            position = seq
        return out, str(position)
