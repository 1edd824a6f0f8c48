"""SQLite broker: a ``messages`` table; taking a message is one atomic UPDATE … RETURNING.

A message is ready while ``consumer`` is NULL and in flight while it names a consumer; ``ack``
deletes it. Idle consumers sleep on the wake-up hub instead of polling the file.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from pynenc_nb.backends.sqlite.connection import Database
from pynenc_nb.backends.wakeup import WakeupHub
from pynenc_nb.records import Delivery


class SQLiteBroker:
    def __init__(self, db: Database, wakeup: WakeupHub) -> None:
        self.db = db
        self.wakeup = wakeup

    def send(self, queue: str, invocation_id: str, priority: int = 0) -> None:
        self.send_many([(queue, invocation_id, priority)])

    def send_many(self, items: Sequence[tuple[str, str, int]]) -> None:
        with self.db.write() as tx:
            tx.executemany("INSERT INTO messages (queue, invocation_id, priority) VALUES (?, ?, ?)", items)
            self.db.after_commit(self.wakeup.notify)

    def _take(self, queues: Sequence[str], consumer_id: str) -> Delivery | None:
        marks = ",".join("?" * len(queues))
        with self.db.write() as tx:
            row = tx.execute(
                "UPDATE messages SET consumer = ?, taken_at = ? WHERE seq = (SELECT seq FROM messages "
                f"WHERE consumer IS NULL AND queue IN ({marks}) ORDER BY priority DESC, seq LIMIT 1) "
                "RETURNING seq, invocation_id, queue",
                (consumer_id, time.time(), *queues),
            ).fetchone()
        return Delivery(row[1], row[2], str(row[0])) if row else None

    def _has_ready(self, queues: Sequence[str]) -> bool:
        marks = ",".join("?" * len(queues))
        row = self.db.conn.execute(
            f"SELECT 1 FROM messages WHERE consumer IS NULL AND queue IN ({marks}) LIMIT 1", tuple(queues)
        ).fetchone()
        return row is not None

    def receive(self, queues: Sequence[str], consumer_id: str, timeout_s: float) -> Delivery | None:
        if timeout_s <= 0:  # a single try: usable inside an atomic() group
            return self._take(queues, consumer_id)
        deadline = time.monotonic() + timeout_s
        while True:
            generation = self.wakeup.generation
            if self._has_ready(queues):  # a read first: idle consumers never take the write lock
                delivery = self._take(queues, consumer_id)
                if delivery is not None:
                    return delivery
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.wakeup.wait(generation, remaining)

    def drop_ready(self, invocation_id: str) -> None:
        """Messages still waiting for an invocation that was just claimed without one (a waiter ran
        it in its own thread): gone in the claim's transaction, so no other worker spends a write
        taking them only to find the invocation claimed."""
        with self.db.write() as tx:
            tx.execute("DELETE FROM messages WHERE invocation_id = ? AND consumer IS NULL", (invocation_id,))

    def ack(self, delivery: Delivery) -> None:
        with self.db.write() as tx:
            tx.execute("DELETE FROM messages WHERE seq = ?", (int(delivery.token),))

    def nack(self, delivery: Delivery) -> None:
        with self.db.write() as tx:
            tx.execute("UPDATE messages SET consumer = NULL, taken_at = NULL WHERE seq = ?", (int(delivery.token),))
            self.db.after_commit(self.wakeup.notify)

    def requeue_consumer(self, consumer_id: str) -> int:
        with self.db.write() as tx:
            count = tx.execute(
                "UPDATE messages SET consumer = NULL, taken_at = NULL WHERE consumer = ?", (consumer_id,)
            ).rowcount
            if count:
                self.db.after_commit(self.wakeup.notify)
        return count

    def depth(self, queue: str | None = None) -> int:
        if queue is None:
            row = self.db.conn.execute("SELECT COUNT(*) FROM messages WHERE consumer IS NULL").fetchone()
        else:
            row = self.db.conn.execute(
                "SELECT COUNT(*) FROM messages WHERE consumer IS NULL AND queue = ?", (queue,)
            ).fetchone()
        return int(row[0])

    def purge(self) -> None:
        with self.db.write() as tx:
            tx.execute("DELETE FROM messages")

    def close(self) -> None:
        pass
