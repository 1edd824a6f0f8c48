"""The timeline as a Plotly figure: a task stream, one lane group per runner and a queue strip.

Read at a glance, like a task stream: each runner is a group of rows, one per worker slot (its
label is the launch name and slot count), plus one thin row where its paused invocations wait
(a hatched band: a paused parent frees its slot). Above the lanes, the backlog is one strip of
the waiting count over time (``queue.py``), whatever its size. Bars are coloured by task (a
stable palette, ``palette.py``, with a legend by task); status shows as outline and markers: a
claim (PENDING) is a paler bar (unless shorter than a millisecond), a failure a red outline and a red cross, a retry an open circle,
other final statuses their marker. Each invocation's bar ends a thin gap early, so back-to-back
invocations on one slot never merge. Calls are lines from a parent (at the moment of the call)
to its child's first bar, thinned to one bracket per parent with many children; stars mark
workflow roots, triangles above the lanes mark events, dotted lines join an event to the
invocations its triggers created.

Hovers: a RUNNING bar (or the last bar of an invocation not final) carries the view's full hover
(task, arguments, durations), the last point its full id; other points a short line. Times are
rounded to 0.1 ms: live patches stay short.

Points of a trace are in time order. Trace order: queue strip, one bar trace per task (by task id), paused bands, one marker trace per
final status (table order), retries, calls, workflow roots, event links, events. It only changes
when a task appears, so a live refresh restyles in place. Lane placement is in ``lanes.py`` (the
log explorer highlights lanes from it), the marks across lanes in ``marks.py``.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.monitor.common import cyclic_gc_paused
from pynenc_nb.monitor.models import QUEUED_LANE, TimelineView
from pynenc_nb.widgets.figures.common import (
    FINAL_SYMBOLS,
    MARKER_STATUSES,
    STATUS_ORDER,
    FigureDict,
    base_layout,
    colour,
    empty_note,
    local_offset_s,
    seconds_text,
    short_task,
    text,
)
from pynenc_nb.widgets.figures.lanes import LABEL_CHARS, LanePlacement, place_lanes
from pynenc_nb.widgets.figures.marks import EVENTS_Y, events_trace, links_trace, triggered_trace, workflow_trace
from pynenc_nb.widgets.figures.palette import task_colour
from pynenc_nb.widgets.figures.queue import Waits, queue_trace

RUNNING = InvocationStatus.RUNNING
_VALUES = {status: status.value for status in InvocationStatus}  # faster than the enum's .value
PENDING = InvocationStatus.PENDING
PAUSED = InvocationStatus.PAUSED
RETRY = InvocationStatus.RETRY
ROW_PX = 24  # height of one slot row
QUEUE_PX = 56  # height of the queue strip
MIN_HEIGHT_PX, MAX_HEIGHT_PX = 240, 1000
CHROME_PX = 130  # title, axis, legend
BAR_WIDTH = 0.78  # of a row
PAUSED_WIDTH = 0.36  # the paused band is thinner
GAP_FRACTION = 0.003  # of the time axis: the gap at the end of each invocation's bar
FAILED_OUTLINE = colour(InvocationStatus.FAILED)
OUTLINES: dict[InvocationStatus, str] = {
    InvocationStatus.FAILED: FAILED_OUTLINE,
    InvocationStatus.KILLED: colour(InvocationStatus.KILLED),
    InvocationStatus.PENDING_RECOVERY: colour(InvocationStatus.PENDING_RECOVERY),
    InvocationStatus.RUNNING_RECOVERY: colour(InvocationStatus.RUNNING_RECOVERY),
}
NO_OUTLINE = "#ffffffe6"  # white, 90 % opaque
# A claim (PENDING) that ended faster than this is not drawn: the usual claim of a fraction of a
# millisecond would double the bars (and a live figure's traffic) for nothing visible.
INSTANT_CLAIM_S = 0.001


@dataclass(slots=True)
class _Points:
    """Columns of one trace being built."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    hover: list[str] = field(default_factory=list)
    opacity: list[float] = field(default_factory=list)
    outline: list[str] = field(default_factory=list)
    outline_width: list[float] = field(default_factory=list)


