"""The family tree as a Plotly figure: the view-model's layered layout, nodes coloured by status.

Nodes sit exactly at the view's ``(x, y)`` (``y`` is the generation, drawn downwards); edges are
straight lines from parent to child. One node trace per status, in table order, plus the edges:
a fixed trace list, so live refreshes restyle and the legend stays put.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor.models import FamilyTreeView, TreeNode
from pynenc_nb.widgets.figures.common import (
    LINK_COLOUR,
    STATUS_ORDER,
    FigureDict,
    base_layout,
    colour,
    short_task,
    text,
)

LAYER_PX = 90
LABELLED_NODES = 60  # above this, names only in the hover (labels would overlap)
ARGS_CHARS = 200


def family_tree_figure(view: FamilyTreeView, *, title: str | None = None) -> FigureDict:
    by_id = {node.invocation_id: node for node in view.nodes}
    labelled = len(view.nodes) <= LABELLED_NODES
    data: list[dict[str, Any]] = [_edges(view, by_id)]
    for status in STATUS_ORDER:
        nodes = [node for node in view.nodes if node.status is status]
        data.append(_node_trace(status, nodes, labelled))
    layers = max((node.layer for node in view.nodes), default=0) + 1
    layout = base_layout(title if title is not None else _title(view, by_id), 140 + LAYER_PX * layers)
    axis = {"visible": False, "zeroline": False, "showgrid": False}
    layout.update(
        {
            "xaxis": {**axis, "range": _padded(node.x for node in view.nodes)},
            "yaxis": {**axis, "autorange": "reversed"},
            "showlegend": True,
        }
    )
    return {"data": data, "layout": layout}


def _edges(view: FamilyTreeView, by_id: dict[str, TreeNode]) -> dict[str, Any]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in view.edges:
        parent, child = by_id.get(edge.parent_id), by_id.get(edge.child_id)
        if parent is None or child is None:
            continue
        xs += [parent.x, child.x, None]
        ys += [parent.y, child.y, None]
    return {
        "type": "scatter",
        "mode": "lines",
        "name": "calls",
        "showlegend": False,
        "x": xs,
        "y": ys,
        "line": {"width": 1, "color": LINK_COLOUR},
        "hoverinfo": "skip",
    }


def _node_trace(status: InvocationStatus, nodes: list[TreeNode], labelled: bool) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers+text" if labelled else "markers",
        "name": status.value,
        "showlegend": bool(nodes),
        "x": [node.x for node in nodes],
        "y": [node.y for node in nodes],
        "text": [text(short_task(node.task_id), 24) for node in nodes] if labelled else [],
        "textposition": "bottom center",
        "marker": {"color": colour(status), "size": 16 if labelled else 9, "line": {"width": 1, "color": "white"}},
        "customdata": [node.invocation_id for node in nodes],
        "hovertext": [_hover(node) for node in nodes],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _hover(node: TreeNode) -> str:
    shown = ", ".join(f"{name}={value}" for name, value in node.args.items()) or "(none)"
    more = "" if node.children_listed else "<br>children not listed (depth or size limit)"
    return (
        f"<b>{text(node.task_id)}</b><br>{node.invocation_id[:8]} {node.status.value}"
        f"<br>args: {text(shown, ARGS_CHARS)}<br>id {node.invocation_id}{more}"
    )


def _padded(values: Any) -> list[float]:
    xs = list(values)
    low, high = (min(xs), max(xs)) if xs else (0.0, 0.0)
    return [low - 0.6, high + 0.6]


def _title(view: FamilyTreeView, by_id: dict[str, TreeNode]) -> str:
    root = by_id.get(view.root_id)
    name = text(short_task(root.task_id)) if root is not None else "?"
    count = len(view.nodes)
    title = f"Family tree of {name} {view.root_id[:8]} · {count} node{'s' if count != 1 else ''}, depth {view.depth}"
    if view.truncated:
        title += " · truncated"
    if view.root_parent_id is not None:
        title += f" · parent {view.root_parent_id[:8]}"
    return title
