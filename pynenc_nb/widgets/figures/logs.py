"""The log explorer's mini-timeline: the timeline figure of the invocations a log mentions, with
the lanes of the runners and workers it names highlighted (a band behind them, a bold label)."""

from __future__ import annotations

from typing import Any

from pynenc_nb.monitor.log_models import LogExplorerView
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.widgets.figures.lanes import place_lanes
from pynenc_nb.widgets.figures.timeline import timeline_figure

HIGHLIGHT_COLOUR = "rgba(255, 193, 7, 0.22)"


def log_timeline_figure(view: LogExplorerView) -> FigureDict:
    found = sum(1 for invocation in view.invocations if invocation.found)
    figure = timeline_figure(view.timeline, title=f"{found} invocations in the pasted log")
    highlighted = set(view.highlighted_lanes)
    if not highlighted:
        return figure
    layout: dict[str, Any] = figure["layout"]
    ticks: list[str] = list(layout["yaxis"]["ticktext"])
    offset = 1 if view.timeline.events else 0  # the events row's tick comes first
    placed = place_lanes(view.timeline.lanes)  # where the timeline figure put each runner lane
    shapes: list[dict[str, Any]] = list(layout.get("shapes", []))
    for lane_id, first_row in placed.first_row.items():
        if lane_id not in highlighted:
            continue
        shapes.append(
            {
                "type": "rect",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": first_row - 0.5,
                "y1": first_row + placed.rows[lane_id] - 0.5,
                "fillcolor": HIGHLIGHT_COLOUR,
                "line": {"width": 0},
                "layer": "below",
                "name": f"highlight {lane_id}",
            }
        )
        tick = placed.tick_of[lane_id] + offset
        ticks[tick] = f"<b>{ticks[tick]}</b>"
    layout["shapes"] = shapes
    layout["yaxis"]["ticktext"] = ticks
    return figure