def timeline_figure(view: TimelineView, *, title: str | None = None) -> FigureDict:
    """The figure of one timeline view; times on the x axis are the kernel's local time.

    Built with the cyclic collector paused, as the view is (``cyclic_gc_paused``): its hundred
    thousand lists would otherwise make the collector rescan the objects the view (and the kept
    final walks) just made, again and again, until they age out; measured, that doubled the
    figure's time right after a first view."""
    with cyclic_gc_paused():
        return _figure(view, title)


def _figure(view: TimelineView, title: str | None) -> FigureDict:
    offset = local_offset_s(view.generated_at)
    lanes = place_lanes(view.lanes)
    paused_rows = {lane.lane_id: lane.paused_row for lane in view.lanes}
    hovers = {inv.invocation_id: inv.hover for inv in view.invocations}
    outcome = {inv.invocation_id: inv.status for inv in view.invocations}
    retried = {inv.invocation_id for inv in view.invocations if "RETRY" in inv.durations}
    linked_parents = {link.parent_id for link in view.links}
    bars: dict[str, _Points] = defaultdict(_Points)  # by task id
    paused = _Points()
    markers: dict[InvocationStatus, _Points] = defaultdict(_Points)
    retries = _Points()
    waits = Waits()
    first_seen: dict[str, float] = {}  # invocation -> x ms of its first segment (its call)
    first_bar: dict[str, tuple[float, float]] = {}  # invocation -> (x ms, y) of its first drawn bar
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)  # linked parent -> (start ms, y)
    last_y: dict[str, float] = {}  # invocation -> the row it was last drawn on

    seg = view.segments
    count = len(seg)
    finals = FINAL_STATUSES
    now = view.generated_at
    gap_ms = _gap_ms(view)
    seg_ids, seg_status, seg_start, seg_end = seg.invocation_id, seg.status, seg.start, seg.end
    seg_task, seg_lane, seg_row = seg.task_id, seg.lane, seg.row
    first_rows = lanes.first_row
    values = _VALUES
    # Points in time order: a refresh adds the new ones at the end of their traces, so a live
    # figure's patch (patch.py) carries them and the bars that grew, not every point shifted.
    for i in sorted(range(count), key=seg_start.__getitem__):
        invocation_id, status, start = seg_ids[i], seg_status[i], seg_start[i]
        if invocation_id not in first_seen:  # its earliest segment comes first in this order
            first_seen[invocation_id] = round((start + offset) * 1000.0, 1)
        lane_id = seg_lane[i]
        if lane_id == QUEUED_LANE:
            if status not in finals:
                if status is RETRY and invocation_id in last_y:
                    retries.x.append(round((start + offset) * 1000.0, 1))
                    retries.y.append(last_y[invocation_id])
                    retries.ids.append(invocation_id)
                    retries.hover.append(f"<b>{_task_text(seg_task[i])}</b> {invocation_id[:8]}<br>▸ RETRY")
                waits.add(start, seg_end[i], seg_task[i], invocation_id)
                continue
            y = last_y.get(invocation_id)
            if y is None:  # ended without ever running (killed in the queue): no row to mark
                continue
        else:
            first_row = first_rows.get(lane_id)
            if first_row is None:  # a lane the view did not list: nothing to draw it in
                continue
            y = first_row + seg_row[i]
            last_y[invocation_id] = y
        end = seg_end[i]
        if status is PENDING and end is not None and end - start < INSTANT_CLAIM_S:
            if invocation_id in linked_parents:
                spans[invocation_id].append((round((start + offset) * 1000.0, 1), y))
            continue  # under a pixel at any zoom a timeline is read at; its time is in the hover
        x_ms = round((start + offset) * 1000.0, 1)  # 0.1 ms is finer than any screen: shorter patches
        if invocation_id in linked_parents:
            spans[invocation_id].append((x_ms, y))
        task_id = seg_task[i]
        if status in finals:  # the bar before it carries the whole story: a short line here
            points = markers[status]
            points.hover.append(f"<b>{_task_text(task_id)}</b> {invocation_id[:8]}<br>▸ {values[status]}")
            points.x.append(x_ms)
            points.y.append(y)
            points.ids.append(invocation_id)
            continue
        last = i + 1 == count or seg_ids[i + 1] != invocation_id
        if status is RUNNING or last:  # the whole story on the bar (or the open last one); short elsewhere
            about = hovers.get(invocation_id) or f"<b>{_task_text(task_id)}</b>"
        else:
            about = f"<b>{_task_text(task_id)}</b> {invocation_id[:8]}"
        ident = f"<br>id {invocation_id}" if last else ""
        if invocation_id not in first_bar:
            first_bar[invocation_id] = (x_ms, y)
        seconds = (end if end is not None else now) - start
        if seconds < 0.0:
            seconds = 0.0
        width = seconds * 1000.0
        if status is PAUSED or seg_row[i] == paused_rows.get(lane_id):
            points = paused
        else:
            points = bars[task_id]
            ends_span = last or seg_lane[i + 1] != lane_id or seg_row[i + 1] != seg_row[i]
            if not ends_span and seg_status[i + 1] in finals:
                ends_span = True
            if ends_span and end is not None:
                width -= min(gap_ms, width * 0.3)
            points.opacity.append(0.45 if status is PENDING else 1.0)
            final = outcome.get(invocation_id)
            line = OUTLINES.get(final) if final is not None else None
            if line is None and invocation_id in retried:
                line = colour(RETRY)
            points.outline.append(line or NO_OUTLINE)
            points.outline_width.append(2.0 if line else 0.5)
        still = "" if end is not None else " so far"
        points.hover.append(f"{about}<br>▸ {values[status]} {seconds_text(seconds)}{still}{ident}")
        points.base.append(x_ms)
        if width > 0:
            rounded = round(width, 1)
            points.x.append(rounded if rounded > 0.1 else 0.1)  # never rounded to nothing
        else:
            points.x.append(0.0)
        points.y.append(y)
        points.ids.append(invocation_id)

    data: list[dict[str, Any]] = [queue_trace(waits, offset, now)]
    data += [_task_trace(task_id, bars[task_id]) for task_id in sorted(bars)]
    data.append(_paused_trace(paused))
    data += [_marker_trace(status, markers.get(status)) for status in MARKER_STATUSES]
    data.append(_retry_trace(retries))
    data.append(links_trace(view, first_seen, first_bar, spans))
    data.append(workflow_trace(view, first_bar))
    data.append(triggered_trace(view, first_bar, offset))
    data.append(events_trace(view, offset))
    if view.events:
        lanes.tickvals.insert(0, EVENTS_Y)
        lanes.ticktext.insert(0, "events")
        lanes.tick_of = {lane_id: index + 1 for lane_id, index in lanes.tick_of.items()}
    return {"data": data, "layout": _layout(view, lanes, title)}


