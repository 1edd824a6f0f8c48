"""The Redis backend object: hands out the ports and takes work in one round trip.

``take_and_start`` keeps, per thread, the worker state the scripts need (its idle-set entry and
hand-off list), so a worker of one queue is handed its next call already started by ``register.lua``.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from pynenc_nb.backends.redis.broker import RedisBroker
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.backends.redis.invocations import frame_args, request_args
from pynenc_nb.backends.redis.keys import HAND_MARK
from pynenc_nb.backends.redis.state import RedisState
from pynenc_nb.backends.redis.triggers import RedisArgCache, RedisTriggerStore
from pynenc_nb.exceptions import BackendError, BackendUnavailableError
from pynenc_nb.records import InvocationRecord, TakenStart, TransitionRequest, TransitionResult, new_id
from pynenc_nb.status import InvocationStatus

IDLE_GRACE_S = 1.0  # a blocked worker stays in the idle set this long past its block's end


@dataclass
class _Worker:
    """A thread taking for a runner: its name in ``b:took`` and ``b:hand``, and what the server
    may hold for it."""

    runner_id: str
    queues: tuple[str, ...]
    name: str
    queue: str | None  # its only queue: a worker of several queues is never handed calls
    member: str = ""  # its idle-set entry: the name and its claim and start frames
    offered: bool = False  # its last take found the queue empty and put it in the idle set
    lost: bool = False  # a blocking pop failed after an offer: a hand-off's reply may be lost
    idle_likely: bool = False  # its last take found nothing, or it was handed its last call
    # its (claim, start) templates, from the runner's plan: only their times change between takes
    plan: tuple[TransitionRequest, TransitionRequest] | None = None
    takes: Iterator[int] = field(default_factory=itertools.count)  # names each take, with the serial
    serial: str = field(default_factory=new_id)


class RedisBackend:
    serves_other_processes = True

    def __init__(self, url: str, app_id: str) -> None:
        self.app_id = app_id
        self.conn = Connection(url, app_id)
        self._state = RedisState(self.conn)
        self._broker = RedisBroker(self.conn)
        self._triggers = RedisTriggerStore(self.conn)
        self._cache = RedisArgCache(self.conn)
        self._local = threading.local()  # this thread's _Worker

    def __repr__(self) -> str:
        return f"<RedisBackend {self.conn.url} app={self.app_id}>"

    @property
    def url(self) -> str:
        """The URL with any password redacted."""
        return self.conn.url

    def state(self) -> RedisState:
        return self._state

    def broker(self) -> RedisBroker:
        return self._broker

    def trigger_store(self) -> RedisTriggerStore:
        return self._triggers

    def arg_cache(self) -> RedisArgCache:
        return self._cache

    def register_and_send(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
    ) -> list[InvocationRecord]:
        """Store and queue in one script (``register.lua``): one round trip per chunk of calls."""
        return self._state.register(records, registered_by, reuse_statuses, send=True)

    def take_and_start(
        self,
        queues: Sequence[str],
        runner_id: str,
        plan: Callable[[], tuple[TransitionRequest, TransitionRequest]],
        timeout_s: float,
        endings: Sequence[TransitionRequest] = (),
        batch: int = 0,
        batch_tasks: Sequence[str] = (),
    ) -> tuple[list[TransitionResult | None], list[TakenStart]]:
        """End, receive, claim, ack and start in one script (``take_start.lua``): one round trip.

        A worker of one queue that finds it empty stays in the queue's idle set while it blocks:
        ``register.lua`` then hands it the next call already started (its ``b:hand`` list, which
        it blocks on with the wake-up lists), and the take script is not needed at all.
        """
        state = self._state
        ending_args: list[str] = []
        statics: list[InvocationRecord | None] = []
        for ending in endings:
            if ending.outcome is None:
                raise ValueError("an ending sent with a take carries its outcome")
            static = state.cached_static(ending.change.invocation_id)
            statics.append(static)
            ending_args += [ending.change.invocation_id, "0" if static is not None else "1", *request_args(ending)]
        ended: list[TransitionResult | None] = []
        worker = self._worker(runner_id, queues)
        batch_args = [str(batch if batch_tasks else 0), str(len(batch_tasks)), *batch_tasks]

        if worker.plan is None:
            worker.plan = plan()
            if worker.queue:
                frames = [frame_args(worker.plan[0]), frame_args(worker.plan[1], own_running_key=True)]
                worker.member = f"{worker.name}\n{json.dumps(frames)}"
        claim, start = worker.plan

        hand_key = self.conn.keys.hand(worker.name)

        def send(then_block_s: float | None = None) -> tuple[Any, Any]:
            """The take script; with ``then_block_s``, the worker's blocking pop in the same write."""
            now = time.time()  # the time of this attempt, for the claim and the start
            mode = "r" if worker.lost else "u" if worker.offered else ""
            offer = worker.queue is not None and timeout_s > 0
            until = repr(now + min(timeout_s, self.conn.max_block_s) + IDLE_GRACE_S) if offer else ""
            args = [
                self.conn.keys.prefix,
                "1",
                *request_args(claim, at_s=now),
                *request_args(start, own_running_key=True, at_s=now),
                # names this take: a resent script returns what it took instead of taking again
                f"{worker.serial}.{next(worker.takes)}",
                worker.name,
                mode if then_block_s is None else f"{mode}p",
                worker.member,
                until,
                *batch_args,
                str(len(ending_args) // 16),
                *ending_args,
                *queues,
            ]
            if then_block_s is None:
                return self.conn.eval("take_start", [], args), None
            pop = ("BLPOP", hand_key, *[self.conn.keys.wake(q) for q in queues], then_block_s)
            # the unblocking push goes over a pooled connection: this thread's own waits on the pop
            unblock = lambda: self.conn.run(lambda c: c.rpush(hand_key, HAND_MARK))  # noqa: E731
            return self.conn.eval_then("take_start", args, pop, unblock)

        def received(reply: Any) -> list[TakenStart] | None:
            nonlocal ending_args
            reply_endings, taken = reply
            worker.lost = False
            worker.offered = worker.queue is not None and timeout_s > 0 and not taken
            worker.idle_likely = not taken
            if ending_args:
                ending_args = []  # stored: later attempts of this take do not carry them again
                for static, stored in zip(statics, reply_endings, strict=True):
                    if not stored:
                        ended.append(None)  # purged while it ran
                        continue
                    result, values, full = stored
                    ended.append(state.reply_result(result, values, full, static))
            if not taken:
                return None
            return [self._taken(*item) for item in taken]

        def attempt() -> list[TakenStart] | None:
            return received(send()[0])

        def handed(item: str) -> list[TakenStart] | None:
            if item == HAND_MARK:
                return None  # a wake-up left by a pipelined take, no invocation
            worker.offered = False  # register.lua took this worker out of the idle set
            worker.idle_likely = True
            invocation_id, values, fields = json.loads(item)
            return [self._taken(invocation_id, "start", "applied", values, fields)]

        hand = (hand_key, handed) if worker.queue is not None else None
        try:
            # Endings are stored now, whatever the queues hold: never behind a blocking wait. After
            # a failed pop, what may have been handed over is looked for before blocking again.
            taken: list[TakenStart] | None = None
            if endings and hand is not None and timeout_s > 0 and worker.idle_likely and not worker.lost:
                # Most likely the queue is empty again (calls come one at a time): the take and the
                # blocking pop that follows it go in one write (the take unblocks the pop when it
                # does find work), saving the worker a send and the server a wake-up per call.
                try:
                    reply, popped = send(max(0.01, min(timeout_s, self.conn.max_block_s)))
                except BackendError as exc:
                    worker.lost = True  # the pop may have taken a hand-off: the next take looks for it
                    if isinstance(exc, BackendUnavailableError):
                        raise
                    # the script failed (NOSCRIPT after a flush: reloaded): the plain take below
                else:
                    taken = self._broker.attempt(queues, runner_id, lambda: received(reply))
                    more = handed(popped[1]) if popped is not None and popped[0] == hand_key else None
                    if taken is not None or more is not None:
                        return ended, [*(taken or []), *(more or [])]
                    if popped is None:
                        return ended, []  # the block timed out: the caller's next take starts with a take
                    # a wake-up token (something was queued) or a stale marker: take, then block
            if endings or worker.lost:
                taken = self._broker.attempt(queues, runner_id, attempt)
                if taken is not None or timeout_s <= 0:
                    return ended, taken or []
            taken = self._broker.wait_for(queues, runner_id, timeout_s, attempt, hand)
            return ended, taken or []
        except BackendUnavailableError:
            worker.lost = worker.lost or worker.offered  # the pop of a hand-off may be lost with its reply
            raise

    def _taken(self, invocation_id: str, step: str, result: str, values: Sequence[str], full: Any) -> TakenStart:
        if result == "missing":
            return TakenStart(invocation_id, None)
        outcome = self._state.reply_result(result, values, full)
        if step == "claim":
            return TakenStart(invocation_id, outcome)
        record = outcome.record
        pending = (
            record
            if not outcome.applied
            else record.with_status(InvocationStatus.PENDING, record.owner_id, record.updated_at)
        )
        return TakenStart(invocation_id, TransitionResult(True, pending), outcome)

    def _workers(self) -> dict[tuple[str, tuple[str, ...]], _Worker]:
        """This thread's workers, one per runner and queues it takes for (usually one)."""
        workers: dict[tuple[str, tuple[str, ...]], _Worker] | None = getattr(self._local, "workers", None)
        if workers is None:
            workers = self._local.workers = {}
        return workers

    def _worker(self, runner_id: str, queues: Sequence[str]) -> _Worker:
        workers = self._workers()
        worker = workers.get((runner_id, tuple(queues)))
        if worker is None:
            name = f"{runner_id}:{os.getpid()}:{threading.get_native_id()}:{len(workers)}"
            worker = _Worker(runner_id, tuple(queues), name, queues[0] if len(queues) == 1 else None)
            workers[(runner_id, tuple(queues))] = worker
        return worker

    def withdraw(self, runner_id: str) -> list[str]:
        """This thread takes no more for ``runner_id``: leave the idle set, and return the ids
        handed to it and not taken (started for it), for the runner to give back."""
        workers = self._workers()
        given_back: list[str] = []
        for key in [k for k in workers if k[0] == runner_id]:
            worker = workers.pop(key)
            args = [self.conn.keys.prefix, worker.name, worker.member, worker.queue or "", runner_id]
            given_back += self.conn.eval("leave", [], [*args, "1" if worker.lost else "0"])
        return given_back

    def atomic(self) -> AbstractContextManager[object]:
        """Not a transaction: every operation is atomic on its own. Inside, acks ride along with
        the next script of the thread, saving a round trip on the claim + ack + start path."""
        return self.conn.group()

    def purge(self) -> None:
        """Delete every key of this app, whatever port wrote it."""
        self.conn.delete_prefix(self.conn.keys.prefix)

    def close(self) -> None:
        self._state.close()
        self.conn.close()
