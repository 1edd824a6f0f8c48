"""Stopping a task's code on its runner once its invocation is killed.

Python cannot stop a thread from outside; the nearest is an asynchronous exception
(``PyThreadState_SetAsyncExc``), raised in the thread at its next bytecode boundary. It is safe only
while the thread runs the task: raised in the runner's own code (taking work, storing an ending) it
would break the worker. :class:`TaskGuard` marks that span; :meth:`TaskGuard.interrupt` raises only
inside it, and an exception still pending when the span closes is absorbed there, never later.

Limits, documented in the user guide: a thread blocked in one long C call (``time.sleep(60)``, a
socket read) sees the exception when that call returns; a task that catches ``BaseException``
can swallow it (its result is then refused: the invocation is already KILLED). Process runners
terminate the child process instead, which has neither limit.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_ABSORB_S = 0.05  # how long a span that was interrupted waits for its pending exception to land


class Interrupted(BaseException):
    """Raised in a worker thread whose invocation was killed: a ``BaseException``, so that a task's
    own ``except Exception`` does not swallow it."""


class TaskGuard:
    """The span of one task's code in one thread, and whether it was interrupted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: int | None = None
        self.interrupted = False

    @contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            self._thread = threading.get_ident()
        try:
            yield
        finally:
            self._leave()

    @contextmanager
    def set_aside(self) -> Iterator[None]:
        """Out of the span for the block: the task waits while its worker runs another invocation
        (``blocking.py``), and a kill of this one must not land in that one's code. A kill that
        comes meanwhile is retried at the runner's next heartbeat, or seen when the task resumes."""
        with self._lock:
            thread, self._thread = self._thread, None
        try:
            yield
        finally:
            with self._lock:
                if not self.interrupted:
                    self._thread = thread

    def _leave(self) -> None:
        with self._lock:
            self._thread = None
            sent = self.interrupted
        if sent:
            try:
                deadline = time.monotonic() + _ABSORB_S
                while time.monotonic() < deadline:  # calls: the pending exception lands in one of them
                    time.sleep(0.001)
            except Interrupted:
                pass

    def interrupt(self) -> bool:
        """Raise :class:`Interrupted` in the task's thread if it is still in the span; once only."""
        with self._lock:
            if self._thread is None or self.interrupted:
                return False
            self.interrupted = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), ctypes.py_object(Interrupted))
            return True
