"""Handles the caller holds: one invocation, or a group from ``parallelize``.

They are thin views over the state backend: every property reads the current state, so a
handle can be created from an id in any process (``app.invocation(id)``).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pynenc_nb import context
from pynenc_nb.call import decode_values
from pynenc_nb.display import group_html, group_text, invocation_html
from pynenc_nb.exceptions import InvocationNotFoundError, InvocationTimeoutError
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.records import InvocationRecord, Outcome, StatusChange, WorkflowIdentity
from pynenc_nb.waiting import finished, wait_all, warn_if_unserved

if TYPE_CHECKING:
    from pynenc_nb.host import InvocationHost

R = TypeVar("R")
_MISSING: Any = object()
_TEXT_EVERY_S = 0.5  # how often a text progress bar is redrawn
# How ``wait_interactive`` shows a group's progress in a notebook: set by ``%load_ext pynenc_nb``
# (a live widget); None elsewhere, where a text bar goes to stderr.
_show_progress: Callable[[InvocationGroup[Any]], None] | None = None


def set_progress_display(show: Callable[[InvocationGroup[Any]], None] | None) -> None:
    global _show_progress
    _show_progress = show


def wait_until_final(app: InvocationHost, invocation_ids: Sequence[str], timeout_s: float | None) -> set[str]:
    """Block until every id is final; inside a runner, the runner releases its slot meanwhile."""
    _release_slot(invocation_ids, timeout_s)
    return wait_all(app.state_backend, invocation_ids, timeout_s, on_slow=_hang_hint(app))


def _hang_hint(app: InvocationHost) -> Callable[[list[str]], None] | None:
    """Outside a runner, a wait that lasts warns when nobody serves the calls' queues."""
    if context.current() is not None:
        return None
    return warn_if_unserved(app.state_backend, app.app_id, app.orchestrator.conf.runner_dead_after_s)


def _release_slot(invocation_ids: Sequence[str], timeout_s: float | None) -> None:
    """Inside a runner, wait through its blocking control (its slot is freed); returns when final."""
    execution = context.current()
    if execution is not None and execution.waits is not None and invocation_ids:
        execution.waits.wait_for(execution.record, list(invocation_ids), timeout_s)


