"""Push-based waiting for final invocations: one pub/sub subscription per process.

Every final transition publishes the invocation id on the app's ``final`` channel (inside the
transition script). The first ``wait_final`` of a process starts a listener thread subscribed to
that channel; waiting threads register the ids they wait on *before* checking the store, so a
notification that arrives during the check is never lost. Whenever the subscription is
(re)established the waiters are woken to check the store again (messages sent while it was down
are gone). Ids seen final are remembered (bounded), so a later wait on them needs no round trip.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from pynenc_nb.backends.redis.connection import Connection

log = logging.getLogger("pynenc.backends.redis")
KNOWN_FINAL_CAP = 20_000
SUBSCRIBE_WAIT_S = 2.0  # how long a first waiter waits for the subscription before falling back
FALLBACK_RECHECK_S = 0.2  # store re-check interval while no subscription is up
LISTEN_TICK_S = 0.25  # how often the listener looks at its stop flag (no server traffic)


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
        # id -> generation in which the store said it was not final: while the subscription stays
        # up, its becoming final will be announced, so waiting again needs no store check.
        self._verified: dict[str, int] = {}
        self._ready = False
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._pubsub: Any = None  # the live subscription (tests drop its connection)
        self._stop = threading.Event()

    def known_final(self, ids: Sequence[str]) -> set[str]:
        with self._cond:
            known = self._known
            return {i for i in ids if i in known} if known else set()

    def forget(self) -> None:
        """After a purge: the ids seen are gone from the store."""
        with self._cond:
            self._known.clear()
            self._verified.clear()

    def ready_generation(self) -> int | None:
        """The subscription's generation if it is up (and this process's), else None."""
        with self._cond:
            return self._generation if self._ready and self._pid == os.getpid() else None

    def registered(self, invocation_ids: Sequence[str], generation: int) -> None:
        """New invocations stored while the subscription was up: their final status will be announced."""
        with self._cond:
            if not self._ready or generation != self._generation:
                return
            known, verified = self._known, self._verified
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
                if not self._ready:  # no subscription: the caller re-checks the store now and then
                    self._cond.wait(min(remaining, FALLBACK_RECHECK_S))
                    return set(watch.hits)
                self._cond.wait(remaining)
            return set(watch.hits)

    # --- the listener ----------------------------------------------------------------------------

    def _ensure_listening(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's thread and subscription are not ours
            self._reset()
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="pynenc-redis-final", daemon=True)
                self._thread.start()
                # Only the first wait gives the subscription time to come up; later ones never
                # stall on a subscription that is down (they re-check the store meanwhile).
                self._cond.wait_for(lambda: self._ready, SUBSCRIBE_WAIT_S)

    def _listen(self) -> None:
        backoff = 0.05
        channel = self.conn.keys.final_channel
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self._pubsub = self.conn.client.pubsub()
                pubsub.subscribe(channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=LISTEN_TICK_S)
                    if message is None:
                        continue
                    if message["type"] == "message":
                        self._announce(message["data"])
                    elif message["type"] == "subscribe":
                        backoff = 0.05
                        with self._cond:
                            self._ready = True
                            self._generation += 1
                            self._cond.notify_all()
            except Exception as exc:  # connection lost: waiters re-check the store until we are back
                log.debug("final-status subscription lost: %s", type(exc).__name__)
            finally:
                with self._cond:
                    self._ready = False
                    self._generation += 1
                    self._cond.notify_all()
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        pubsub.close()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 2.0)

    def _announce(self, invocation_id: str) -> None:
        with self._cond:
            known = self._known
            known[invocation_id] = None
            self._verified.pop(invocation_id, None)
            if len(known) > KNOWN_FINAL_CAP:
                known.popitem(last=False)
            watchers = self._watching.get(invocation_id)
            if watchers:
                for watch in watchers:
                    watch.hits.add(invocation_id)
                self._cond.notify_all()

    def close(self) -> None:
        if self._pid != os.getpid():
            return
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(LISTEN_TICK_S + 1.0)
