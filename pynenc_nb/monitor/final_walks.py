"""What the timeline computed for final invocations, kept for the next view of the same monitor.

A live timeline redraws the same window every half second, and most of its invocations are final:
their histories, segments and hovers cannot change any more. Reading and walking them again was
most of a refresh (10,000 invocations: their history rows alone took 60-120 ms on SQLite). A
``Monitor`` keeps them here, keyed by the record's last change, so a refresh reads and walks only
what is new or still moving.

No status leads out of a final one ("run again" makes a new invocation), so such an entry holds
for good. Still, an entry is taken only when its history ends with the record's own final change
(a history read while a backend was between two writes is never kept), and used only while the
record shows that change.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.ports.state import HistoryRow
from pynenc_nb.records import InvocationRecord

if TYPE_CHECKING:
    from pynenc_nb.monitor.models import TimelineInvocation

MAX_KEPT = 25_000  # invocations, whatever the views ask for (about 1.5 KB each)
# (lane, start, first entry, stop entry, end, paused) of a span, before rows are given
SpanRow = tuple[str, float, int, int, float, bool]


@dataclass(frozen=True, slots=True)
class FinalWalk:
    """One final invocation as the timeline walked it."""

    updated_at: float
    status: InvocationStatus
    history: Sequence[HistoryRow]
    ends: tuple[float | None, ...]
    spans: tuple[SpanRow, ...]
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

    def put(self, record: InvocationRecord, walk: FinalWalk) -> None:
        if record.status not in FINAL_STATUSES or not walk.history:
            return
        status, _, at = walk.history[-1]
        if status is not record.status or at != record.updated_at:
            return  # the history is not (yet, or no longer) the one of this record
        with self._lock:
            self._walks.pop(record.invocation_id, None)
            self._walks[record.invocation_id] = walk
            while len(self._walks) > self.capacity:
                del self._walks[next(iter(self._walks))]

    def __len__(self) -> int:
        return len(self._walks)
