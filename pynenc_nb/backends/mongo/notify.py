"""Wake-ups from a change stream: a hint that something changed, never the source of truth.

Where the server has change streams (a replica set; SecantusDB too), one thread per process
watches the app's database for the two things waiters wait for: a message becoming ready
(inserted into ``messages``, or given back) and an invocation reaching a final status. It bumps a
generation; waiters read the generation *before* checking the database, so a change made during
the check is never missed, and they check again at least every ``SAFETY_S`` in case the stream
was down (it reconnects with back-off; meanwhile waiters poll at ``POLL_MAX_S``).

Without change streams (``Connection.change_streams`` False) waiters look every ``POLL_MAX_S``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Collection
from typing import Any

from pymongo.errors import PyMongoError

from pynenc_nb.backends.mongo.connection import Connection
from pynenc_nb.invocation.status import FINAL_STATUSES

POLL_MAX_S = 0.1
SAFETY_S = 1.0  # a waiter with a live stream still checks this often
AWAIT_MS = 1000  # the stream's getMore waits this long on the server: one command a second when idle
RECONNECT_CAP_S = 2.0
_RECENT_FINALS = 10_000  # final ids remembered for waiters that look them up


class Notifier:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._cond = threading.Condition()
        self.generation = 0
        self.final_generation = 0
        self._finals: deque[tuple[int, str]] = deque()
        self._final_at: dict[str, int] = {}  # invocation id -> the final generation it went final at
        self.epoch = 0  # changes whenever the stream opens or drops: what was learnt before is void
        self._unfinished: dict[str, tuple[int, int]] = {}  # id read not final -> (epoch, final generation)
        self._pid = -1
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self.live = False  # the stream is open: waiters may sleep up to SAFETY_S

    @property
    def enabled(self) -> bool:
        return self.conn.change_streams and not self._closed.is_set()

    def _ensure(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._cond:
            if self._pid == pid:
                return
            self._pid = pid
            self.live = False
            self._thread = threading.Thread(target=self._watch, name="pynenc-mongo-notify", daemon=True)
            self._thread.start()

    def _pipeline(self) -> list[dict[str, Any]]:
        prefix = self.conn.prefix
        return [
            {
                "$match": {
                    "$or": [
                        {"ns.coll": prefix + "messages", "operationType": "insert"},
                        {
                            "ns.coll": prefix + "messages",
                            "operationType": "update",
                            "updateDescription.updatedFields.consumer": None,
                        },
                        {
                            "ns.coll": prefix + "invocations",
                            "operationType": "update",
                            "updateDescription.updatedFields.status": {"$in": [s.value for s in FINAL_STATUSES]},
                        },
                    ]
                }
            },
            {"$project": {"ns": 1, "documentKey": 1}},
        ]

    def _watch(self) -> None:
        pause = 0.05
        pid = os.getpid()
        while not self._closed.is_set() and self._pid == pid:
            try:
                with self.conn.db.watch(self._pipeline(), max_await_time_ms=AWAIT_MS) as stream:
                    self._set_live(True)
                    pause = 0.05
                    while not self._closed.is_set() and stream.alive:
                        change = stream.try_next()
                        if change is not None:
                            self._bump(change)
            except PyMongoError:
                pass
            except Exception:  # noqa: BLE001 - a wake-up thread must never die: waiters fall back to polling
                pass
            self._set_live(False)
            if self._closed.wait(pause):
                return
            pause = min(RECONNECT_CAP_S, pause * 2)

    def _set_live(self, live: bool) -> None:
        with self._cond:
            self.live = live
            self.epoch += 1
            self._unfinished.clear()
            self.generation += 1  # waiters re-check: anything may have happened while it was down
            self._cond.notify_all()

    def _bump(self, change: dict[str, Any]) -> None:
        with self._cond:
            self.generation += 1
            if change.get("ns", {}).get("coll", "").endswith("invocations"):
                self.final_generation += 1
                invocation_id = str(change.get("documentKey", {}).get("_id"))
                self._finals.append((self.final_generation, invocation_id))
                self._final_at[invocation_id] = self.final_generation
                if len(self._finals) > _RECENT_FINALS:
                    gen, dropped = self._finals.popleft()
                    if self._final_at.get(dropped) == gen:
                        del self._final_at[dropped]
            self._cond.notify_all()

    def current(self) -> int:
        if self.enabled:
            self._ensure()
        return self.generation

    def wait(self, since: int, timeout_s: float) -> None:
        """Until the generation moves past ``since`` or the timeout (capped: the stream may be down)."""
        cap = SAFETY_S if self.live else POLL_MAX_S
        deadline = time.monotonic() + min(timeout_s, cap)
        with self._cond:
            while self.generation == since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    def snapshot(self) -> tuple[int, int]:
        """(epoch, final generation) to pass to ``remember`` after a read."""
        with self._cond:
            return self.epoch, self.final_generation

    def remember(self, snapshot: tuple[int, int], unfinished: Collection[str]) -> None:
        """Ids a read taken after ``snapshot`` found not final: while the stream stays up, whether
        they are final is known without reading them again."""
        with self._cond:
            if not self.live or snapshot[0] != self.epoch:
                return
            if len(self._unfinished) > _RECENT_FINALS:
                self._unfinished.clear()
            for invocation_id in unfinished:
                self._unfinished[invocation_id] = snapshot

    def known(self, ids: Collection[str]) -> tuple[set[str], set[str]]:
        """(final, unknown): what the stream tells about ids read earlier; the rest must be read."""
        final: set[str] = set()
        unknown: set[str] = set()
        with self._cond:
            oldest = self._finals[0][0] if self._finals else self.final_generation + 1
            for invocation_id in ids:
                seen = self._unfinished.get(invocation_id)
                if not self.live or seen is None or seen[0] != self.epoch or seen[1] + 1 < oldest:
                    unknown.add(invocation_id)
                elif self._final_at.get(invocation_id, -1) > seen[1]:
                    final.add(invocation_id)
        return final, unknown

    def finals_since(self, since: int, ids: Collection[str]) -> set[str] | None:
        """Which of ``ids`` the stream saw reach a final status after final generation ``since``;
        None when its record of that time was dropped (the caller must read)."""
        with self._cond:
            if self.final_generation == since:
                return set()
            if not self._finals or self._finals[0][0] > since + 1:
                return None
            found: set[str] = set()
            for gen, invocation_id in reversed(self._finals):
                if gen <= since:
                    break
                if invocation_id in ids:
                    found.add(invocation_id)
            return found

    def final_since(self, since: int, ids: Collection[str]) -> bool:
        """Whether one of ``ids`` reached a final status after final generation ``since`` (or the
        record of it was dropped: then the caller must look)."""
        with self._cond:
            if self.final_generation == since:
                return False
            if not self._finals or self._finals[0][0] > since + 1:
                return True
            for gen, invocation_id in reversed(self._finals):
                if gen <= since:
                    return False
                if invocation_id in ids:
                    return True
            return False

    def close(self) -> None:
        """Stop the stream; the daemon thread ends within ``AWAIT_MS`` (not waited for: closing
        the client under it ends its wait at once)."""
        self._closed.set()
        with self._cond:
            self._cond.notify_all()
