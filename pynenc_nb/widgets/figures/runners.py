"""Runner health as a Plotly figure: one horizontal bar per runner, busy slots then free ones.

The runner's label says its state and heartbeat age, rounded to whole seconds so that a live
refresh changes the figure at most once a second per runner. A runner that is not alive (lost,
stopped) keeps its row, with its free part in the lost colour or greyed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor.models import RunnerView
from pynenc_nb.widgets.figures.common import FigureDict, base_layout, colour, empty_note, text

FREE_COLOUR = "#e0e0e0"
GONE_COLOUR = "#f5f5f5"
LOST_COLOUR = "#ef9a9a"
RUNNER_PX = 46
LABEL_CHARS = 40


def runners_figure(runners: Sequence[RunnerView], *, title: str | None = None) -> FigureDict:
    ys = list(range(len(runners)))
    busy = [min(r.busy, r.slots) if r.slots else r.busy for r in runners]
    free = [max(0, r.slots - b) for r, b in zip(runners, busy, strict=True)]
    hovers = [_hover(r) for r in runners]
    ids = [r.runner_id for r in runners]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "busy",
            "x": busy,
            "y": ys,
            "marker": {"color": colour(InvocationStatus.RUNNING)},
            "customdata": ids,
            "hovertext": hovers,
            "hovertemplate": "%{hovertext}<extra>busy</extra>",
        },
        {
            "type": "bar",
            "orientation": "h",
            "name": "free",
            "x": free,
            "y": ys,
            "marker": {"color": [_free_colour(r) for r in runners]},
            "customdata": ids,
            "hovertext": hovers,
            "hovertemplate": "%{hovertext}<extra>free</extra>",
        },
    ]
    alive = sum(1 for r in runners if r.alive)
    default_title = f"Runners · {alive} alive of {len(runners)}"
    layout = base_layout(title if title is not None else default_title, 130 + RUNNER_PX * max(1, len(runners)))
    most = max((max(r.slots, r.busy) for r in runners), default=1)
    layout.update(
        {
            "barmode": "stack",
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
            "margin": {"l": 10, "r": 10, "t": 64, "b": 40},
            "bargap": 0.35,
            "xaxis": {"title": {"text": "slots"}, "rangemode": "tozero", **({"dtick": 1} if most <= 16 else {})},
            "yaxis": {
                "tickmode": "array",
                "tickvals": ys,
                "ticktext": [_label(r) for r in runners],
                "autorange": "reversed",
                "automargin": True,
            },
            "annotations": [] if runners else [empty_note("no runner: start one with %pynenc runner start")],
        }
    )
    return {"data": data, "layout": layout}


def _label(runner: RunnerView) -> str:
    name = text(runner.name or runner.label, LABEL_CHARS)
    state = text(runner.state) if runner.alive else f"{text(runner.state)}, not alive"
    return f"{name}<br><span style='font-size:10px'>{state} · heartbeat {runner.heartbeat_age_s:.0f} s ago</span>"


def _hover(runner: RunnerView) -> str:
    return (
        f"<b>{text(runner.label)}</b><br>{text(runner.runner_cls)} on {text(runner.hostname)}, pid {runner.pid}"
        f"<br>{text(runner.state)}{'' if runner.alive else ' (not alive)'} · busy {runner.busy}/{runner.slots}"
        f"<br>heartbeat {runner.heartbeat_age_s:.0f} s ago"
    )


def _free_colour(runner: RunnerView) -> str:
    if runner.alive:
        return FREE_COLOUR
    return LOST_COLOUR if runner.state == "lost" or runner.state == "running" else GONE_COLOUR
