"""What every runner shares: its context record, heartbeats, stop handling, the work loop shape."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from pynenc_nb import context, forking
from pynenc_nb.conf.urls import redact_url
from pynenc_nb.failures import Failures
from pynenc_nb.invocation.status import OWNED_STATUSES, InvocationStatus
from pynenc_nb.logs import configure_logging
from pynenc_nb.records import RUNNER_REQUESTS_NAMESPACE, InvocationFilter, RunnerContext, RunnerInfo
from pynenc_nb.runner_classes import runner_class
from pynenc_nb.services import Services

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc


class BaseRunner:
    """A runner pulls invocation ids from the broker, claims them and executes them.

    ``run()`` blocks until ``stop()`` (or SIGTERM/SIGINT when started by the CLI);
    ``start_in_thread()`` runs it in the background of the current process (tests, notebooks).
    """

    #: Whether the runner executes outside the process that started it (needs a shared backend).
    uses_other_processes = False
    #: Whether it competes for the services lease (workers supervised by another runner do not).
    run_services = True

    def __init__(
        self,
        app: Pynenc,
        *,
        queues: tuple[str, ...] | None = None,
        parent_runner_id: str | None = None,
        runner_id: str | None = None,
    ) -> None:
        self.app = app
        self.queues = tuple(queues or app.conf.queues)
        self.context = RunnerContext.current(type(self).__name__, parent_runner_id)
        if runner_id is not None:
            self.context = dataclasses.replace(self.context, runner_id=runner_id)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._wound_down = threading.Event()
        self._thread: threading.Thread | None = None
        self.name: str | None = None  # a label given by whoever launched it (``%pynenc runner start --name``)

    def __repr__(self) -> str:
        return f"<{self.context.label} app={self.app.app_id}>"

    @property
    def runner_id(self) -> str:
        return self.context.runner_id

    # --- to implement ----------------------------------------------------------------------------

    @property
    def slots(self) -> int:
        raise NotImplementedError

    @property
    def busy(self) -> int:
        raise NotImplementedError

    def _serve(self) -> None:
        """The work loop; returns once ``self._stop`` is set and work is wound down."""
        raise NotImplementedError

    def details(self) -> dict[str, Any]:
        return {"queues": list(self.queues), "name": self.name}

    def _executing(self) -> list[str]:
        """The invocations whose code runs in this process for this runner now (none by default:
        a pool supervisor's workers watch their own)."""
        return []

    def _interrupt(self, invocation_id: str) -> None:
        """Stop the code of an invocation of :meth:`_executing` that was killed."""

    # --- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
        if self.uses_other_processes:
            self.app.require_shared_backend(type(self).__name__)
        configure_logging(self.app.conf)  # a runner is what a process runs: its app's log settings apply
        # ``_stop`` is not cleared for a first run: a stop asked for before it (a SIGTERM to a pool
        # worker that is still starting) must not be lost. A runner whose previous ``run`` ended is
        # being restarted (pynenc's unittest pattern: ``run()`` in setUp, ``stop_runner_loop()`` in
        # tearDown), and so is one started by ``start_in_thread``, which clears it itself.
        if self._stopped.is_set():
            self._stop.clear()
        self._stopped.clear()
        self._wound_down.clear()
        self.context = dataclasses.replace(
            self.context, pid=os.getpid(), thread_id=threading.get_ident(), started_at=time.time()
        )
        state = self.app.state_backend
        for module in self.app.conf.trigger_task_modules:  # their tasks' triggers are stored below
            importlib.import_module(module)
        self.app.publish_triggers()
        state.put_runner(RunnerInfo(self.context, time.time(), "running", self.slots, 0, json.dumps(self.details())))
        heartbeat = threading.Thread(target=self._heartbeat_loop, name=f"{self.context.label}-heartbeat", daemon=True)
        heartbeat.start()
        services_thread: threading.Thread | None = None
        if self.run_services:
            services = Services(self.app, self.context)
            services_thread = threading.Thread(
                target=services.run, args=(self._stop,), name=f"{self.context.label}-services", daemon=True
            )
            services_thread.start()
        self.app.logger.info(
            "%s started for app %s on %s, queues %s, %d slots",
            self.context.label,
            self.app.app_id,
            redact_url(self.app.conf.backend_url),
            ",".join(self.queues),
            self.slots,
        )
        try:
            with context.in_runner(self.context):
                self._serve()
        finally:
            self._stop.set()
            self._wound_down.set()
            heartbeat.join(timeout=5)
            if services_thread is not None:
                services_thread.join(timeout=5)  # it releases the lease: the app may be closed once we are stopped
            try:
                state.heartbeat(self.runner_id, time.time(), 0, "stopped")
            except Exception:  # the backend may be gone at interpreter exit
                self.app.logger.debug("could not record the stop of %s", self.context.label, exc_info=True)
            self.app.logger.info("%s stopped", self.context.label)
            self._stopped.set()

    def start_in_thread(self) -> threading.Thread:
        """Run in a daemon thread of this process; ``stop()`` ends it."""
        self._stop.clear()
        self._stopped.clear()
        thread = threading.Thread(target=self.run, name=f"{type(self).__name__}-main", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def _release_owned(self) -> None:
        """Graceful stop, after the grace period: give back whatever this runner still owns."""
        records, _ = self.app.state_backend.query(
            InvocationFilter(statuses=OWNED_STATUSES, owner_id=self.runner_id), limit=1000
        )
        for record in records:
            self.app.logger.warning(
                "%s stopping: rerouting %s, still %s", self.context.label, record.invocation_id, record.status
            )
            self.app.orchestrator.move(
                record.invocation_id, InvocationStatus.REROUTED, self.runner_id, reason="runner stopped"
            )
        self.app.broker.requeue_consumer(self.runner_id)

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        self._stop.set()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout if timeout is not None else self.app.conf.graceful_stop_timeout_s + 5)

    def stop_runner_loop(self, timeout_s: float | None = None) -> None:
        """pynenc's name: from another thread, end a ``run()`` that blocks there and wait until it
        has wound down (its work finished or handed back, its services and heartbeat stopped)."""
        self._stop.set()
        self.wait_stopped(timeout_s if timeout_s is not None else self.app.conf.graceful_stop_timeout_s + 5)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def stopped(self) -> bool:
        """Whether ``run()`` has returned (work wound down, the stop recorded), not just been asked to."""
        return self._stopped.is_set()

    def wait_stopped(self, timeout_s: float | None = None) -> bool:
        """Block until :attr:`stopped` (or ``timeout_s`` passes); returns :attr:`stopped`."""
        return self._stopped.wait(timeout_s)

    def stop_when_process_ends(self, pid: int, check_interval_s: float = 0.5) -> None:
        """Stop gracefully once process ``pid`` is gone (a runner tied to the kernel that started it)."""

        def watch() -> None:
            while not self._stop.wait(check_interval_s):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    self.app.logger.info("%s: process %d is gone, stopping", self.context.label, pid)
                    self._stop.set()
                except PermissionError:
                    pass  # exists, owned by someone else

        threading.Thread(target=watch, name=f"{self.context.label}-watch-{pid}", daemon=True).start()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the runner gracefully (only possible from the main thread)."""

        signalled = False

        def handle(signum: int, _frame: Any) -> None:
            # A second signal may interrupt this handler inside ``Event.set`` (Ctrl-C reaches a pool
            # worker together with its supervisor's SIGTERM); re-entering it would deadlock on the
            # Event's lock, so only the first signal acts.
            nonlocal signalled
            if signalled:
                return
            signalled = True
            # Said even when already stopping (the process that started it was seen gone first):
            # the log tells what reached the runner.
            self.app.logger.info("%s received signal %d, stopping", self.context.label, signum)
            if not self._stop.is_set():
                self._stop.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def _heartbeat_loop(self) -> None:
        interval = self.app.conf.runner_heartbeat_interval_s
        state = self.app.state_backend
        failures = Failures(self.app.logger, f"{self.context.label} could not heartbeat", fixed_delay_s=interval)
        while not self._stop.wait(interval):
            try:
                with forking.quiet():
                    state.heartbeat(self.runner_id, time.time(), self.busy, "running")
                    asked = state.kv_get(RUNNER_REQUESTS_NAMESPACE, self.runner_id)
                    self._interrupt_killed()
                if asked == "stop":
                    self.app.logger.info("%s: stop asked through the backend", self.context.label)
                    state.kv_delete(RUNNER_REQUESTS_NAMESPACE, self.runner_id)  # obeyed: no key left behind
                    self._stop.set()
                failures.succeeded()
            except Exception:
                failures.failed()
        while not self._wound_down.wait(interval):  # winding down: still alive, so not recovered as dead
            try:
                with forking.quiet():
                    state.heartbeat(self.runner_id, time.time(), self.busy, "stopping")
                    self._interrupt_killed()
                failures.succeeded()
            except Exception:
                failures.failed()

    def _interrupt_killed(self) -> None:
        """With each heartbeat: one read of what this process executes, and the killed ones stopped."""
        executing = self._executing()
        if not executing:
            return
        for invocation_id, record in self.app.state_backend.get_many(executing).items():
            if record.status is InvocationStatus.KILLED:
                self.app.logger.info("%s: interrupting %s, it was killed", self.context.label, invocation_id)
                self._interrupt(invocation_id)


def make_runner(app: Pynenc, runner_cls: str | None = None) -> BaseRunner:
    """A runner of the class named by ``runner_cls`` (default: the app's setting), not started."""
    runner = runner_class(runner_cls or app.conf.runner_cls)(app)
    assert isinstance(runner, BaseRunner)
    return runner
