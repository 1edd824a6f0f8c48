"""What every figure builder shares: the figure type, status colours and order, times, safe text.

Figures are plain Plotly JSON (``{"data": [...], "layout": {...}}``) built from monitor views, so
they can be tested, diffed, hashed and sent to a browser without Plotly or a kernel.
"""

from __future__ import annotations

import html
import time
from typing import Any, TypedDict

from pynenc_nb.display import STATUS_COLOURS
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus


class FigureDict(TypedDict):
    """A Plotly figure as JSON: what crosses to the browser (comm update or static output)."""

    data: list[dict[str, Any]]
    layout: dict[str, Any]


# Table order, so a figure always has the same traces in the same order: live updates then only
# restyle existing traces, and colours and legend entries never move between refreshes.
STATUS_ORDER: tuple[InvocationStatus, ...] = tuple(InvocationStatus)
BAR_STATUSES: tuple[InvocationStatus, ...] = tuple(s for s in STATUS_ORDER if s not in FINAL_STATUSES)
MARKER_STATUSES: tuple[InvocationStatus, ...] = tuple(s for s in STATUS_ORDER if s in FINAL_STATUSES)
FINAL_SYMBOLS: dict[InvocationStatus, str] = {
    InvocationStatus.SUCCESS: "circle",
    InvocationStatus.FAILED: "x",
    InvocationStatus.CONCURRENCY_CONTROLLED_FINAL: "square",
}
LINK_COLOUR = "rgba(97, 97, 97, 0.55)"
EVENT_COLOUR = "#5e35b1"
WORKFLOW_COLOUR = "#212121"
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12}


def colour(status: InvocationStatus) -> str:
    """The one colour table of the project (``pynenc_nb.display``): badges and figures agree."""
    return STATUS_COLOURS[status]


def text(value: str, limit: int | None = None) -> str:
    """Task data for Plotly labels and hovers, which read a subset of HTML: escaped, bounded."""
    if limit is not None and len(value) > limit:
        value = value[:limit] + "…"
    return html.escape(value)


def short_task(task_id: str) -> str:
    """``module.func`` → ``func``: what fits under a node or in a title."""
    return task_id.rsplit(".", 1)[-1]


def local_offset_s(at: float) -> float:
    """Seconds to add to an epoch time so a Plotly date axis (which shows UTC) reads local time.

    Why: epoch milliseconds are the cheapest dates to build and send (one number each), but
    Plotly draws them in UTC; the kernel's local time is what users compare with their clock.
    """
    return float(time.localtime(at).tm_gmtoff)


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def base_layout(title: str, height: int) -> dict[str, Any]:
    """Layout keys every figure shares; ``uirevision`` keeps the user's zoom across live updates."""
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 14}},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 40},
        "font": FONT,
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "uirevision": "pynenc",
        # at the figure's bottom edge, not under the plot area: never over an axis's ticks or title
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
    }


def empty_note(message: str) -> dict[str, Any]:
    """An annotation in the middle of an empty figure, saying why it is empty and what to do."""
    return {
        "text": text(message),
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 13, "color": "#757575"},
    }
