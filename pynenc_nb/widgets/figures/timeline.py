"""The timeline as a Plotly figure: a Gantt chart with one lane per runner (and one for the queue).

Each lane is split into the sub-rows the view-model packed (a runner's rows read as its slots).
Every status segment is a horizontal bar coloured by its status; a final status is a point, drawn
as a marker at the end of the invocation. Thin lines join a parent, at the moment of the call,
to the first bar of its child; stars mark workflow roots; triangles above the lanes mark events,
and dotted lines join an event to the first bar of each invocation its triggers created (clicking
the triangle selects the first of them).

Hovers: a RUNNING bar and the last point of each invocation carry the view's full hover (task,
arguments, durations) and the last one its full id; other bars a short line, which keeps a large
figure several megabytes lighter (a segment's invocation is told by the segments that follow it:
the view lists each invocation's segments together, in history order).

The trace list is fixed (one trace per status in table order, then links, workflow roots, event
links and events), so a live refresh only restyles traces and the legend never reshuffles.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.monitor.models import Lane, TimelineView
from pynenc_nb.widgets.figures.common import (
    BAR_STATUSES,
    EVENT_COLOUR,
    FINAL_SYMBOLS,
    LINK_COLOUR,
    MARKER_STATUSES,
    STATUS_ORDER,
    WORKFLOW_COLOUR,
    FigureDict,
    base_layout,
    colour,
    empty_note,
    local_offset_s,
    seconds_text,
    short_task,
    text,
)

RUNNING = InvocationStatus.RUNNING
ROW_PX = 22  # height of one sub-row
MIN_HEIGHT_PX, MAX_HEIGHT_PX = 260, 1000
LABEL_CHARS = 48
EVENTS_Y = -1.5  # the pseudo-row above the first lane where event markers sit
BAR_WIDTH = 0.8  # of a row


@dataclass(slots=True)
class _Points:
    """Columns of one trace being built."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    hover: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Lanes:
    """Where each lane sits on the y axis, its tick and its background band."""

    first_row: dict[str, float]
    tickvals: list[float]
    ticktext: list[str]
    shapes: list[dict[str, Any]]
    rows: int


def timeline_figure(view: TimelineView, *, title: str | None = None) -> FigureDict:
    """The figure of one timeline view; times on the x axis are the kernel's local time."""
    offset = local_offset_s(view.generated_at)
    lanes = _lanes(view.lanes)
    hovers = {inv.invocation_id: inv.hover for inv in view.invocations}
    linked_parents = {link.parent_id for link in view.links}
    bars: dict[InvocationStatus, _Points] = defaultdict(_Points)
    markers: dict[InvocationStatus, _Points] = defaultdict(_Points)
    first_bar: dict[str, tuple[float, float]] = {}  # invocation -> (x ms, y) where it starts
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)  # linked parent -> (start ms, y)

    seg = view.segments
    finals = FINAL_STATUSES
    now = view.generated_at
    for i in range(len(seg)):
        first_row = lanes.first_row.get(seg.lane[i])
        if first_row is None:  # a lane the view did not list: nothing to draw it in
            continue
        invocation_id, status, start = seg.invocation_id[i], seg.status[i], seg.start[i]
        y = first_row + seg.row[i]
        x_ms = (start + offset) * 1000.0
        first_bar.setdefault(invocation_id, (x_ms, y))
        if invocation_id in linked_parents:
            spans[invocation_id].append((x_ms, y))
        last = i + 1 == len(seg) or seg.invocation_id[i + 1] != invocation_id
        if last or status is RUNNING:  # the whole story where the eye goes; a short line elsewhere
            about = hovers.get(invocation_id) or f"<b>{text(seg.task_id[i])}</b>"
        else:
            about = f"<b>{text(seg.task_id[i])}</b> {invocation_id[:8]}"
        ident = f"<br>id {invocation_id}" if last else ""
        if status in finals:
            points = markers[status]
            points.hover.append(f"{about}<br>▸ {status.value}{ident}")
        else:
            end = seg.end[i]
            seconds = max(0.0, (end if end is not None else now) - start)
            points = bars[status]
            points.base.append(x_ms)
            x_ms = seconds * 1000.0
            still = "" if end is not None else " so far"
            points.hover.append(f"{about}<br>▸ {status.value} {seconds_text(seconds)}{still}{ident}")
        points.x.append(x_ms)
        points.y.append(y)
        points.ids.append(invocation_id)

    data = [_bar_trace(status, bars.get(status)) for status in BAR_STATUSES]
    data += [_marker_trace(status, markers.get(status)) for status in MARKER_STATUSES]
    data.append(_links_trace(view, first_bar, spans))
    data.append(_workflow_trace(view, first_bar))
    data.append(_triggered_trace(view, first_bar, offset))
    data.append(_events_trace(view, offset))
    if view.events:
        lanes.tickvals.insert(0, EVENTS_Y)
        lanes.ticktext.insert(0, "events")

    height = max(MIN_HEIGHT_PX, min(MAX_HEIGHT_PX, 150 + ROW_PX * (lanes.rows + (2 if view.events else 0))))
    layout = base_layout(title if title is not None else _title(view), height)
    layout.update(
        {
            "barmode": "overlay",
            "bargap": 0,
            "xaxis": {
                "type": "date",
                "title": {"text": "local time"},
                "showgrid": True,
                "gridcolor": "#eeeeee",
                "automargin": True,  # room for the date line and the title above the legend
            },
            "yaxis": {
                "tickmode": "array",
                "tickvals": lanes.tickvals,
                "ticktext": lanes.ticktext,
                "autorange": "reversed",
                "zeroline": False,
                "showgrid": False,
                "automargin": True,
            },
            "shapes": lanes.shapes,
            "annotations": [] if view.invocations else [empty_note("no invocation in this window yet")],
        }
    )
    return {"data": data, "layout": layout}


