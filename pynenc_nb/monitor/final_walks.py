"""What the timeline computed for final invocations, kept for the next timeline of the same backend.

A live timeline redraws the same window every half second, and most of its invocations are final:
their histories, segments and hovers cannot change any more. Reading and walking them again was
most of a refresh (10,000 invocations: their history rows alone took 60-120 ms on SQLite). The
monitors of one state backend in a process (every widget of a notebook's app, the monitor server's
one per app) keep them here, keyed by the record's last change, so any timeline after the first
reads and walks only what is new or still moving.

No status leads out of a final one ("run again" makes a new invocation), so such an entry holds
for good. Still, an entry is taken only when its history ends with the record's own final change
(a history read while a backend was between two writes is never kept), and used only while the
record shows that change.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.ports.state import HistoryRow
from pynenc_nb.records import InvocationRecord

if TYPE_CHECKING:
    from pynenc_nb.monitor.models import TimelineInvocation

MAX_KEPT = 12_000  # invocations, whatever the views ask for (about 2 KB each: 24 MB at most)


class SpanLike(Protocol):
    """A lane span as the timeline's walk made it (``timeline._Span``); only its row changes later."""

    lane: str
    start: float
    first: int
    stop: int
    end: float
    paused: bool


class FinalWalk(NamedTuple):
    """One final invocation as the timeline walked it (a tuple: thousands are made per view)."""

    updated_at: float
    status: InvocationStatus
    history: Sequence[HistoryRow]
    ends: Sequence[float | None]
    spans: Sequence[SpanLike]
    invocation: TimelineInvocation


class FinalWalks:
    """Up to ``capacity`` final walks, the oldest stored dropped first; safe across threads."""

    def __init__(self, capacity: int = 4_000) -> None:
        self.capacity = capacity
        self._walks: dict[str, FinalWalk] = {}
        self._lock = threading.Lock()

    def fit(self, window: int) -> None:
        """Keep room for two windows of ``window`` invocations (a refresh and its page), within MAX_KEPT."""
        self.capacity = max(self.capacity, min(MAX_KEPT, 2 * window))

    def get(self, record: InvocationRecord) -> FinalWalk | None:
        walk = self._walks.get(record.invocation_id)
        if walk is None or walk.updated_at != record.updated_at or walk.status is not record.status:
            return None
        return walk

    def put_many(self, walks: Sequence[tuple[InvocationRecord, FinalWalk]]) -> None:
        """Keep the walks whose history ends with their record's final change."""
        finals = FINAL_STATUSES
        kept = self._walks
        with self._lock:
            for record, walk in walks:
                if record.status not in finals or not walk.history:
                    continue
                status, _, at = walk.history[-1]
                if status is not record.status or at != record.updated_at:
                    continue  # the history is not (yet, or no longer) the one of this record
                kept.pop(record.invocation_id, None)
                kept[record.invocation_id] = walk
            while len(kept) > self.capacity:
                del kept[next(iter(kept))]

    def clear(self) -> None:
        """Forget every walk (the next timeline reads everything, as the first one of a process)."""
        with self._lock:
            self._walks.clear()

    def __len__(self) -> int:
        return len(self._walks)


_shared: weakref.WeakKeyDictionary[object, FinalWalks] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def shared_walks(state: object) -> FinalWalks:
    """The walks kept for ``state`` in this process, made on first use; they go with the backend
    (a backend object that cannot be weakly referenced gets walks of its own monitor instead)."""
    with _shared_lock:
        try:
            walks = _shared.get(state)
            if walks is None:
                walks = _shared[state] = FinalWalks()
        except TypeError:
            return FinalWalks()
        return walks
