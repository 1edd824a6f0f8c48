"""The timeline's marks across lanes: call links (thinned), workflow roots, events and the
dotted lines from an event to the invocations its triggers created."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pynenc_nb.monitor.models import TimelineView
from pynenc_nb.widgets.figures.common import EVENT_COLOUR, LINK_COLOUR, WORKFLOW_COLOUR, text

EVENTS_Y = -1.5  # the pseudo-row above the first lane where event markers sit
LINKS_EACH = 3  # a parent with more children drawn gets one bracket instead of a line each


def links_trace(
    view: TimelineView,
    first_seen: dict[str, float],
    first_bar: dict[str, tuple[float, float]],
    spans: dict[str, list[tuple[float, float]]],
) -> dict[str, Any]:
    """A vertical line at the moment of each call, from the parent's row to the child's first bar;
    a parent with many children gets one line, at its first call, reaching the farthest child."""
    calls: dict[str, list[tuple[float, float]]] = defaultdict(list)  # parent -> (call ms, child y)
    for link in view.links:
        bar = first_bar.get(link.child_id)
        at = first_seen.get(link.child_id)
        if bar is not None and at is not None and spans.get(link.parent_id):
            calls[link.parent_id].append((at, bar[1]))
    xs: list[float | None] = []
    ys: list[float | None] = []
    for parent_id, children in calls.items():
        parent_spans = spans[parent_id]

        def row_at(at: float, parent_spans: list[tuple[float, float]] = parent_spans) -> float:
            parent_y = parent_spans[0][1]
            for start, y in parent_spans:  # the parent's row when it made the call
                if start > at:
                    break
                parent_y = y
            return parent_y

        if len(children) <= LINKS_EACH:
            for at, child_y in children:
                xs += [at, at, None]
                ys += [row_at(at), child_y, None]
            continue
        at = min(call for call, _ in children)
        parent_y = row_at(at)
        farthest = max((child_y for _, child_y in children), key=lambda y: abs(y - parent_y))
        xs += [at, at, None]
        ys += [parent_y, farthest, None]
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


def workflow_trace(view: TimelineView, first_bar: dict[str, tuple[float, float]]) -> dict[str, Any]:
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


def triggered_trace(view: TimelineView, first_bar: dict[str, tuple[float, float]], offset: float) -> dict[str, Any]:
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


def events_trace(view: TimelineView, offset: float) -> dict[str, Any]:
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
