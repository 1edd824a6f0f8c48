"""The timeline's queue strip: how many invocations waited for a runner, over time, as one trace.

Why a strip: a row per waiting invocation once filled most of the plot with the backlog and
squeezed the runners; a count over time says the same in a fixed height. Each point's hover gives
the count and the oldest invocation still waiting then, and a click selects that invocation (its
customdata). A long window is thinned to its peaks.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pynenc_nb.widgets.figures.common import seconds_text, short_task, text

QUEUE_COLOUR = "#9e9e9e"
# Changes within one slot of this length (of the clock, so slots do not move between refreshes)
# are one point, the count after the last of them: a busy queue draws nearly the same strip with
# a fraction of the points, and a live refresh sends fewer.
MOMENT_S = 0.02
MAX_POINTS = 2000  # above this, one point per time bucket: the highest count in it


@dataclass(slots=True)
class Waits:
    """Intervals during which an invocation waited unowned (columns, filled by the timeline figure)."""

    start: list[float] = field(default_factory=list)
    end: list[float | None] = field(default_factory=list)  # None: still waiting
    task_id: list[str] = field(default_factory=list)
    invocation_id: list[str] = field(default_factory=list)

    def add(self, start: float, end: float | None, task_id: str, invocation_id: str) -> None:
        self.start.append(start)
        self.end.append(end)
        self.task_id.append(task_id)
        self.invocation_id.append(invocation_id)


def queue_trace(waits: Waits, offset: float, now: float) -> dict[str, Any]:
    """A step line of the waiting count, filled to zero, on the strip's own axis (``y2``), up to
    ``now`` while some still wait."""
    xs, counts, hovers, ids = _sweep(waits, offset, now)
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "queued",
        "showlegend": False,
        "x": xs,
        "y": counts,
        "yaxis": "y2",
        "fill": "tozeroy",
        "line": {"shape": "hv", "width": 1, "color": QUEUE_COLOUR},
        "fillcolor": "rgba(158, 158, 158, 0.35)",
        "customdata": ids,
        "hovertext": hovers,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _sweep(waits: Waits, offset: float, now: float) -> tuple[list[float], list[int], list[str], list[str]]:
    """The count after every start and end, and the oldest invocation waiting at that moment."""
    changes = sorted(  # by time, an end (-1) before a start (+1) at the same moment
        [(start, 1, index) for index, start in enumerate(waits.start)]
        + [(end, -1, index) for index, end in enumerate(waits.end) if end is not None]
    )
    oldest: list[tuple[float, int]] = []  # (start, index) of waits, ended ones removed lazily
    ended: set[int] = set()
    xs: list[float] = []
    counts: list[int] = []
    hovers: list[str] = []
    ids: list[str] = []
    count = 0
    for position, (at, step, index) in enumerate(changes):
        count += step
        if step > 0:
            heapq.heappush(oldest, (waits.start[index], index))
        else:
            ended.add(index)
        if position + 1 < len(changes) and changes[position + 1][0] // MOMENT_S == at // MOMENT_S:
            continue  # one point per moment
        while oldest and oldest[0][1] in ended:
            heapq.heappop(oldest)
        xs.append(round((at + offset) * 1000.0, 1))
        counts.append(count)
        hovers.append(_hover(count, at, waits, oldest[0] if oldest else None))
        ids.append(waits.invocation_id[oldest[0][1]] if oldest else "")
    if count and xs and xs[-1] < (now + offset) * 1000.0:  # still waiting: the strip reaches now
        xs.append(round((now + offset) * 1000.0, 1))
        counts.append(count)
        hovers.append(_hover(count, now, waits, oldest[0] if oldest else None))
        ids.append(ids[-1])
    if len(xs) > MAX_POINTS:
        return _peaks(xs, counts, hovers, ids)
    return xs, counts, hovers, ids


def _hover(count: int, at: float, waits: Waits, first: tuple[float, int] | None) -> str:
    if first is None or count == 0:
        return "queue empty"
    start, index = first
    task = text(short_task(waits.task_id[index]))
    return (
        f"<b>{count} waiting</b><br>oldest: {task} ({text(waits.task_id[index])}), waiting {seconds_text(at - start)}"
    )


def _peaks(
    xs: list[float], counts: list[int], hovers: list[str], ids: list[str]
) -> tuple[list[float], list[int], list[str], list[str]]:
    """One point per bucket of the window, the one with the highest count (a backlog's peaks stay)."""
    low, high = xs[0], xs[-1]
    width = (high - low) / MAX_POINTS or 1.0
    chosen: dict[int, int] = {}
    for index, x in enumerate(xs):
        bucket = int((x - low) / width)
        best = chosen.get(bucket)
        if best is None or counts[index] > counts[best]:
            chosen[bucket] = index
    keep: Sequence[int] = sorted({*chosen.values(), len(xs) - 1})
    return [xs[i] for i in keep], [counts[i] for i in keep], [hovers[i] for i in keep], [ids[i] for i in keep]
