"""Push-based waiting for final invocations: one inbox list per process.

A process that registers invocations gives them its inbox (``s:inbox:<token>``, stored in the
record); a process waiting on invocations it did not register adds its inbox to theirs
(``watch.lua``, which also says which are final already). Every final transition pushes the id to
those inboxes inside the transition script. One listener thread per process pops its inbox in
batches (BLMPOP), so a burst of results costs one reply, not one message each as pub/sub did, and
nothing is lost while nobody listens: the list keeps it.

Waiting threads register the ids they wait on *before* checking the store, so an id announced
during the check is never missed. Only a popped batch whose reply is lost with the connection can
vanish; the listener then starts a new generation and waiters check the store again. Ids seen
final are remembered (bounded), so a later wait on them needs no round trip.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.exceptions import BackendError
from pynenc_nb.records import new_id

log = logging.getLogger("pynenc.backends.redis")
KNOWN_FINAL_CAP = 20_000
NOTES_CAP = 4096  # final notes kept for a waiter to read (they hold results), oldest dropped first
FALLBACK_RECHECK_S = 0.2  # store re-check interval while the listener is down
LISTEN_TICK_S = 0.5  # longest block of the listener's BLMPOP (how often it looks at its stop flag)
POP_BATCH = 1000  # ids per BLMPOP
# While many ids are awaited, the listener lets results gather for this long between pops: a
# burst then costs the server one reply per batch instead of one per result.
GATHER_S = 0.002
GATHER_ABOVE = 64  # awaited ids from which the listener gathers


class Watch:
    """The ids one waiting thread waits on, and those announced final since it registered."""

    __slots__ = ("ids", "hits", "generation")

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = ids
        self.hits: set[str] = set()
        self.generation = 0


class FinalWatcher:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._watching: dict[str, set[Watch]] = {}
        self._known: OrderedDict[str, None] = OrderedDict()
        # id -> generation in which it was known not final with our inbox attached (registered
        # here, or watched): its becoming final will reach the inbox, so waiting again needs no
        # store check while the generation lasts.
        self._verified: dict[str, int] = {}
        # id -> its final note ([id, status, owner, retries, recov, updated, kind, payload, display]),
        # for a waiter about to read it: ``settled`` then needs no round trip
        self._notes: dict[str, list[str]] = {}
        self._ready = False
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._blmpop = True  # until the server says it has no BLMPOP
        self.token = new_id()  # names this process's inbox

    @property
    def inbox(self) -> str:
        """This process's inbox token, stored with the invocations it registers."""
        if self._pid != os.getpid():  # forked: the parent's inbox and listener are not ours
            self._reset()
        return self.token

    def known_final(self, ids: Sequence[str]) -> set[str]:
        with self._cond:
            known = self._known
            return {i for i in ids if i in known} if known else set()

    def forget(self) -> None:
        """After a purge: the ids seen are gone from the store."""
        with self._cond:
            self._known.clear()
            self._verified.clear()
            self._notes.clear()

    def ready_generation(self) -> int | None:
        """The listener's generation, started if needed (None when it is down)."""
        self._ensure_listening()
        with self._cond:
            return self._generation if self._ready and self._pid == os.getpid() else None

    def registered(self, invocation_ids: Sequence[str], generation: int) -> None:
        """New invocations stored with our inbox in ``generation``: their final status will be announced."""
        with self._cond:
            if not self._ready or generation != self._generation:
                return
            known, verified = self._known, self._verified
            if len(verified) + len(invocation_ids) > KNOWN_FINAL_CAP * 5:
                verified.clear()  # bounded: a forgotten id is only checked in the store again
            for invocation_id in invocation_ids:
                if invocation_id not in known:
                    verified[invocation_id] = generation

    def unverified(self, watch: Watch) -> list[str]:
        """Ids of ``watch`` whose status must be read from the store before waiting."""
        with self._cond:
            if not self._ready or watch.generation != self._generation:
                return list(watch.ids)
            verified, generation = self._verified, self._generation
            return [i for i in watch.ids if verified.get(i) != generation]

    def verified(self, watch: Watch, not_final: list[str]) -> None:
        """The store said ``not_final`` are not final, as read after ``watch`` was registered."""
        with self._cond:
            if not self._ready or watch.generation != self._generation:
                return
            if len(self._verified) + len(not_final) > KNOWN_FINAL_CAP * 5:
                self._verified.clear()
            hits = watch.hits
            for invocation_id in not_final:
                if invocation_id not in hits:
                    self._verified[invocation_id] = watch.generation

    @contextlib.contextmanager
    def watch(self, ids: Sequence[str]) -> Iterator[Watch]:
        self._ensure_listening()
        watch = Watch(ids)
        with self._cond:
            watch.generation = self._generation
            for invocation_id in ids:
                self._watching.setdefault(invocation_id, set()).add(watch)
        try:
            yield watch
        finally:
            with self._cond:
                for invocation_id in ids:
                    watchers = self._watching.get(invocation_id)
                    if watchers is not None:
                        watchers.discard(watch)
                        if not watchers:
                            del self._watching[invocation_id]

    def wait(self, watch: Watch, timeout_s: float) -> set[str]:
        """Ids of ``watch`` announced final; empty after the timeout or when the store must be re-checked."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not watch.hits:
                if watch.generation != self._generation:
                    watch.generation = self._generation
                    return set()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return set()
                if not self._ready:  # listener down: the caller re-checks the store now and then
                    self._cond.wait(min(remaining, FALLBACK_RECHECK_S))
                    return set(watch.hits)
                self._cond.wait(remaining)
            return set(watch.hits)

    # --- the listener ----------------------------------------------------------------------------

    def _ensure_listening(self) -> None:
        if self._pid != os.getpid():
            self._reset()
        with self._cond:
            if self._thread is None:
                # Ready at once: what reaches the inbox before the first pop waits there for it.
                self._ready = True
                self._generation += 1
                self._thread = threading.Thread(target=self._listen, name="pynenc-redis-final", daemon=True)
                self._thread.start()

    def _awaited(self) -> int:
        with self._cond:
            return len(self._watching)

    def _listen(self) -> None:
        backoff = 0.05
        key = f"{self.conn.keys.prefix}s:inbox:{self.token}"
        while not self._stop.is_set():
            try:
                notes = self._pop(key)
            except Exception as exc:  # a popped batch may be lost: waiters check the store again
                log.debug("final-status inbox read failed: %s", type(exc).__name__)
                with self._cond:
                    self._ready = False
                    self._generation += 1
                    self._cond.notify_all()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if backoff > 0.05 or not self._ready:
                backoff = 0.05
                with self._cond:
                    self._ready = True
                    self._generation += 1
                    self._cond.notify_all()
            if notes:
                self._announce(notes)
                if len(notes) < POP_BATCH and self._awaited() > GATHER_ABOVE:
                    self._stop.wait(GATHER_S)

    def _pop(self, key: str) -> list[str]:
        """The next batch of notes, after blocking up to ``LISTEN_TICK_S`` for the first one.

        Never resent: a resent pop after a lost reply would hide that notes were popped. Redis 7
        pops a batch with one BLMPOP; Redis 6.2 (no BLMPOP) with BLPOP + LPOP count.
        """
        if self._blmpop:
            try:
                reply = self.conn.command("BLMPOP", LISTEN_TICK_S, 1, key, "LEFT", "COUNT", POP_BATCH, retries=0)
                return list(reply[1]) if reply else []
            except BackendError as exc:
                if "unknown command" not in str(exc).lower():
                    raise
                log.info("this Redis has no BLMPOP (before 7.0): results are popped with BLPOP + LPOP")
                self._blmpop = False
        first = self.conn.command("BLPOP", key, LISTEN_TICK_S, retries=0)
        if not first:
            return []
        return [first[1], *(self.conn.command("LPOP", key, POP_BATCH - 1, retries=0) or [])]

    def take_notes(self, invocation_ids: Sequence[str]) -> dict[str, list[str]]:
        """The notes announced for these ids (mutable values and outcome), each handed out once."""
        with self._cond:
            notes = self._notes
            return {i: notes.pop(i) for i in invocation_ids if i in notes} if notes else {}

    def _announce(self, items: Sequence[str]) -> None:
        parsed = [json.loads(item) for item in items]
        with self._cond:
            known, verified, watching, notes = self._known, self._verified, self._watching, self._notes
            woken = False
            for note in parsed:
                invocation_id = note[0]
                known[invocation_id] = None
                awaited = verified.pop(invocation_id, None) is not None
                watchers = watching.get(invocation_id)
                if watchers or awaited:  # registered or watched here: likely to be read soon
                    notes[invocation_id] = note
                if watchers:
                    woken = True
                    for watch in watchers:
                        watch.hits.add(invocation_id)
            while len(notes) > NOTES_CAP:
                notes.pop(next(iter(notes)))
            while len(known) > KNOWN_FINAL_CAP:
                known.popitem(last=False)
            if woken:
                self._cond.notify_all()

    def close(self) -> None:
        if self._pid != os.getpid():
            return
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(LISTEN_TICK_S + 1.0)
