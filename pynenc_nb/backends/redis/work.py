"""The Redis work source: a worker's take in one round trip, hand-off to idle workers, batches.

One take is one script (``take_start.lua``): the worker's held endings are stored, the best waiting
message is taken and its invocation claimed and started, all in one server step. A worker of one
queue that finds it empty stays in the queue's idle set while it blocks: ``register.lua`` then
hands it the next call already started (its ``b:hand`` list, which it blocks on with the queue's
wake-up list), and no take script is needed at all. A worker that has seen a task run briefly
takes several of its calls at once, so a busy worker pays one round trip per batch.

Each source belongs to one worker thread: its state (idle-set entry, hand-off list, batch) is plain
attributes, and nothing is shared between threads.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynenc_nb.backends.redis.broker import RedisBroker
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.backends.redis.invocations import frame_args, request_args
from pynenc_nb.backends.redis.keys import HAND_MARK
from pynenc_nb.backends.redis.state import RedisState
from pynenc_nb.backends.work import store_endings
from pynenc_nb.exceptions import BackendError, BackendUnavailableError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.ports.work import TakeRules
from pynenc_nb.records import InvocationRecord, TransitionRequest, TransitionResult, new_id

IDLE_GRACE_S = 1.0  # a blocked worker stays in the idle set this long past its block's end
# Batches: a worker takes several calls at once of tasks whose last run here took under
# SHORT_TASK_S and that never waited on other invocations, about BATCH_BUDGET_S of work per batch
# and at most ``max_batch`` (config) calls.
SHORT_TASK_S = 0.001
BATCH_BUDGET_S = 0.002
_ENDING_ARGS = 16  # arguments per ending in take_start.lua
_sources = itertools.count()  # names the sources of one thread apart


@dataclass(frozen=True, slots=True)
class TakenStart:
    """What one take did to one invocation: ``claimed`` (-> PENDING), then ``started`` (-> RUNNING),
    None when the claim did not apply or the invocation was purged while queued."""

    invocation_id: str
    claimed: TransitionResult | None
    started: TransitionResult | None = None


@dataclass
class Take:
    """One take: the endings riding on it (sent with its first script only) and what it took."""

    ending_args: list[str]
    statics: list[InvocationRecord | None]
    timeout_s: float
    batch_args: list[str]
    ended: list[TransitionResult | None] = field(default_factory=list)
    stored: bool = False  # the endings are stored: later scripts of this take do not carry them
    nonce: str | None = None  # names the script in flight: the same until its reply is read


class RedisWorkSource:
    def __init__(
        self,
        conn: Connection,
        state: RedisState,
        broker: RedisBroker,
        rules: TakeRules,
        queues: Sequence[str],
        runner_id: str,
        max_batch: int,
    ) -> None:
        self.conn, self.state, self.broker, self.rules = conn, state, broker, rules
        self.queues = tuple(queues)
        self.runner_id = runner_id
        self.max_batch = max_batch
        # its name in b:took, b:hand and the idle set
        self.name = f"{runner_id}:{os.getpid()}:{threading.get_native_id()}:{next(_sources)}"
        self.queue = queues[0] if len(queues) == 1 else None  # a worker of several queues is never handed calls
        self.hand_key = conn.keys.hand(self.name)
        # the (claim, start) templates: only their times change between takes
        self.claim = rules.claim_request("", runner_id)
        self.start = rules.start_request("", runner_id, None)  # exclusive on each record's own key
        frames = [frame_args(self.claim), frame_args(self.start, own_running_key=True)]
        self.member = f"{self.name}\n{json.dumps(frames)}" if self.queue else ""  # its idle-set entry
        self.offered = False  # its last take found the queue empty and put it in the idle set
        self.lost = False  # a blocking pop failed after an offer: a hand-off's reply may be lost
        self.idle_likely = False  # its last take found nothing, or it was handed its last call
        self.serial = new_id()  # with a counter, names each take: a resent script returns what it took
        self.takes = itertools.count()
        self.endings: list[TransitionRequest] = []
        self.ahead: deque[InvocationRecord] = deque()  # started in a batch, not handed out yet
        self.current: InvocationRecord | None = None
        self.handed_at: dict[str, tuple[str, float]] = {}  # id -> task id, when handed out
        self.durations: dict[str, float] = {}  # task id -> seconds its last run here took
        self.waiting_tasks: set[str] = set()  # tasks seen waiting on other invocations: never batched
        # The nonce of a take script whose reply never came (the server went away for longer than
        # the connection's retries): the next take is sent under it, so that if the lost one ran,
        # the server hands back what it took (b:took) instead of leaving it started with nobody on it.
        self.unanswered: str | None = None

    # --- WorkSource --------------------------------------------------------------------------------

    def next(self, timeout_s: float) -> InvocationRecord | None:
        if not self.ahead:
            self.ahead.extend(self._take(timeout_s))
        if not self.ahead:
            self.current = None
            return None
        record = self.current = self.ahead.popleft()
        self.handed_at[record.invocation_id] = (record.task_id, time.perf_counter())
        return record

    def finish(self, ending: TransitionRequest) -> None:
        handed = self.handed_at.pop(ending.change.invocation_id, None)
        if handed is not None:
            self.durations[handed[0]] = time.perf_counter() - handed[1]
        self.endings.append(ending)

    def flush(self) -> None:
        if self.current is not None:
            self.waiting_tasks.add(self.current.task_id)
        while self.ahead:
            self._give_back(self.ahead.popleft(), "the task before it in its batch waits on other invocations")
        while self.endings:
            ((request, result),) = store_endings(self.state, self.endings[:1])
            self.endings.pop(0)  # one at a time: a failure keeps the rest for the next take
            self.rules.ended(request, result)

    def close(self) -> None:
        self.current = None
        self.flush()
        args = [self.conn.keys.prefix, self.name, self.member, self.queue or "", self.runner_id]
        for invocation_id in self.conn.eval("leave", [], [*args, "1" if self.lost else "0"]):
            self.rules.give_back(invocation_id, self.runner_id, "handed to a worker that stopped")

    def _give_back(self, record: InvocationRecord, reason: str) -> None:
        self.handed_at.pop(record.invocation_id, None)
        self.rules.give_back(record.invocation_id, self.runner_id, reason)

    # --- a take --------------------------------------------------------------------------------------

    def _take(self, timeout_s: float) -> list[InvocationRecord]:
        take = self._new_take(timeout_s)
        taken = self._run(take)
        for request, result in zip(self.endings, take.ended, strict=False):
            self.rules.ended(request, result)
        if take.stored:
            self.endings.clear()
        started = []
        for item in taken:
            if item.claimed is None or not item.claimed.applied or item.started is None:
                continue
            record = self.rules.started(item.claimed.record, item.started)
            if record is not None:
                started.append(record)
        return started

    def _new_take(self, timeout_s: float) -> Take:
        ending_args: list[str] = []
        statics: list[InvocationRecord | None] = []
        for ending in self.endings:
            if ending.outcome is None or ending.change.status.spec.queued:
                raise ValueError(f"an ending sent with a take is final and carries its outcome: {ending}")
            static = self.state.cached_static(ending.change.invocation_id)
            statics.append(static)
            ending_args += [ending.change.invocation_id, "0" if static is not None else "1", *request_args(ending)]
        batch, tasks = self._batch_plan()
        return Take(ending_args, statics, timeout_s, [str(batch if tasks else 0), str(len(tasks)), *tasks])

    def _batch_plan(self) -> tuple[int, list[str]]:
        """How many more calls a take may start at once, and of which (short) tasks."""
        short = [(t, d) for t, d in self.durations.items() if d < SHORT_TASK_S and t not in self.waiting_tasks]
        if not short or self.max_batch <= 0:
            return 0, []
        longest = max(d for _, d in short)
        return min(self.max_batch, int(BATCH_BUDGET_S / max(longest, 1e-5))), [t for t, _ in short]

    def _run(self, take: Take) -> list[TakenStart]:
        """Endings are stored now, whatever the queues hold: never behind a blocking wait. After a
        failed pop, what may have been handed over is looked for before blocking again."""
        hand = (self.hand_key, self._handed) if self.queue is not None else None
        try:
            if take.ending_args and hand is not None and take.timeout_s > 0 and self.idle_likely and not self.lost:
                taken = self._take_then_block(take)
                if taken is not None:
                    return taken
            attempt: Callable[[], list[TakenStart] | None] = lambda: self._received(take, self._send(take)[0])  # noqa: E731
            if take.ending_args or self.lost:
                taken_now = self.broker.attempt(self.queues, self.runner_id, attempt)
                if taken_now is not None or take.timeout_s <= 0:
                    return taken_now or []
            return self.broker.wait_for(self.queues, self.runner_id, take.timeout_s, attempt, hand) or []
        except BackendUnavailableError:
            self.lost = self.lost or self.offered  # the pop of a hand-off may be lost with its reply
            self.unanswered = take.nonce or self.unanswered
            raise

    def _take_then_block(self, take: Take) -> list[TakenStart] | None:
        """Most likely the queue is empty again (calls come one at a time): the take and the
        blocking pop that follows it go in one write (the take unblocks the pop when it does find
        work), saving the worker a send and the server a wake-up per call. None: take, then block."""
        try:
            reply, popped = self._send(take, max(0.01, min(take.timeout_s, self.conn.max_block_s)))
        except BackendError as exc:
            self.lost = True  # the pop may have taken a hand-off: the next take looks for it
            if isinstance(exc, BackendUnavailableError):
                raise
            return None  # the script failed (NOSCRIPT after a flush: reloaded): the plain take
        taken = self.broker.attempt(self.queues, self.runner_id, lambda: self._received(take, reply))
        more = self._handed(popped[1]) if popped is not None and popped[0] == self.hand_key else None
        if taken is not None or more is not None:
            return [*(taken or []), *(more or [])]
        if popped is None:
            return []  # the block timed out: the next take starts with a take
        return None  # a wake-up token (something was queued) or a stale marker: take, then block

    def _send(self, take: Take, then_block_s: float | None = None) -> tuple[Any, Any]:
        """The take script; with ``then_block_s``, the worker's blocking pop in the same write."""
        now = time.time()  # the time of this attempt, for the claim and the start
        if take.nonce is None:
            take.nonce = self.unanswered or f"{self.serial}.{next(self.takes)}"
        mode = "r" if self.lost else "u" if self.offered else ""
        offer = self.queue is not None and take.timeout_s > 0
        until = repr(now + min(take.timeout_s, self.conn.max_block_s) + IDLE_GRACE_S) if offer else ""
        ending_args = [] if take.stored else take.ending_args
        args = [
            self.conn.keys.prefix,
            "1",
            *request_args(self.claim, at_s=now),
            *request_args(self.start, own_running_key=True, at_s=now),
            take.nonce,
            self.name,
            mode if then_block_s is None else f"{mode}p",
            self.member,
            until,
            *take.batch_args,
            str(len(ending_args) // _ENDING_ARGS),
            *ending_args,
            *self.queues,
        ]
        if then_block_s is None:
            return self.conn.eval("take_start", [], args), None
        pop = ("BLPOP", self.hand_key, *[self.conn.keys.wake(q) for q in self.queues], then_block_s)
        # the unblocking push goes over a pooled connection: this thread's own waits on the pop
        hand_key = self.hand_key
        unblock = lambda: self.conn.run(lambda c: c.rpush(hand_key, HAND_MARK))  # noqa: E731
        return self.conn.eval_then("take_start", args, pop, unblock)

    def _received(self, take: Take, reply: Any) -> list[TakenStart] | None:
        reply_endings, taken = reply
        self.lost = False
        take.nonce = self.unanswered = None  # answered: the next script of this take is a new one
        self.offered = self.queue is not None and take.timeout_s > 0 and not taken
        self.idle_likely = not taken
        if take.ending_args and not take.stored:
            take.stored = True
            for static, stored in zip(take.statics, reply_endings, strict=True):
                if not stored:
                    take.ended.append(None)  # purged while it ran
                    continue
                result, values, full = stored
                take.ended.append(self.state.reply_result(result, values, full, static))
        if not taken:
            return None
        return [self._taken(*item) for item in taken]

    def _handed(self, item: str) -> list[TakenStart] | None:
        if item == HAND_MARK:
            return None  # a wake-up left by a pipelined take, no invocation
        self.offered = False  # register.lua took this worker out of the idle set
        self.idle_likely = True
        invocation_id, values, fields = json.loads(item)
        return [self._taken(invocation_id, "start", "applied", values, fields)]

    def _taken(self, invocation_id: str, step: str, result: str, values: Sequence[str], full: Any) -> TakenStart:
        if result == "missing":
            return TakenStart(invocation_id, None)
        outcome = self.state.reply_result(result, values, full)
        if step == "claim":
            return TakenStart(invocation_id, outcome)
        record = outcome.record
        pending = (
            record
            if not outcome.applied
            else record.with_status(InvocationStatus.PENDING, record.owner_id, record.updated_at)
        )
        return TakenStart(invocation_id, TransitionResult(True, pending), outcome)
