"""Push-based waiting for final invocations: one inbox list per process.

A process that registers invocations gives them its inbox (``s:inbox:<token>``, stored in the
record); a process waiting on invocations it did not register adds its inbox to theirs
(``watch.lua``, which also says which are final already). Every final transition pushes the id to
those inboxes inside the transition script. A waiting thread pops the inbox itself, in batches
(BLMPOP): one of the threads waiting at a time is the reader, and it tells the others what it
popped. A burst of results thus costs one reply, not one message each as pub/sub did; a lone
waiter learns of its result in the thread that asked, with no hop through a listener thread; and
nothing is lost while nobody waits: the list keeps it for the next reader.

An ending this process stores itself and tells its own waiters of (``stored_final``) pushes no
note to its own inbox: a reader of this process would only pop it to learn nothing. When such an
ending is what the reader itself waits on, it is woken by a bare ``WAKE`` item instead.

Waiting threads register the ids they wait on *before* checking the store, so an id announced
during the check is never missed. Only a popped batch whose reply is lost with the connection (or
an interrupted pop) can vanish; that starts a new generation, and waiters check the store again.
Ids seen final are remembered (bounded), so a later wait on them needs no round trip.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence

from pynenc_nb.backends.redis.bounded import Bounded
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.exceptions import BackendError
from pynenc_nb.records import new_id

log = logging.getLogger("pynenc.backends.redis")
KNOWN_FINAL_CAP = 20_000
NOTES_CAP = 4096  # final notes kept for a waiter to read (they hold results), oldest dropped first
NOTES_BYTES = 32 * 1024 * 1024  # and at most this much of their results
FALLBACK_RECHECK_S = 0.2  # store re-check interval while pops fail
READ_TICK_S = 0.5  # longest block of one BLMPOP (how often a reader looks at the stop flag)
POP_BATCH = 1000  # ids per BLMPOP
# While many ids are awaited, a reader lets results gather for this long after a small pop: a
# burst then costs the server one reply per batch instead of one per result.
GATHER_S = 0.002
GATHER_ABOVE = 64  # awaited ids from which readers gather
INBOX_TTL_S = 86400  # as lib.lua's: an inbox nobody pops expires
BACKOFF_S = (0.05, 2.0)  # first and longest pause after a failed pop
WAKE = "w"  # an inbox item that is no note: it only ends a reader's pop


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
        self._notes: Bounded[str, list[str]] = Bounded(NOTES_CAP, NOTES_BYTES, lambda note: len(note[7]))
        self._ready = True  # pops work (what reaches the inbox before the first pop waits there)
        self._generation = 0
        self._reading = False  # a waiting thread is popping the inbox for all
        self._reader: Watch | None = None  # that thread's own watch
        self._backoff_s = BACKOFF_S[0]
        self._retry_at = 0.0  # after a failed pop: no reader before this time
        self._last_pop = (0.0, POP_BATCH)  # when the last pop returned, and how many notes
        self._stop = threading.Event()
        self._blmpop = True  # until the server says it has no BLMPOP
        self.token = new_id()  # names this process's inbox

    @property
    def inbox(self) -> str:
        """This process's inbox token, stored with the invocations it registers."""
        self._check_fork()
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
        """The current generation (None while pops fail: nothing is vouched for then)."""
        self._check_fork()
        with self._cond:
            return self._generation if self._ready else None

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
        self._check_fork()
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
        """Ids of ``watch`` announced final; empty after the timeout or when the store must be
        re-checked. The caller becomes the reader when no other waiting thread is."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            read = False
            try:
                while not watch.hits:
                    if watch.generation != self._generation:
                        watch.generation = self._generation
                        return set()
                    now = time.monotonic()
                    remaining = deadline - now
                    if remaining <= 0:
                        return set()
                    if self._stop.is_set() or (not self._ready and now < self._retry_at):
                        # closed, or pops fail: the caller re-checks the store now and then
                        self._cond.wait(min(remaining, FALLBACK_RECHECK_S))
                        return set(watch.hits)
                    if self._reading:
                        self._cond.wait(remaining)
                        continue
                    read = True
                    self._reader = watch
                    self._read(min(remaining, READ_TICK_S))
                return set(watch.hits)
            finally:
                if read:  # the reader leaves: another waiting thread takes its place
                    self._reader = None
                    self._cond.notify_all()

    def _read(self, block_s: float) -> None:
        """Pop the inbox once, as the reader, and announce what came (called holding the lock).

        A failed or interrupted pop may have lost a batch, so it starts a new generation.
        """
        self._reading = True
        gather_s = 0.0
        last_at, last_count = self._last_pop
        if last_count < POP_BATCH and len(self._watching) > GATHER_ABOVE:
            gather_s = max(0.0, last_at + GATHER_S - time.monotonic())
        self._cond.release()
        notes: list[str] = []
        failed: BaseException | None = None
        try:
            if gather_s:
                self._stop.wait(gather_s)
            notes = self._pop(f"{self.conn.keys.prefix}s:inbox:{self.token}", max(block_s, 0.001))
        except BaseException as exc:  # noqa: BLE001 - re-raised below when it is not an error
            failed = exc
        finally:
            self._cond.acquire()
            self._reading = False
        if failed is None:
            self._last_pop = (time.monotonic(), len(notes))
            if not self._ready:
                self._ready, self._backoff_s = True, BACKOFF_S[0]
            if notes:
                self._announce(notes)
            return
        self._generation += 1
        if not isinstance(failed, Exception):
            raise failed  # KeyboardInterrupt in a notebook: the new generation re-checks the store
        log.debug("final-status inbox read failed: %s", type(failed).__name__)
        self._ready = False
        self._retry_at = time.monotonic() + self._backoff_s
        self._backoff_s = min(self._backoff_s * 2, BACKOFF_S[1])

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's inbox is not ours
            self._reset()

    def _pop(self, key: str, block_s: float) -> list[str]:
        """The next batch of notes, after blocking up to ``block_s`` for the first one.

        Never resent: a resent pop after a lost reply would hide that notes were popped. Redis 7
        pops a batch with one BLMPOP; Redis 6.2 (no BLMPOP) with BLPOP + LPOP count.
        """
        if self._blmpop:
            try:
                reply = self.conn.command("BLMPOP", block_s, 1, key, "LEFT", "COUNT", POP_BATCH, retries=0)
                return list(reply[1]) if reply else []
            except BackendError as exc:
                if "unknown command" not in str(exc).lower():
                    raise
                log.info("this Redis has no BLMPOP (before 7.0): results are popped with BLPOP + LPOP")
                self._blmpop = False
        first = self.conn.command("BLPOP", key, block_s, retries=0)
        if not first:
            return []
        return [first[1], *(self.conn.command("LPOP", key, POP_BATCH - 1, retries=0) or [])]

    def take_notes(self, invocation_ids: Sequence[str]) -> dict[str, list[str]]:
        """The notes announced for these ids (mutable values and outcome), each handed out once."""
        with self._cond:
            notes = self._notes
            return {i: note for i in invocation_ids if (note := notes.pop(i)) is not None} if notes else {}

    def stored_final(self, note: list[str]) -> None:
        """A final status this process stored itself (an ending it applied, whose script pushed
        no note to our inbox), taken as if popped: a thread of this process about to wait on it
        (a parent that ran its child inline) then needs no round trip to learn it, nor to read its
        result. A reader blocked in its pop for it is woken with a ``WAKE`` item."""
        self._check_fork()
        with self._cond:
            self._announce_notes([note])
            reader = self._reader
            wake = self._reading and reader is not None and note[0] in reader.hits
        if wake:
            self._wake_reader()

    def store_failed(self) -> None:
        """A script that may store final changes without a note to our inbox failed with no
        reply: it may still have applied them, so waiters check the store again (a new
        generation) instead of waiting for notes that will not come."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
            reading = self._reading
        if reading:  # the reader too, if the server is reachable (else its pop fails as well)
            self._wake_reader()

    def _wake_reader(self) -> None:
        key = f"{self.conn.keys.prefix}s:inbox:{self.token}"
        try:
            self.conn.commands([("RPUSH", key, WAKE), ("EXPIRE", key, INBOX_TTL_S)])
        except BackendError as exc:  # the reader's pop ends within READ_TICK_S anyway
            log.debug("could not wake the inbox reader: %s", exc)

    def _announce(self, items: Sequence[str]) -> None:
        """Record popped notes and wake the waiters they concern (called holding the lock)."""
        self._announce_notes([json.loads(item) for item in items if item != WAKE])

    def _announce_notes(self, items: Iterable[list[str]]) -> None:
        known, verified, watching, notes = self._known, self._verified, self._watching, self._notes
        woken = False
        for note in items:
            invocation_id = note[0]
            known[invocation_id] = None
            awaited = verified.pop(invocation_id, None) is not None
            watchers = watching.get(invocation_id)
            if watchers or awaited:  # registered or watched here: likely to be read soon
                notes.put(invocation_id, note)
            if watchers:
                woken = True
                for watch in watchers:
                    watch.hits.add(invocation_id)
        while len(known) > KNOWN_FINAL_CAP:
            known.popitem(last=False)
        if woken:
            self._cond.notify_all()

    def close(self) -> None:
        """No more waiting here: a thread reading sees the flag within ``READ_TICK_S``, and the
        inbox goes (notes of invocations that end later would only wait there for its expiry)."""
        if self._pid != os.getpid():
            return
        self._stop.set()
        try:
            self.conn.command("DEL", f"{self.conn.keys.prefix}s:inbox:{self.token}", retries=0)
        except BackendError as exc:  # it expires on its own
            log.debug("could not delete the inbox: %s", exc)