@functools.lru_cache(maxsize=1024)
def _task_text(task_id: str) -> str:
    """Task ids repeat across thousands of segments: escape each once."""
    return text(task_id)


def _gap_ms(view: TimelineView) -> float:
    """The gap that ends each invocation's bar: a small part of the time the figure spans."""
    seg = view.segments
    if not len(seg):
        return 0.0
    ends = [end for end in seg.end if end is not None]
    high = max(max(ends, default=0.0), max(seg.start))
    if len(ends) < len(seg):
        high = max(high, view.generated_at)
    return max(0.0, high - min(seg.start)) * 1000.0 * GAP_FRACTION


def _layout(view: TimelineView, lanes: LanePlacement, title: str | None) -> dict[str, Any]:
    rows = lanes.total_rows + (2 if view.events else 0)
    height = max(MIN_HEIGHT_PX, min(MAX_HEIGHT_PX, CHROME_PX + QUEUE_PX + ROW_PX * max(rows, 1)))
    layout = base_layout(title if title is not None else _title(view), height)
    plot_px = max(1.0, height - 40 - 90)  # the margins and the x axis with the legend below it
    strip = min(0.45, QUEUE_PX / plot_px)
    empty = not view.invocations
    layout.update(
        {
            "autosize": True,
            "barmode": "overlay",
            "bargap": 0,
            "xaxis": {
                "type": "date",
                "title": {"text": "local time"},
                "showgrid": True,
                "gridcolor": "#eeeeee",
                "automargin": True,  # room for the date line and the title above the legend
                "autorange": True,
                "visible": not empty,  # no axis of the year 2000 around nothing
            },
            "yaxis": {
                "domain": [0, 1 - strip - 0.03],
                "tickmode": "array",
                "tickvals": lanes.tickvals,
                "ticktext": lanes.ticktext,
                "autorange": "reversed",
                "zeroline": False,
                "showgrid": False,
                "automargin": True,
                "visible": not empty,
            },
            "yaxis2": {
                "domain": [1 - strip, 1],
                "title": {"text": "queued", "font": {"size": 11}},
                "rangemode": "tozero",
                "zeroline": True,
                "showgrid": False,
                "nticks": 3,
                "automargin": True,
                "fixedrange": True,
                "visible": not empty,
            },
            "shapes": lanes.shapes,
            "annotations": [empty_note("no invocations yet")] if empty else [],
        }
    )
    return layout


