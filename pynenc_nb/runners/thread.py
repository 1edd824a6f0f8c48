"""ThreadRunner: ``max_threads`` worker threads, each taking and running one invocation at a time.

Every worker runs the whole loop itself (receive, claim, execute): there is no dispatcher thread
to hand work over. When a task waits on other invocations its worker is PAUSED and stops counting:
another worker starts so the runner keeps ``max_threads`` busy, and surplus workers retire once the
paused ones resume. So nested ``.result`` calls never deadlock, even with one thread.

On a backend that can (Redis), a worker's take may start a batch of calls of tasks it has seen run
briefly: they run here in turn and their endings go with the next take, one round trip per batch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from pynenc_nb import context
from pynenc_nb.blocking import BlockingWaits
from pynenc_nb.execution import Ending, execute, leave, take_next
from pynenc_nb.runners.base import BaseRunner
from pynenc_nb.status import InvocationStatus

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.records import InvocationRecord

_RECEIVE_TIMEOUT_S = 0.5  # how often an idle worker looks at the stop flag
# Batches: a worker takes several calls at once of tasks whose last run here took under
# SHORT_TASK_S and that never waited on other invocations, about BATCH_BUDGET_S of work per batch
# and at most ``max_batch`` (config) calls.
SHORT_TASK_S = 0.001
BATCH_BUDGET_S = 0.002


class ThreadRunner(BaseRunner):
    def __init__(
        self,
        app: Pynenc,
        *,
        max_threads: int | None = None,
        queues: tuple[str, ...] | None = None,
        parent_runner_id: str | None = None,
        runner_id: str | None = None,
    ) -> None:
        super().__init__(app, queues=queues, parent_runner_id=parent_runner_id, runner_id=runner_id)
        self.max_threads = max(1, max_threads or app.conf.max_threads)
        self._busy = 0
        self._paused = 0
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._spawned = 0
        self._waits = BlockingWaits(app.orchestrator, self.context, self)
        self._durations: dict[str, float] = {}  # task id -> seconds its last run here took
        self._waiting_tasks: set[str] = set()  # tasks seen waiting on other invocations: never batched
        self._local = threading.local()  # the calling worker's batch and current task

    @property
    def slots(self) -> int:
        return self.max_threads

    @property
    def busy(self) -> int:
        return self._busy - self._paused

    # --- slot control (called by BlockingWaits from a worker) -------------------------------------

    def paused(self) -> None:
        task_id = getattr(self._local, "task_id", None)
        if task_id is not None:
            self._waiting_tasks.add(task_id)
        batch = getattr(self._local, "batch", None)
        if batch:  # nothing waits behind a task that waits: the rest of its batch goes back
            self._give_back(batch, "the task before it in its batch waits on other invocations")
        endings = getattr(self._local, "endings", None)
        while endings:  # nor do the results of the calls run before it in its batch
            self._store(endings.pop(0))
        with self._lock:
            self._paused += 1
            if len(self._workers) - self._paused < self.max_threads and not self._stop.is_set():
                self._spawn()

    def resumed(self) -> None:
        with self._lock:
            self._paused -= 1

    # --- loop ------------------------------------------------------------------------------------

    def _spawn(self) -> None:
        """Start one worker; the caller holds ``self._lock``."""
        self._spawned += 1
        thread = threading.Thread(
            target=self._worker_loop, name=f"{self.context.label}-worker-{self._spawned}", daemon=True
        )
        self._workers.add(thread)
        thread.start()

    def _serve(self) -> None:
        self._waits = BlockingWaits(self.app.orchestrator, self.context, self)
        with self._lock:
            for _ in range(self.max_threads):
                self._spawn()
        while not self._stop.wait(_RECEIVE_TIMEOUT_S):
            pass  # timed: a stop signal caught by another thread is handled here within this interval
        deadline = time.monotonic() + self.app.conf.graceful_stop_timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                workers = list(self._workers)
            if not workers:
                break
            workers[0].join(max(0.0, deadline - time.monotonic()))
        if self._workers:
            self._release_owned()

    def _surplus(self) -> bool:
        """Retire this worker if, with paused ones back, there are more than ``max_threads``."""
        with self._lock:
            if len(self._workers) - self._paused > self.max_threads:
                self._workers.discard(threading.current_thread())
                return True
        return False

    def _batch_plan(self) -> tuple[int, list[str]]:
        """How many more calls a take may start at once, and of which (short) tasks."""
        limit = self.app.conf.max_batch
        short = [(t, d) for t, d in list(self._durations.items()) if d < SHORT_TASK_S and t not in self._waiting_tasks]
        if not short or limit <= 0:
            return 0, []
        longest = max(d for _, d in short)
        return min(limit, int(BATCH_BUDGET_S / max(longest, 1e-5))), [t for t, _ in short]

    def _worker_loop(self) -> None:
        app = self.app
        # The endings of the last take's invocations travel with the next take (one round trip per
        # take); they are kept until a take stores them, and stored on their own when the worker
        # leaves. A take may start a batch of short calls: they run here one after another.
        endings: list[Ending] = []
        batch: deque[InvocationRecord] = deque()
        self._local.batch, self._local.endings = batch, endings
        try:
            with context.in_runner(self.context):
                while batch or (not self._stop.is_set() and not self._surplus()):
                    if not batch:
                        size, short_tasks = self._batch_plan()
                        try:
                            taken = take_next(
                                app, self.queues, self.runner_id, _RECEIVE_TIMEOUT_S, endings,
                                batch=size, batch_tasks=short_tasks,
                            )  # fmt: skip
                            endings.clear()
                        except Exception:
                            self.app.logger.exception("%s could not take work", self.context.label)
                            self._stop.wait(_RECEIVE_TIMEOUT_S)
                            continue
                        batch.extend(taken)
                        if not batch:
                            continue
                    record = batch.popleft()
                    self._local.task_id = record.task_id
                    with self._lock:
                        self._busy += 1
                    started = time.perf_counter()
                    try:
                        ended = execute(app, record, self.context, self._waits, defer=True)
                        if isinstance(ended, Ending):
                            endings.append(ended)
                    except BaseException:
                        self.app.logger.exception(
                            "%s: invocation %s broke its worker", self.context.label, record.invocation_id
                        )
                    finally:
                        self._durations[record.task_id] = time.perf_counter() - started
                        self._local.task_id = None
                        with self._lock:
                            self._busy -= 1
        finally:
            while endings:
                self._store(endings.pop(0))
            if batch:
                self._give_back(batch, "its worker stopped before running it")
            try:
                leave(app, self.runner_id)
            except Exception:
                self.app.logger.exception(
                    "%s could not give back what was handed to a worker: it will be recovered", self.context.label
                )
            with self._lock:
                self._workers.discard(threading.current_thread())

    def _give_back(self, batch: deque[InvocationRecord], reason: str) -> None:
        """Reroute the calls of a batch not run yet (started for this runner) to their queue."""
        while batch:
            record = batch.popleft()
            try:
                self.app.orchestrator.transition(
                    record.invocation_id, InvocationStatus.REROUTED, self.runner_id, reason=reason
                )
            except Exception:
                self.app.logger.exception(
                    "%s could not give back %s: it will be recovered", self.context.label, record.invocation_id
                )

    def _store(self, ending: Ending) -> None:
        try:
            ending.store(self.app)
        except Exception:
            self.app.logger.exception(
                "%s could not store the end of %s: it will be recovered as lost",
                self.context.label,
                ending.record.invocation_id,
            )

    def details(self) -> dict[str, Any]:
        return {**super().details(), "max_threads": self.max_threads}