class Invocation(Generic[R]):
    """One call of a task. ``.result`` blocks until it is final and returns or re-raises."""

    __slots__ = ("app", "_record", "_outcome")

    def __init__(self, app: InvocationHost, record: InvocationRecord) -> None:
        self.app = app
        self._record = record
        self._outcome: Outcome | None = None  # read together with the final record

    def __repr__(self) -> str:
        return f"<Invocation {self.invocation_id[:12]} {self.task_id} {self._record.status.value}>"

    def _repr_html_(self) -> str:
        """A static card from the record (live cards come from ``%load_ext pynenc_nb``)."""
        record = self.refresh()
        outcome = self.app.state_backend.outcome(record.invocation_id) if record.status in FINAL_STATUSES else None
        return invocation_html(record, outcome)

    # --- identity (fixed at registration) --------------------------------------------------------

    @property
    def invocation_id(self) -> str:
        return self._record.invocation_id

    @property
    def task_id(self) -> str:
        return self._record.task_id

    @property
    def call_id(self) -> str:
        return self._record.call_id

    @property
    def parent_invocation_id(self) -> str | None:
        return self._record.parent_invocation_id

    @property
    def workflow(self) -> WorkflowIdentity | None:
        return self._record.workflow

    @property
    def arguments(self) -> dict[str, Any]:
        values: dict[str, Any] = decode_values(self._record.arguments, self.app.serializer, self.app.arg_cache)
        return values

    # --- live state ------------------------------------------------------------------------------

    def refresh(self) -> InvocationRecord:
        if self._record.status not in FINAL_STATUSES:
            self._record = self.app.orchestrator.get(self.invocation_id)
        return self._record

    @property
    def record(self) -> InvocationRecord:
        return self.refresh()

    @property
    def status(self) -> InvocationStatus:
        return self.refresh().status

    @property
    def num_retries(self) -> int:
        return self.refresh().num_retries

    def history(self) -> list[StatusChange]:
        return self.app.state_backend.history(self.invocation_id)

    # --- results ---------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> InvocationStatus:
        """Block until final; raise :class:`InvocationTimeoutError` after ``timeout`` seconds."""
        if self._record.status not in FINAL_STATUSES:
            wait_until_final(self.app, [self.invocation_id], timeout)
            self._settle()
        status = self._record.status
        if status not in FINAL_STATUSES:
            raise InvocationTimeoutError(
                f"invocation {self.invocation_id} of {self.task_id} is still {status} after {timeout} s; "
                "is a runner started? (pynenc runner start, or %pynenc runner start in a notebook)",
                invocation_id=self.invocation_id,
            )
        return status

    def kill(self, reason: str = "killed on request") -> InvocationStatus:
        """End it KILLED if it is not final yet; its runner interrupts it within a heartbeat.
        Returns its status afterwards (a final invocation keeps its own)."""
        self._settle()
        if self._record.status not in FINAL_STATUSES:
            self.app.orchestrator.kill(self.invocation_id, reason=reason)
            self._settle()
        return self._record.status

    def _settle(self, settled: tuple[InvocationRecord, Outcome | None] | None = None) -> None:
        """The record and its outcome from one read (``settled``), once the invocation may be final."""
        if settled is None:
            settled = self.app.state_backend.settled([self.invocation_id]).get(self.invocation_id)
            if settled is None:
                raise InvocationNotFoundError(
                    f"invocation {self.invocation_id} of {self.task_id} no longer exists in the state backend: it "
                    "was purged, or the backend lost its data (a Redis restarted without persistence); call the "
                    "task again for a new run",
                    invocation_id=self.invocation_id,
                )
        self._record, self._outcome = settled

    @property
    def result(self) -> R:
        self.wait()
        value: R = self.app.orchestrator.value_of(self._record, self._outcome)
        return value

    def result_or(self, timeout: float, default: Any = _MISSING) -> R | Any:
        """The result if final within ``timeout`` seconds, else ``default`` (or raise the timeout)."""
        try:
            self.wait(timeout)
        except InvocationTimeoutError:
            if default is _MISSING:
                raise
            return default
        return self.result

    async def async_result(self, timeout: float | None = None) -> R:
        """Await the result without blocking the event loop (works in a Jupyter kernel)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.wait, timeout)
        return self.result


class InvocationGroup(Generic[R]):
    """The invocations of one ``parallelize`` call. ``.results`` yields in completion order."""

    def __init__(self, app: InvocationHost, task_id: str, invocations: list[Invocation[R]]) -> None:
        self.app = app
        self.task_id = task_id
        self.invocations = invocations

    def __len__(self) -> int:
        return len(self.invocations)

    def __iter__(self) -> Iterator[Invocation[R]]:
        return iter(self.invocations)

    def __repr__(self) -> str:
        return f"<InvocationGroup {self.task_id} x{len(self.invocations)}>"

    def _repr_html_(self) -> str:
        return group_html(self.task_id, len(self), self.status_counts())

    @property
    def results(self) -> Iterator[R]:
        return self.iter_results()

    def iter_results(self, timeout: float | None = None) -> Iterator[R]:
        by_id = {inv.invocation_id: inv for inv in self.invocations}
        started = time.monotonic()
        _release_slot(list(by_id), timeout)
        remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        pending = set(by_id)
        for done in finished(self.app.state_backend, list(by_id), remaining, on_slow=_hang_hint(self.app)):
            pending -= done
            settled = self.app.state_backend.settled(list(done))
            for invocation_id in done:
                invocation = by_id[invocation_id]
                invocation._settle(settled.get(invocation_id))
                yield invocation.result
        if pending:
            raise InvocationTimeoutError(
                f"{len(pending)} of {len(self.invocations)} invocations of {self.task_id} are not final "
                f"after {timeout} s"
            )

    def wait_interactive(self, timeout: float | None = None) -> None:
        """Wait until every invocation is final, showing the progress: a live bar in a notebook
        (after ``%load_ext pynenc_nb``), a text bar on stderr elsewhere. Raises
        :class:`InvocationTimeoutError` after ``timeout`` seconds, like ``wait``."""
        ids = [inv.invocation_id for inv in self.invocations]
        started = time.monotonic()
        if _show_progress is not None:
            _show_progress(self)
            done = wait_until_final(self.app, ids, timeout)
        else:
            done = self._wait_with_text_bar(ids, timeout, started)
        if len(done) < len(ids):
            raise InvocationTimeoutError(
                f"{len(ids) - len(done)} of {len(ids)} invocations of {self.task_id} are not final after {timeout} s"
            )

    def _wait_with_text_bar(self, ids: list[str], timeout: float | None, started: float) -> set[str]:
        try:
            from tqdm import tqdm  # optional: the bar Dask and ipyparallel users know, when installed
        except ImportError:
            return self._wait_with_own_bar(ids, timeout, started)
        done: set[str] = set()
        with tqdm(total=len(ids), desc=self.task_id.rpartition(".")[2], unit="inv", file=sys.stderr) as bar:
            _release_slot(ids, timeout)
            for batch in finished(self.app.state_backend, ids, timeout, on_slow=_hang_hint(self.app)):
                done |= batch
                bar.update(len(batch))
                failed = self.status_counts().get(InvocationStatus.FAILED, 0) if batch else 0
                if failed:
                    bar.set_postfix(failed=failed, refresh=False)
        return done

    def _wait_with_own_bar(self, ids: list[str], timeout: float | None, started: float) -> set[str]:
        stream = sys.stderr
        done: set[str] = set()
        drawn = 0.0

        def draw(end: str = "") -> None:
            elapsed = time.monotonic() - started
            rate = len(done) / elapsed if elapsed > 0 and done else None
            stream.write("\r" + group_text(self.task_id, len(ids), self.status_counts(), rate) + end)
            stream.flush()

        draw()
        _release_slot(ids, timeout)
        for batch in finished(self.app.state_backend, ids, timeout, on_slow=_hang_hint(self.app)):
            done |= batch
            if time.monotonic() - drawn >= _TEXT_EVERY_S:
                drawn = time.monotonic()
                draw()
        draw("\n")
        return done

    def status_counts(self) -> dict[InvocationStatus, int]:
        records = self.app.state_backend.get_many([inv.invocation_id for inv in self.invocations])
        counts: dict[InvocationStatus, int] = {}
        for record in records.values():
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts

    async def async_results(self, timeout: float | None = None) -> AsyncIterator[R]:
        """Yield results in completion order without blocking the event loop."""
        loop = asyncio.get_running_loop()
        iterator = self.iter_results(timeout)
        done: Any = object()
        while True:
            value: Any = await loop.run_in_executor(None, next, iterator, done)
            if value is done:
                return
            yield value


def current_invocation() -> Invocation[Any] | None:
    """Inside a task: a handle on the invocation being executed (its id, ``num_retries``, parent…)."""
    execution = context.current()
    if execution is None:
        return None
    return Invocation(execution.app, execution.record)
