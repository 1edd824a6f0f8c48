"""The one wait for invocations to become final, used by handles, groups and blocking control.

Backends wake waiters when something ends (``StateBackend.wait_final``); each wait on the backend
is capped so that a lost wake-up costs at most a second, never a hang.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from pynenc_nb.ports import StateBackend

POLL_CAP_S = 1.0  # the longest single wait on the backend
_BATCH_FROM = 200  # with more ids pending than this, let completions accumulate between checks


def finished(state: StateBackend, invocation_ids: Sequence[str], timeout_s: float | None) -> Iterator[set[str]]:
    """Yield the ids that became final, a set at a time, until all are or ``timeout_s`` passed."""
    pending = list(invocation_ids)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while pending:
        remaining = POLL_CAP_S if deadline is None else min(POLL_CAP_S, deadline - time.monotonic())
        if remaining <= 0:
            return
        done = state.wait_final(pending, remaining)
        if not done:
            continue
        pending = [i for i in pending if i not in done]
        yield done
        if len(pending) > _BATCH_FROM:
            # Each backend check costs O(len(pending)).
            time.sleep(min(0.05, len(pending) / 200_000))


def wait_all(state: StateBackend, invocation_ids: Sequence[str], timeout_s: float | None) -> set[str]:
    """Block until every id is final or ``timeout_s`` passed; returns the ids that are final."""
    done: set[str] = set()
    for batch in finished(state, invocation_ids, timeout_s):
        done |= batch
    return done
