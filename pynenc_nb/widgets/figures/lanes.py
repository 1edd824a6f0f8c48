"""Where the timeline's runner lanes sit: rows stacked top to bottom, ticks and background bands.

A lane is a runner: its slot rows, then its paused row when it has one; the queue is not a lane
of the figure (it has its strip, ``queue.py``). The log explorer highlights lanes from the same
placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynenc_nb.monitor.models import QUEUED_LANE, Lane
from pynenc_nb.widgets.figures.common import text

LABEL_CHARS = 32


@dataclass(slots=True)
class LanePlacement:
    """Where each runner lane sits on the y axis (the queue has its strip), its ticks and bands."""

    first_row: dict[str, float]
    rows: dict[str, int]
    tick_of: dict[str, int]  # lane id -> index of its tick in ticktext
    tickvals: list[float]
    ticktext: list[str]
    shapes: list[dict[str, Any]]
    total_rows: int


def place_lanes(lanes: tuple[Lane, ...]) -> LanePlacement:
    """Runner lanes stacked top to bottom; an empty lane still gets one row (an idle runner shows)."""
    placed = LanePlacement({}, {}, {}, [], [], [], 0)
    row = 0
    index = 0
    for lane in lanes:
        if lane.lane_id == QUEUED_LANE:
            continue
        rows = max(1, lane.rows)
        slot_rows = rows - 1 if lane.paused_row is not None and rows > 1 else rows
        placed.first_row[lane.lane_id] = float(row)
        placed.rows[lane.lane_id] = rows
        placed.tick_of[lane.lane_id] = len(placed.ticktext)
        placed.tickvals.append(row + (slot_rows - 1) / 2)
        placed.ticktext.append(_lane_label(lane))
        if lane.paused_row is not None:
            placed.tickvals.append(row + lane.paused_row)
            placed.ticktext.append("<span style='font-size:10px;color:#757575'>paused</span>")
        if index % 2 == 0:
            placed.shapes.append(_band(row, rows))
        row += rows
        index += 1
    placed.total_rows = row
    return placed


def _lane_label(lane: Lane) -> str:
    label = text(lane.label, LABEL_CHARS)
    if lane.slots:
        return f"{label} · {lane.slots} slot{'s' if lane.slots != 1 else ''}"
    return label


def _band(row: int, rows: int) -> dict[str, Any]:
    return {
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
