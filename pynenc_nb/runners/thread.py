"""ThreadRunner: ``max_threads`` worker threads, each taking and running one invocation at a time.

Every worker runs the whole loop itself (take, execute, hand the ending back): there is no
dispatcher thread to hand work over. When a task waits on other invocations its worker is PAUSED
and stops counting: another worker starts so the runner keeps ``max_threads`` busy, and surplus
workers retire once the paused ones resume. So nested ``.result`` calls never deadlock, even with
one thread. How a worker takes its work, and in how many round trips, is the business of the
work source its backend chooses (``ports/work.py``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from pynenc_nb import context
from pynenc_nb.blocking import BlockingWaits
from pynenc_nb.execution import Ending, execute
from pynenc_nb.failures import Failures
from pynenc_nb.interrupt import TaskGuard
from pynenc_nb.runners.base import BaseRunner

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.ports.work import WorkSource
    from pynenc_nb.records import InvocationRecord

_RECEIVE_TIMEOUT_S = 0.5  # how often an idle worker looks at the stop flag
MAX_INLINE_DEPTH = 32  # invocations a waiting worker runs nested in its own thread, at most


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
        self._guards: dict[str, TaskGuard] = {}  # invocation id -> the span of its code in its worker

    @property
    def slots(self) -> int:
        return self.max_threads

    @property
    def busy(self) -> int:
        return self._busy - self._paused

    # --- slot control (called through a worker's _WorkerSlots) ----------------------------------

    def _worker_paused(self) -> None:
        with self._lock:
            self._paused += 1
            if len(self._workers) - self._paused < self.max_threads and not self._stop.is_set():
                self._spawn()

    def _worker_resumed(self) -> None:
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

    def _worker_loop(self) -> None:
        app = self.app
        source = app.orchestrator.work_source(self.queues, self.runner_id)
        waits = BlockingWaits(app.orchestrator, self.context, _WorkerSlots(self, source))
        try:
            failures = Failures(app.logger, f"{self.context.label} could not take work")
            with context.in_runner(self.context):
                while not self._stop.is_set() and not self._surplus():
                    try:
                        record = source.next(_RECEIVE_TIMEOUT_S)
                    except Exception:
                        self._stop.wait(failures.failed())  # what it held (endings) is sent again
                        continue
                    failures.succeeded()
                    if record is None:
                        continue
                    guard = TaskGuard()
                    with self._lock:
                        self._busy += 1
                        self._guards[record.invocation_id] = guard
                    try:
                        ended = execute(app, record, self.context, waits, defer=True, guard=guard)
                        if isinstance(ended, Ending):
                            source.finish(ended.request)
                    except BaseException:
                        app.logger.exception(
                            "%s: invocation %s broke its worker", self.context.label, record.invocation_id
                        )
                    finally:
                        with self._lock:
                            self._busy -= 1
                            self._guards.pop(record.invocation_id, None)
        finally:
            try:
                source.close()
            except Exception:
                app.logger.exception(
                    "%s could not hand back what its worker held: it will be recovered", self.context.label
                )
            with self._lock:
                self._workers.discard(threading.current_thread())

    def details(self) -> dict[str, Any]:
        return {**super().details(), "max_threads": self.max_threads}

    def _executing(self) -> list[str]:
        with self._lock:
            return list(self._guards)

    def _interrupt(self, invocation_id: str) -> None:
        with self._lock:
            guard = self._guards.get(invocation_id)
        if guard is not None:
            guard.interrupt()


class _WorkerSlots:
    """Slot control of one worker: a task that waits frees its slot, and what its work source
    holds for the worker (endings, calls taken ahead) must not wait behind it. A target still
    queued may be run in the waiting worker's own thread (``blocking.py``), nested up to
    ``MAX_INLINE_DEPTH`` deep."""

    def __init__(self, runner: ThreadRunner, source: WorkSource) -> None:
        self.runner = runner
        self.source = source
        self.depth = 0  # invocations run nested in this worker's thread right now

    def paused(self) -> None:
        self.source.flush()
        self.runner._worker_paused()

    def resumed(self) -> None:
        self.runner._worker_resumed()

    def may_run_here(self, record: InvocationRecord) -> bool:
        runner = self.runner
        return self.depth < MAX_INLINE_DEPTH and record.queue in runner.queues and not runner._stop.is_set()

    def run_here(self, waiter_id: str, started: InvocationRecord) -> Ending | None:
        runner = self.runner
        self.source.flush()  # endings held for this worker are stored before it runs anything else
        guard = TaskGuard()
        with runner._lock:
            outer = runner._guards.get(waiter_id)
            runner._guards[started.invocation_id] = guard
        self.depth += 1
        try:
            with outer.set_aside() if outer is not None else contextlib.nullcontext():
                ended = execute(runner.app, started, runner.context, self._waits(), defer=True, guard=guard)
            return ended if isinstance(ended, Ending) else None  # the waiter stores it with its resume
        finally:
            self.depth -= 1
            with runner._lock:
                runner._guards.pop(started.invocation_id, None)

    def _waits(self) -> BlockingWaits:
        return BlockingWaits(self.runner.app.orchestrator, self.runner.context, self)
