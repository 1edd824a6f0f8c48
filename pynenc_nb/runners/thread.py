"""ThreadRunner: ``max_threads`` worker threads, each taking and running one invocation at a time.

Every worker runs the whole loop itself (receive, claim, execute): there is no dispatcher thread
to hand work over, which keeps a round trip to a few database operations.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from pynenc_nb.runners.base import BaseRunner
from pynenc_nb.runners.execution import execute, take_next

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

log = logging.getLogger("pynenc.runner")
_RECEIVE_TIMEOUT_S = 0.5  # how often an idle worker looks at the stop flag


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
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    @property
    def slots(self) -> int:
        return self.max_threads

    @property
    def busy(self) -> int:
        return self._busy

    def _serve(self) -> None:
        self._workers = [self._start_worker(i) for i in range(self.max_threads)]
        self._stop.wait()
        for worker in self._workers:
            worker.join(self.app.conf.graceful_stop_timeout_s)
            if worker.is_alive():
                log.warning("%s stopping while %s still runs an invocation", self.context.label, worker.name)

    def _start_worker(self, index: int) -> threading.Thread:
        thread = threading.Thread(
            target=self._worker_loop, name=f"{self.context.label}-worker-{index}", daemon=True
        )
        thread.start()
        return thread

    def _worker_loop(self) -> None:
        app = self.app
        from pynenc_nb import context

        with context.in_runner(self.context):
            while not self._stop.is_set():
                try:
                    record = take_next(app, self.queues, self.runner_id, _RECEIVE_TIMEOUT_S)
                except Exception:
                    log.exception("%s could not take work", self.context.label)
                    self._stop.wait(_RECEIVE_TIMEOUT_S)
                    continue
                if record is None:
                    continue
                with self._lock:
                    self._busy += 1
                try:
                    execute(app, record, self.context)
                except BaseException:
                    log.exception("%s: invocation %s broke its worker", self.context.label, record.invocation_id)
                finally:
                    with self._lock:
                        self._busy -= 1

    def details(self) -> dict[str, Any]:
        return {**super().details(), "max_threads": self.max_threads}
