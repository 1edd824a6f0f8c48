"""Helpers shared by the monitor queries: summaries, runner labels, argument checks, safe text."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence

from pynenc_nb.backends.paging import decode_cursor
from pynenc_nb.conf.urls import redact_text
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.monitor.models import InvocationSummary
from pynenc_nb.ports import StateBackend
from pynenc_nb.ports.state import HistoryRow
from pynenc_nb.records import InvocationRecord, RunnerInfo

ALL_STATUSES: tuple[InvocationStatus, ...] = tuple(InvocationStatus)


_decode = json.JSONDecoder().decode  # json.loads without its per-call checks: a view decodes thousands


def args_of(record: InvocationRecord) -> dict[str, str]:
    """The argument display strings (JSON written at call time, never the serialized arguments),
    with URL passwords redacted: a task may well be called with a connection URL."""
    try:
        shown = _decode(record.args_display)
    except ValueError:
        shown = None
    if not isinstance(shown, dict):
        return {"(arguments)": _redacted(record.args_display)}
    args: dict[str, str] = {}
    for key, value in shown.items():
        text = value if type(value) is str else json.dumps(value)
        args[key] = _redacted(text)
    return args


def _redacted(text: str) -> str:
    return redact_text(text) if "://" in text else text  # the check spares a regex per argument


def summary_of(record: InvocationRecord) -> InvocationSummary:
    return InvocationSummary(
        invocation_id=record.invocation_id,
        task_id=record.task_id,
        status=record.status,
        final=record.status in FINAL_STATUSES,
        args=args_of(record),
        parent_id=record.parent_invocation_id,
        workflow_id=record.workflow.workflow_id if record.workflow else None,
        owner_id=record.owner_id,
        num_retries=record.num_retries,
        recoveries=record.recoveries,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def full_counts(counts: dict[InvocationStatus, int]) -> dict[str, int]:
    """Every status, in table order, zero included."""
    return {status.value: counts.get(status, 0) for status in ALL_STATUSES}


def statuses_of(values: Iterable[InvocationStatus | str] | None) -> frozenset[InvocationStatus] | None:
    if values is None:
        return None
    if isinstance(values, str):  # a lone status name, not an iterable of its letters
        values = [values]
    chosen: set[InvocationStatus] = set()
    for value in values:
        try:
            chosen.add(InvocationStatus(value))
        except ValueError:
            known = ", ".join(s.value for s in ALL_STATUSES)
            raise InvalidMonitorQueryError(
                f"unknown status {value!r}; use one of {known}", argument="statuses", value=value
            ) from None
    return frozenset(chosen)


def check_limit(limit: int, argument: str = "limit") -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidMonitorQueryError(
            f"{argument} must be a positive integer, got {limit!r}", argument=argument, value=limit
        )


def check_cursor(cursor: str | None) -> None:
    """Refuse a cursor that no query produced, before a backend chokes on it."""
    if cursor is None:
        return
    try:
        decode_cursor(cursor)
    except (ValueError, AttributeError):
        raise InvalidMonitorQueryError(
            f"malformed cursor {cursor!r}: pass back a next_cursor returned by the same query",
            argument="cursor",
            value=cursor,
        ) from None


def safe_text(text: str, limit: int, *, keep: str = "head") -> str:
    """Free text from a runner, URL passwords redacted and bounded (a traceback keeps its end)."""
    text = redact_text(text)
    if len(text) <= limit:
        return text
    if keep == "tail":
        return "…" + text[-limit:]
    return text[:limit] + "…"


class RunnerDirectory:
    """Runner contexts read once per query, to label lanes and history entries."""

    def __init__(self, state: StateBackend) -> None:
        self.infos: dict[str, RunnerInfo] = {
            info.context.runner_id: info for info in state.runners(include_stopped=True)
        }

    def label(self, runner_id: str | None) -> str | None:
        if runner_id is None:
            return None
        info = self.infos.get(runner_id)
        return info.label if info is not None else f"runner {runner_id[:8]}"


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large view is built.

    Why: a timeline of 10,000 invocations allocates a few hundred thousand short-lived, acyclic
    objects (records, history entries, spans); the collector rescans them again and again, which
    measured as a third of the build time. Reference counting still frees them, and collection
    resumes at the end. Only the caller that paused it resumes it (a user's ``gc.disable()`` stays).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def history_rows(state: StateBackend, invocation_ids: Sequence[str]) -> dict[str, list[HistoryRow]]:
    """Histories as bare rows: from the backend when it offers them (``HistoryRows``), else made
    from its ``StatusChange`` objects."""
    rows: Callable[[Sequence[str]], dict[str, list[HistoryRow]]] | None = getattr(state, "history_rows", None)
    if rows is not None:
        return rows(invocation_ids)
    return {
        invocation_id: [(change.status, change.owner_id, change.at) for change in history]
        for invocation_id, history in state.histories(invocation_ids).items()
    }
