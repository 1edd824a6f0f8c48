"""MongoDB broker: a ``messages`` collection; taking a message is one ``find_one_and_update``.

A message is ready while ``consumer`` is null and in flight while it names a consumer; ``ack``
deletes it. The take's filter is ``consumer: null, queue: {$in: queues}``, sorted by priority
(highest first) then ``seq`` (oldest first) on the ``ready`` index, and sets the consumer and a
fresh token: a take retried after a lost reply finds its message by that token instead of taking
a second one.

A blocked ``receive`` sleeps until the change stream reports a message made ready (``notify.py``),
taking again at least every ``SAFETY_S`` (1 s): an idle consumer costs one take a second, plus the
stream's one ``getMore`` a second per process. Without change streams it takes every
``POLL_MAX_S`` (100 ms): 10 commands a second per blocked consumer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from pynenc_nb.backends.mongo.connection import Connection, ReturnDocument
from pynenc_nb.backends.mongo.notify import SAFETY_S, Notifier
from pynenc_nb.records import Delivery

_SORT = [("priority", -1), ("seq", 1)]


class _Sequence:
    """Message order: the clock in nanoseconds, strictly increasing within a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


class MongoBroker:
    def __init__(self, conn: Connection, notifier: Notifier) -> None:
        self.conn = conn
        self.notifier = notifier
        self.messages = conn.collection("messages")
        self._seq = _Sequence()
        # (consumer, queues) -> (stream epoch, generation) of its last take that found nothing
        self._empty: dict[tuple[str, tuple[str, ...]], tuple[int, int, float]] = {}

    def __repr__(self) -> str:
        return f"<MongoBroker {self.conn.url} {self.conn.database_name}.{self.conn.prefix}messages>"

    def send(self, queue: str, invocation_id: str, priority: int = 0) -> None:
        self.send_many([(queue, invocation_id, priority)])

    def send_many(self, items: Sequence[tuple[str, str, int]]) -> None:
        if not items:
            return
        docs = [
            {
                "_id": uuid.uuid4().hex,
                "queue": queue,
                "invocation_id": invocation_id,
                "priority": priority,
                "seq": self._seq.next(),
                "consumer": None,
            }
            for queue, invocation_id, priority in items
        ]
        self.conn.run("send", lambda attempt: self._insert(docs, attempt))

    def _insert(self, docs: list[dict[str, Any]], attempt: int) -> None:
        if attempt == 0:
            self.messages.insert_many(docs, ordered=False)
            return
        for doc in docs:  # a retry: what the lost attempt stored is there already
            self.messages.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def _take(self, queues: Sequence[str], consumer_id: str) -> Delivery | None:
        token = uuid.uuid4().hex
        query = {"consumer": None, "queue": {"$in": list(queues)}}
        update = {"$set": {"consumer": consumer_id, "token": token, "taken_at": time.time()}}

        def take(attempt: int) -> Any:
            if attempt:
                found = self.messages.find_one({"consumer": consumer_id, "token": token})
                if found is not None:
                    return found
            return self.messages.find_one_and_update(query, update, sort=_SORT, return_document=ReturnDocument.AFTER)

        doc = self.conn.run("receive", take)
        return Delivery(doc["invocation_id"], doc["queue"], doc["_id"]) if doc else None

    def receive(self, queues: Sequence[str], consumer_id: str, timeout_s: float) -> Delivery | None:
        if not queues:
            return None
        deadline = time.monotonic() + timeout_s
        notifier = self.notifier
        generation = notifier.current()  # before the take: a message sent during it wakes us
        key = (consumer_id, tuple(queues))
        # a take that found nothing since the stream's last news: the next one would find nothing
        last = self._empty.get(key)
        look = not (
            notifier.live
            and last is not None
            and last[:2] == (notifier.epoch, generation)
            and time.monotonic() - last[2] < SAFETY_S  # and look anyway every SAFETY_S
        )
        while True:
            if look:
                delivery = self._take(queues, consumer_id)
                if delivery is not None:
                    self._empty.pop(key, None)
                    return delivery
                self._empty[key] = (notifier.epoch, generation, time.monotonic())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            notifier.wait(generation, remaining)
            fresh = notifier.current()
            look = not notifier.live or fresh != generation or time.monotonic() >= deadline
            if notifier.live and fresh == generation and time.monotonic() >= deadline:
                return None  # the stream saw nothing made ready: no need to look
            generation = fresh

    def ack(self, delivery: Delivery) -> None:
        self.conn.run("ack", lambda _: self.messages.delete_one({"_id": delivery.token}))

    def nack(self, delivery: Delivery) -> None:
        self.conn.run(
            "nack",
            lambda _: self.messages.update_one(
                {"_id": delivery.token}, {"$set": {"consumer": None, "token": None, "taken_at": None}}
            ),
        )

    def requeue_consumer(self, consumer_id: str) -> int:
        result = self.conn.run(
            "requeue",
            lambda _: self.messages.update_many(
                {"consumer": consumer_id}, {"$set": {"consumer": None, "token": None, "taken_at": None}}
            ),
        )
        return int(result.modified_count)

    def depth(self, queue: str | None = None) -> int:
        query: dict[str, Any] = {"consumer": None}
        if queue is not None:
            query["queue"] = queue
        return int(self.conn.run("depth", lambda _: self.messages.count_documents(query)))

    def purge(self) -> None:
        self.conn.run("purge", lambda _: self.messages.delete_many({}))

    def close(self) -> None:
        pass