def _task_trace(task_id: str, points: _Points) -> dict[str, Any]:
    return {
        "type": "bar",
        "orientation": "h",
        "name": text(short_task(task_id), LABEL_CHARS),
        "legendgroup": text(task_id),
        "showlegend": True,
        "base": points.base,
        "x": points.x,
        "y": points.y,
        "width": BAR_WIDTH,
        "marker": {
            "color": task_colour(task_id),
            "opacity": points.opacity,
            "line": {"width": points.outline_width, "color": points.outline},
        },
        "customdata": points.ids,
        "hovertext": points.hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _paused_trace(points: _Points) -> dict[str, Any]:
    return {
        "type": "bar",
        "orientation": "h",
        "name": "paused",
        "legendgroup": "paused",
        "showlegend": bool(points.x),
        "base": points.base,
        "x": points.x,
        "y": points.y,
        "width": PAUSED_WIDTH,
        "marker": {
            "color": "rgba(142, 36, 170, 0.12)",
            "pattern": {"shape": "/", "fgcolor": colour(PAUSED), "size": 6, "solidity": 0.25},
            "line": {"width": 0},
        },
        "customdata": points.ids,
        "hovertext": points.hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _marker_trace(status: InvocationStatus, points: _Points | None) -> dict[str, Any]:
    points = points or _Points()
    success = status is InvocationStatus.SUCCESS
    return {
        "type": "scatter",
        "mode": "markers",
        "name": status.value,
        "legendgroup": status.value,
        "showlegend": bool(points.x) and not success,  # success is the rule: no legend entry
        "x": points.x,
        "y": points.y,
        "marker": {
            "color": colour(status),
            "symbol": "line-ns" if success else FINAL_SYMBOLS.get(status, "circle"),
            "size": 7 if success else 10,
            "line": {"width": 1, "color": "rgba(46, 125, 50, 0.7)" if success else "white"},
        },
        "customdata": points.ids,
        "hovertext": points.hover,
        "hovertemplate": "%{hovertext}<br>id %{customdata}<extra></extra>",  # the last point: its full id
    }


def _retry_trace(points: _Points) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "retry",
        "showlegend": bool(points.x),
        "x": points.x,
        "y": points.y,
        "marker": {"symbol": "circle-open", "size": 10, "color": colour(RETRY), "line": {"width": 2}},
        "customdata": points.ids,
        "hovertext": points.hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _title(view: TimelineView) -> str:
    count = len(view.invocations)
    by_status: dict[InvocationStatus, int] = defaultdict(int)
    for inv in view.invocations:
        by_status[inv.status] += 1
    tasks = sorted({short_task(inv.task_id) for inv in view.invocations})
    parts = [f"Timeline · {count} invocation{'s' if count != 1 else ''}"]
    shown = [f"{by_status[status]} {status.value.lower()}" for status in STATUS_ORDER if by_status.get(status)]
    if shown:
        parts.append(", ".join(shown))
    if tasks:
        parts.append(text(", ".join(tasks[:4]) + (", …" if len(tasks) > 4 else "")))
    if view.next_cursor is not None:
        parts.append("more not shown (raise limit)")
    return " · ".join(parts)
