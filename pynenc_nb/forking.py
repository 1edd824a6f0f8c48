"""Forking worker processes beside background threads that use the backend.

A forked child inherits SQLite's internal mutexes in whatever state they had at the fork: if
another thread of the parent was inside SQLite at that moment, the child hangs on its first
query, forever, with its invocation RUNNING and its process alive (so nothing recovers it).
Runners fork only inside :func:`forking`; the parent's background threads (heartbeats, services,
SQLite checkpoints) do their backend work inside :func:`quiet`, which a fork waits for.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator


class _Gate:
    """Many ``quiet`` sections at once, or one fork; a waiting fork keeps new sections out."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._busy = 0
        self._forking = False

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        with self._cond:
            while self._forking:
                self._cond.wait()
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def forking(self) -> Iterator[None]:
        with self._cond:
            while self._forking:
                self._cond.wait()
            self._forking = True
            while self._busy:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._forking = False
                self._cond.notify_all()


_gate = _Gate()


def quiet() -> contextlib.AbstractContextManager[None]:
    """Backend work of a background thread: a fork never happens in the middle of it."""
    return _gate.quiet()


def forking() -> contextlib.AbstractContextManager[None]:
    """Start a forked process inside this block: no background thread is inside the backend meanwhile."""
    return _gate.forking()


def _reset_in_child() -> None:
    global _gate
    _gate = _Gate()  # the parent's gate may have been mid-update; the child has one thread anyway


os.register_at_fork(after_in_child=_reset_in_child)
