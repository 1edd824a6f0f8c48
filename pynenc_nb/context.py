"""What is executing right now, per thread and per asyncio task.

Calls made inside a running invocation become its children (and inherit its workflow); log
lines carry the runner and invocation; a blocking ``.result`` inside a runner asks the runner to
release its slot while waiting.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pynenc_nb.records import InvocationRecord, RunnerContext

if TYPE_CHECKING:
    from pynenc_nb.host import EngineHost


class WaitHandler(Protocol):
    """Provided by runners: blocks until the invocations are final without holding a slot."""

    def wait_for(self, waiter: InvocationRecord, invocation_ids: list[str], timeout_s: float | None) -> None: ...


@dataclass(frozen=True)
class Execution:
    app: EngineHost
    record: InvocationRecord
    runner: RunnerContext
    waits: WaitHandler | None = None
    thread_id: int = field(default_factory=threading.get_ident)  # the thread that stores its ending


_current: contextvars.ContextVar[Execution | None] = contextvars.ContextVar("pynenc_nb_execution", default=None)
_runner: contextvars.ContextVar[RunnerContext | None] = contextvars.ContextVar("pynenc_nb_runner", default=None)


def current() -> Execution | None:
    return _current.get()


def current_runner() -> RunnerContext | None:
    execution = _current.get()
    return execution.runner if execution is not None else _runner.get()


@contextlib.contextmanager
def executing(execution: Execution) -> Iterator[Execution]:
    token = _current.set(execution)
    try:
        yield execution
    finally:
        _current.reset(token)


@contextlib.contextmanager
def in_runner(runner: RunnerContext) -> Iterator[None]:
    token = _runner.set(runner)
    try:
        yield
    finally:
        _runner.reset(token)


def log_fields() -> dict[str, Any]:
    """The context part of a log line: runner, invocation id, task id."""
    execution = _current.get()
    runner = execution.runner if execution is not None else _runner.get()
    return {
        "runner": runner.label if runner is not None else "",
        "runner_id": runner.runner_id if runner is not None else None,
        "invocation_id": execution.record.invocation_id if execution is not None else None,
        "task_id": execution.record.task_id if execution is not None else None,
    }