def _lanes(lanes: tuple[Lane, ...]) -> _Lanes:
    """Lanes stacked top to bottom; an empty lane still gets one row (an idle runner shows)."""
    placed = _Lanes({}, [], [], [], 0)
    row = 0
    for index, lane in enumerate(lanes):
        rows = max(1, lane.rows)
        placed.first_row[lane.lane_id] = float(row)
        placed.tickvals.append(row + (rows - 1) / 2)
        placed.ticktext.append(text(lane.label, LABEL_CHARS))
        if index % 2 == 0:
            placed.shapes.append(
                {
                    "type": "rect",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y",
                    "y0": row - 0.5,
                    "y1": row + rows - 0.5,
                    "fillcolor": "rgba(0, 0, 0, 0.035)",
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        row += rows
    placed.rows = row
    return placed


def _bar_trace(status: InvocationStatus, points: _Points | None) -> dict[str, Any]:
    points = points or _Points()
    return {
        "type": "bar",
        "orientation": "h",
        "name": status.value,
        "legendgroup": status.value,
        "showlegend": bool(points.x),
        "base": points.base,
        "x": points.x,
        "y": points.y,
        "width": BAR_WIDTH,
        "marker": {"color": colour(status), "line": {"width": 0}},
        "customdata": points.ids,
        "hovertext": points.hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _marker_trace(status: InvocationStatus, points: _Points | None) -> dict[str, Any]:
    points = points or _Points()
    return {
        "type": "scatter",
        "mode": "markers",
        "name": status.value,
        "legendgroup": status.value,
        "showlegend": bool(points.x),
        "x": points.x,
        "y": points.y,
        "marker": {
            "color": colour(status),
            "symbol": FINAL_SYMBOLS.get(status, "circle"),
            "size": 9,
            "line": {"width": 1, "color": "white"},
        },
        "customdata": points.ids,
        "hovertext": points.hover,
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _links_trace(
    view: TimelineView, first_bar: dict[str, tuple[float, float]], spans: dict[str, list[tuple[float, float]]]
) -> dict[str, Any]:
    """A vertical line at the moment of each call, from the parent's row to the child's first bar."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for link in view.links:
        child = first_bar.get(link.child_id)
        parent_spans = spans.get(link.parent_id)
        if child is None or not parent_spans:
            continue
        at, child_y = child
        parent_y = parent_spans[0][1]
        for start, y in parent_spans:  # the parent's row when it made the call
            if start > at:
                break
            parent_y = y
        xs += [at, at, None]
        ys += [parent_y, child_y, None]
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "calls",
        "showlegend": bool(xs),
        "x": xs,
        "y": ys,
        "line": {"width": 1, "color": LINK_COLOUR},
        "hoverinfo": "skip",
    }


def _workflow_trace(view: TimelineView, first_bar: dict[str, tuple[float, float]]) -> dict[str, Any]:
    tasks = {inv.invocation_id: inv.task_id for inv in view.invocations}
    roots = [root for root in view.workflow_roots if root in first_bar]
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "workflow root",
        "showlegend": bool(roots),
        "x": [first_bar[root][0] for root in roots],
        "y": [first_bar[root][1] for root in roots],
        "marker": {"symbol": "star", "size": 12, "color": WORKFLOW_COLOUR, "line": {"width": 1, "color": "white"}},
        "customdata": roots,
        "hovertext": [f"workflow root <b>{text(tasks.get(root, ''))}</b><br>id {root}" for root in roots],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _triggered_trace(view: TimelineView, first_bar: dict[str, tuple[float, float]], offset: float) -> dict[str, Any]:
    """A dotted line from each event to the first bar of every invocation its triggers created."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for event in view.events:
        at = (event.at + offset) * 1000.0
        for invocation_id in event.invocation_ids:
            bar = first_bar.get(invocation_id)
            if bar is not None:
                xs += [at, bar[0], None]
                ys += [EVENTS_Y, bar[1], None]
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "triggered",
        "showlegend": bool(xs),
        "x": xs,
        "y": ys,
        "line": {"width": 1, "color": EVENT_COLOUR, "dash": "dot"},
        "hoverinfo": "skip",
    }


def _events_trace(view: TimelineView, offset: float) -> dict[str, Any]:
    """Triangles above the lanes; one that made invocations selects the first (its customdata)."""
    hovers = []
    for event in view.events:
        made = len(event.invocation_ids)
        created = f"<br>created {made} invocation{'s' if made != 1 else ''}" if made else ""
        hovers.append(f"event <b>{text(event.code)}</b><br>id {text(event.event_id)}{created}")
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "events",
        "showlegend": bool(view.events),
        "x": [(event.at + offset) * 1000.0 for event in view.events],
        "y": [EVENTS_Y] * len(view.events),
        "marker": {"symbol": "triangle-down", "size": 10, "color": EVENT_COLOUR},
        "customdata": [event.invocation_ids[0] if event.invocation_ids else "" for event in view.events],
        "hovertext": hovers,
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
