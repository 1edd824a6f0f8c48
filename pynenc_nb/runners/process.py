"""Runners whose work happens in child processes (forked, so notebook-defined objects carry over).

* ``ProcessRunner``: one child process per invocation; a crash takes only that invocation.
* ``PersistentProcessRunner``: a pool of ``num_processes`` single-slot worker processes.
* ``MultiThreadRunner``: ``num_processes`` worker processes with ``max_threads`` threads each.

The parent watches its children: a child that dies has its invocations recovered at once
(counted against ``max_runner_loss_retries``) and, in pools, is replaced.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from pynenc_nb import forking
from pynenc_nb.blocking import BlockingWaits
from pynenc_nb.execution import execute
from pynenc_nb.failures import Failures
from pynenc_nb.invocation.status import OWNED_STATUSES
from pynenc_nb.records import InvocationFilter, InvocationRecord, new_id
from pynenc_nb.runners.base import BaseRunner
from pynenc_nb.runners.thread import ThreadRunner

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.ports.work import WorkSource

_fork = multiprocessing.get_context("fork")
_WATCH_INTERVAL_S = 0.05
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _stop_processes(processes: list[BaseProcess], timeout_s: float) -> None:
    for process in processes:
        if process.is_alive() and process.pid:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1)


class ProcessRunner(BaseRunner):
    uses_other_processes = True

    def __init__(self, app: Pynenc, *, max_processes: int | None = None, queues: tuple[str, ...] | None = None):
        super().__init__(app, queues=queues)
        self.max_processes = max(1, max_processes or app.conf.max_processes or _cpu_count())
        self._children: dict[int, _Child] = {}

    @property
    def slots(self) -> int:
        return self.max_processes

    @property
    def busy(self) -> int:
        """Children not paused: a child waiting on other invocations frees its slot."""
        return sum(1 for child in self._children.values() if not child.paused.value)

    def _serve(self) -> None:
        source = self.app.orchestrator.work_source(self.queues, self.runner_id)
        try:
            self._fork_children(source)
        finally:
            source.close()
        deadline = time.monotonic() + self.app.conf.graceful_stop_timeout_s
        while self._children and time.monotonic() < deadline:
            self._reap()
            time.sleep(_WATCH_INTERVAL_S)
        if self._children:
            _stop_processes([c.process for c in self._children.values()], 2.0)
            self._reap()
            self._release_owned()

    def _fork_children(self, source: WorkSource) -> None:
        """Take one invocation per free slot and run it in a forked child, until stopped."""
        failures = Failures(self.app.logger, f"{self.context.label} could not take work")
        while not self._stop.is_set():
            self._reap()
            if self.busy >= self.max_processes:
                time.sleep(_WATCH_INTERVAL_S)
                continue
            try:
                record = source.next(0.2 if not self._children else _WATCH_INTERVAL_S)
            except Exception:
                self._stop.wait(failures.failed())
                continue
            failures.succeeded()
            if record is None:
                continue
            paused = _fork.Value("b", 0, lock=False)
            process = _fork.Process(target=_execute_in_child, args=(self.app, record, self, paused), daemon=True)
            with forking.forking():
                process.start()
            assert process.pid is not None
            self._children[process.pid] = _Child(process, record, paused)

    def _reap(self) -> None:
        for pid, child in list(self._children.items()):
            process = child.process
            if process.is_alive():
                continue
            process.join()
            del self._children[pid]
            if child.killed:
                self.app.logger.info("worker process %d stopped: %s was killed", pid, child.record.invocation_id)
            elif process.exitcode != 0:
                reason = f"worker process {pid} of {self.context.label} exited with code {process.exitcode}"
                self.app.logger.warning("%s while running %s", reason, child.record.invocation_id)
                self.app.orchestrator.recover(child.record.invocation_id, self.runner_id, reason)

    def details(self) -> dict[str, Any]:
        return {**super().details(), "max_processes": self.max_processes}

    def _executing(self) -> list[str]:
        return [child.record.invocation_id for child in list(self._children.values())]

    def _interrupt(self, invocation_id: str) -> None:
        """Terminate the child running it (SIGTERM; SIGKILL if it is still there a heartbeat later)."""
        for child in list(self._children.values()):
            pid = child.process.pid
            if child.record.invocation_id == invocation_id and pid is not None and child.process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL if child.killed else signal.SIGTERM)
                child.killed = True


@dataclass
class _Child:
    process: BaseProcess
    record: InvocationRecord
    paused: Any  # a shared byte: 1 while the child's task waits on other invocations
    killed: bool = False  # terminated because its invocation was killed (not a lost runner)


class _SharedFlagSlots:
    """Slot control of a ProcessRunner child: the parent reads the flag to count free slots."""

    def __init__(self, flag: Any) -> None:
        self.flag = flag

    def paused(self) -> None:
        self.flag.value = 1

    def resumed(self) -> None:
        self.flag.value = 0


def _execute_in_child(app: Pynenc, record: InvocationRecord, runner: ProcessRunner, paused: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    execute(app, record, runner.context, BlockingWaits(app.orchestrator, runner.context, _SharedFlagSlots(paused)))


@dataclass
class _Worker:
    runner_id: str
    process: BaseProcess


class _PoolRunner(BaseRunner):
    """A supervisor of long-lived worker processes, each a ThreadRunner with its own runner id."""

    uses_other_processes = True
    threads_per_worker = 1

    def __init__(self, app: Pynenc, *, num_processes: int | None = None, queues: tuple[str, ...] | None = None):
        super().__init__(app, queues=queues)
        # pynenc sizes a MultiThreadRunner's pool by max_processes: used when num_processes is unset
        self.num_processes = max(1, num_processes or app.conf.num_processes or app.conf.max_processes or _cpu_count())
        self._workers: list[_Worker] = []

    @property
    def slots(self) -> int:
        return self.num_processes * self.threads_per_worker

    @property
    def busy(self) -> int:
        return sum(1 for w in self._workers if w.process.is_alive())

    def _spawn(self) -> _Worker:
        runner_id = new_id()
        process = _fork.Process(
            target=_pool_worker,
            args=(self.app, runner_id, self.runner_id, self.queues, self.threads_per_worker),
            daemon=False,
        )
        # A stop signal reaching the child before it installs its own handlers would run the copy of
        # ours and be lost: the child starts with them blocked and unblocks once its handlers are in.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            with forking.forking():
                process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return _Worker(runner_id, process)

    def _serve(self) -> None:
        self._workers = [self._spawn() for _ in range(self.num_processes)]
        try:
            while not self._stop.wait(_WATCH_INTERVAL_S * 4):
                for index, worker in enumerate(self._workers):
                    if not worker.process.is_alive():
                        worker.process.join()
                        self._recover_worker(worker)
                        if not self._stop.is_set():
                            self._workers[index] = self._spawn()
        finally:
            _stop_processes([w.process for w in self._workers], self.app.conf.graceful_stop_timeout_s)
            for worker in self._workers:
                self._recover_worker(worker)

    def _recover_worker(self, worker: _Worker) -> None:
        """Whatever a dead worker still owned is taken back now, not after heartbeat expiry."""
        state = self.app.state_backend
        if worker.process.exitcode != 0:
            # A killed worker cannot record its end: list it as lost, not running, and before reading
            # what it owns, so that no work source starts anything for it after that read.
            last = next((r.last_heartbeat for r in state.runners() if r.context.runner_id == worker.runner_id), None)
            state.heartbeat(worker.runner_id, last if last is not None else time.time(), 0, "lost")
        owned, _ = state.query(InvocationFilter(statuses=OWNED_STATUSES, owner_id=worker.runner_id), limit=1000)
        for record in owned:
            reason = f"worker process {worker.process.pid} exited with code {worker.process.exitcode}"
            self.app.logger.warning("%s while running %s", reason, record.invocation_id)
            self.app.orchestrator.recover(record.invocation_id, self.runner_id, reason)
        self.app.broker.requeue_consumer(worker.runner_id)

    def details(self) -> dict[str, Any]:
        return {
            **super().details(),
            "num_processes": self.num_processes,
            "threads_per_worker": self.threads_per_worker,
            "workers": [w.runner_id for w in self._workers],
        }


def _pool_worker(app: Pynenc, runner_id: str, parent_id: str, queues: tuple[str, ...], threads: int) -> None:
    runner = ThreadRunner(app, max_threads=threads, queues=queues, parent_runner_id=parent_id, runner_id=runner_id)
    runner.run_services = False  # the supervisor competes for the services lease, not each worker
    runner.install_signal_handlers()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by ``_spawn`` until now
    watcher = threading.Thread(target=_stop_when_orphaned, args=(runner, os.getppid()), daemon=True)
    watcher.start()
    runner.run()


def _stop_when_orphaned(runner: BaseRunner, parent_pid: int) -> None:
    """A worker whose supervisor died (kill -9) stops instead of running unsupervised."""
    while not runner.stopping:
        if os.getppid() != parent_pid:
            runner.stop(wait=False)
            return
        time.sleep(0.5)


class PersistentProcessRunner(_PoolRunner):
    threads_per_worker = 1


class MultiThreadRunner(_PoolRunner):
    def __init__(self, app: Pynenc, *, num_processes: int | None = None, queues: tuple[str, ...] | None = None):
        super().__init__(app, num_processes=num_processes, queues=queues)
        self.threads_per_worker = max(1, app.conf.max_threads)
