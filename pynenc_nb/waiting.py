"""The one wait for invocations to become final, used by handles, groups and blocking control.

Backends wake waiters when something ends (``StateBackend.wait_final``); each wait on the backend
is capped so that a lost wake-up costs at most a second, never a hang.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence

from pynenc_nb.exceptions import NoRunnerWarning
from pynenc_nb.ports import StateBackend

POLL_CAP_S = 1.0  # the longest single wait on the backend
# With no progress for this long, a wait checks that what it waits on still exists: an invocation
# purged, or lost by a backend restarted without persistence, would otherwise be waited on forever.
VANISHED_CHECK_S = 5.0
SLOW_AFTER_S = 5.0  # a caller still waiting this long is told when no runner serves its calls
_BATCH_FROM = 200  # with more ids pending than this, let completions accumulate between checks
_SAMPLE = 50  # pending ids whose queues are looked at
_warned: set[tuple[str, str]] = set()  # (app id, queue) already warned about in this process
_warned_lock = threading.Lock()


def finished(
    state: StateBackend,
    invocation_ids: Sequence[str],
    timeout_s: float | None,
    *,
    on_slow: Callable[[list[str]], None] | None = None,
) -> Iterator[set[str]]:
    """Yield the ids that became final, a set at a time, until all are or ``timeout_s`` passed.
    Ids that no longer exist are yielded too (checked after ``VANISHED_CHECK_S`` without progress):
    reading them raises ``InvocationNotFoundError``.

        ``on_slow(pending)`` is called once if ids are still pending after ``SLOW_AFTER_S``.
    """
    pending = list(invocation_ids)
    started = time.monotonic()
    deadline = None if timeout_s is None else started + timeout_s
    progressed = started
    while pending:
        if on_slow is not None and time.monotonic() - started >= SLOW_AFTER_S:
            on_slow(pending)
            on_slow = None
        remaining = POLL_CAP_S if deadline is None else min(POLL_CAP_S, deadline - time.monotonic())
        if remaining <= 0:
            return
        done = state.wait_final(pending, min(remaining, VANISHED_CHECK_S))
        if not done and time.monotonic() - progressed >= VANISHED_CHECK_S:
            progressed = time.monotonic()
            stored = state.get_many(pending)
            done = {i for i in pending if i not in stored}  # gone: the caller's read says so
        if not done:
            continue
        progressed = time.monotonic()
        pending = [i for i in pending if i not in done]
        yield done
        if len(pending) > _BATCH_FROM:
            # Each backend check costs O(len(pending)).
            time.sleep(min(0.05, len(pending) / 200_000))


def wait_all(
    state: StateBackend,
    invocation_ids: Sequence[str],
    timeout_s: float | None,
    *,
    on_slow: Callable[[list[str]], None] | None = None,
) -> set[str]:
    """Block until every id is final or ``timeout_s`` passed; returns the ids that are final."""
    done: set[str] = set()
    for batch in finished(state, invocation_ids, timeout_s, on_slow=on_slow):
        done |= batch
    return done


def warn_if_unserved(state: StateBackend, app_id: str, dead_after_s: float) -> Callable[[list[str]], None]:
    """An ``on_slow`` for callers outside runners: warn (once per app and queue in this process)
    when the queue of a call still queued is served by no live runner of the app."""

    def check(pending: list[str]) -> None:
        records = state.get_many(pending[:_SAMPLE])
        queues = {r.queue for r in records.values() if r.status.spec.queued}
        if not queues:
            return
        now = time.time()
        served: set[str] = set()
        for info in state.runners():
            if info.state == "running" and now - info.last_heartbeat <= dead_after_s:
                served.update(info.queues)
        for queue in sorted(queues):
            key = (app_id, queue)
            with _warned_lock:
                if queue in served:
                    _warned.discard(key)  # served again: a later hang is worth a new warning
                    continue
                if key in _warned:
                    continue
                _warned.add(key)
            warnings.warn(
                NoRunnerWarning(
                    f"no runner is serving queue {queue!r} of app {app_id!r}: start one with "
                    "`%pynenc runner start` (in a notebook) or `pynenc runner start` (in a shell); "
                    "still waiting (pass a timeout to stop waiting)",
                ),
                stacklevel=2,
            )

    return check


def forget_warnings() -> None:
    """Warn again about every queue (tests, and a new session in the same process)."""
    with _warned_lock:
        _warned.clear()
