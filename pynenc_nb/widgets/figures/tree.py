"""The family tree as a Plotly figure: siblings of one task collapsed, coloured by task, tidy labels.

Why collapse: a fan-out of 80 calls of one task is one idea, and 80 labels side by side overlap.
Siblings of the same task (``COLLAPSE_MIN`` or more under one node) become one node labelled
``task ×N`` (their children pooled, collapsed again); its hover lists the counts by status and a
click opens its most telling member (a failed one, else one still running, else the first).

Layout: the view's rule on the collapsed tree (every leaf the next column in depth-first order, a
parent midway over its children), so without collapse nodes sit exactly at the view's ``(x, y)``.
Labels are sized from that layout for a nominal plot width: each label gets at most the room to
its neighbours in its layer (half the gap on each side), truncated with ``…`` and left out when
fewer than three characters fit; the full task id is always in the hover. Nodes are coloured by
task (the timeline's palette), outlined in the colour of their status.

Traces: the edges, then one node trace per task (by task id), so refreshes restyle in place.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
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
from pynenc_nb.widgets.figures.palette import task_colour

LAYER_PX = 90
ARGS_CHARS = 200
COLLAPSE_MIN = 3  # siblings of one task collapsed into one node from this many
NOMINAL_WIDTH_PX = 900  # the plot width labels are sized for
CHAR_PX = 7.0  # the width of a label character at the figure's font size
LABEL_PAD_PX = 6.0
MIN_LABEL_CHARS = 3
MAX_LABEL_CHARS = 28
LEGEND_TASKS = 12  # more tasks than this: no legend (it would cover the tree)


@dataclass(slots=True)
class _Group:
    """One drawn node: an invocation, or siblings of one task collapsed."""

    task_id: str
    layer: int
    members: list[TreeNode]
    children: list[_Group] = field(default_factory=list)
    x: float = 0.0
    label: str = ""


def family_tree_figure(view: FamilyTreeView, *, title: str | None = None) -> FigureDict:
    by_id = {node.invocation_id: node for node in view.nodes}
    groups = _collapse(view, by_id)
    if groups:
        _columns(groups[0])
    low, high = _padded(group.x for group in groups)
    _label(groups, (high - low) / NOMINAL_WIDTH_PX, low, high)
    data: list[dict[str, Any]] = [_edges(groups)]
    by_task: dict[str, list[_Group]] = defaultdict(list)
    for group in groups:
        by_task[group.task_id].append(group)
    legend = len(by_task) <= LEGEND_TASKS
    data += [_node_trace(task_id, by_task[task_id], legend) for task_id in sorted(by_task)]
    layers = max((group.layer for group in groups), default=0) + 1
    layout = base_layout(title if title is not None else _title(view, by_id, len(groups)), 140 + LAYER_PX * layers)
    axis = {"visible": False, "zeroline": False, "showgrid": False}
    layout.update(
        {
            "autosize": True,
            "xaxis": {**axis, "range": [low, high]},
            "yaxis": {**axis, "autorange": "reversed"},
            "showlegend": legend,
        }
    )
    return {"data": data, "layout": layout}


def _collapse(view: FamilyTreeView, by_id: dict[str, TreeNode]) -> list[_Group]:
    """The drawn nodes, root first, breadth first (a group's children pooled from its members)."""
    root = by_id.get(view.root_id)
    if root is None:
        return []
    children: dict[str, list[str]] = defaultdict(list)
    for edge in view.edges:
        if edge.child_id in by_id:
            children[edge.parent_id].append(edge.child_id)
    top = _Group(root.task_id, 0, [root])
    groups = [top]
    frontier = [top]
    while frontier:
        following: list[_Group] = []
        for group in frontier:
            kids = [by_id[kid] for member in group.members for kid in children.get(member.invocation_id, ())]
            counts = Counter(kid.task_id for kid in kids)
            pooled: dict[str, _Group] = {}
            for kid in kids:
                if counts[kid.task_id] >= COLLAPSE_MIN:
                    existing = pooled.get(kid.task_id)
                    if existing is not None:
                        existing.members.append(kid)
                        continue
                    made = pooled[kid.task_id] = _Group(kid.task_id, group.layer + 1, [kid])
                else:
                    made = _Group(kid.task_id, group.layer + 1, [kid])
                group.children.append(made)
                following.append(made)
                groups.append(made)
        frontier = following
    return groups


def _columns(root: _Group) -> None:
    """Iterative post-order, as the view's layout (deep trees must not hit the recursion limit)."""
    next_leaf = 0
    stack: list[tuple[_Group, bool]] = [(root, False)]
    while stack:
        group, expanded = stack.pop()
        if expanded:
            group.x = (group.children[0].x + group.children[-1].x) / 2
        elif group.children:
            stack.append((group, True))
            stack.extend((kid, False) for kid in reversed(group.children))
        else:
            group.x = float(next_leaf)
            next_leaf += 1


def _label(groups: list[_Group], units_per_px: float, low: float, high: float) -> None:
    """Each label as wide as the room to its layer neighbours allows (never into theirs)."""
    layers: dict[int, list[_Group]] = defaultdict(list)
    for group in groups:
        layers[group.layer].append(group)
    for row in layers.values():
        row.sort(key=lambda group: group.x)
        for index, group in enumerate(row):
            left = (group.x - row[index - 1].x) / 2 if index else group.x - low
            right = (row[index + 1].x - group.x) / 2 if index + 1 < len(row) else high - group.x
            room_px = 2 * min(left, right) / units_per_px - LABEL_PAD_PX
            chars = min(MAX_LABEL_CHARS, math.floor(room_px / CHAR_PX))
            group.label = _fitted(_name(group), chars)


def _name(group: _Group) -> str:
    name = short_task(group.task_id)
    return f"{name} ×{len(group.members)}" if len(group.members) > 1 else name


def _fitted(name: str, chars: int) -> str:
    """``name`` in at most ``chars`` characters (escaped for Plotly), or nothing below the minimum."""
    if chars < MIN_LABEL_CHARS:
        return ""
    if len(name) <= chars:
        return text(name)
    count = name.rfind(" ×")
    if count > 0 and len(name) - count + 2 <= chars:  # keep the count: "meas… ×80"
        suffix = name[count:]
        return text(name[: chars - len(suffix) - 1] + "…" + suffix)
    return text(name[: chars - 1] + "…")


def _edges(groups: list[_Group]) -> dict[str, Any]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for group in groups:
        for kid in group.children:
            xs += [group.x, kid.x, None]
            ys += [float(group.layer), float(kid.layer), None]
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


def _node_trace(task_id: str, groups: list[_Group], legend: bool) -> dict[str, Any]:
    statuses = [_status(group) for group in groups]
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": text(short_task(task_id), MAX_LABEL_CHARS),
        "legendgroup": text(task_id),
        "showlegend": legend,
        "x": [group.x for group in groups],
        "y": [float(group.layer) for group in groups],
        "text": [group.label for group in groups],
        "textposition": "bottom center",
        "textfont": {"size": 11},
        "marker": {
            "color": task_colour(task_id),
            "size": [min(28.0, 14 + 4 * math.log2(len(group.members))) for group in groups],
            "line": {"width": 2.5, "color": [colour(status) for status in statuses]},
        },
        "customdata": [_representative(group).invocation_id for group in groups],
        "hovertext": [_hover(group) for group in groups],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _status(group: _Group) -> InvocationStatus:
    """The status a group shows: a failure first, then anything still going, else the most common."""
    seen = Counter(member.status for member in group.members)
    if seen.get(InvocationStatus.FAILED):
        return InvocationStatus.FAILED
    going = [status for status in STATUS_ORDER if seen.get(status) and not status.is_final]
    return going[0] if going else seen.most_common(1)[0][0]


def _representative(group: _Group) -> TreeNode:
    status = _status(group)
    return next(member for member in group.members if member.status is status)


def _hover(group: _Group) -> str:
    if len(group.members) == 1:
        node = group.members[0]
        shown = ", ".join(f"{name}={value}" for name, value in node.args.items()) or "(none)"
        more = "" if node.children_listed else "<br>children not listed (depth or size limit)"
        return (
            f"<b>{text(node.task_id)}</b><br>{node.invocation_id[:8]} {node.status.value}"
            f"<br>args: {text(shown, ARGS_CHARS)}<br>id {node.invocation_id}{more}"
        )
    seen = Counter(member.status for member in group.members)
    counts = ", ".join(f"{status.value} {seen[status]}" for status in STATUS_ORDER if seen.get(status))
    picked = _representative(group)
    return (
        f"<b>{text(group.task_id)}</b> ×{len(group.members)}<br>{len(group.members)} invocations: {counts}"
        f"<br>click: {picked.invocation_id[:8]} {picked.status.value}<br>id {picked.invocation_id}"
    )


def _padded(values: Any) -> tuple[float, float]:
    xs = list(values)
    low, high = (min(xs), max(xs)) if xs else (0.0, 0.0)
    return low - 0.6, high + 0.6


def _title(view: FamilyTreeView, by_id: dict[str, TreeNode], drawn: int) -> str:
    root = by_id.get(view.root_id)
    name = text(short_task(root.task_id)) if root is not None else "?"
    count = len(view.nodes)
    title = f"Family tree of {name} {view.root_id[:8]} · {count} node{'s' if count != 1 else ''}, depth {view.depth}"
    if drawn < count:
        title += f" · siblings of one task collapsed ({drawn} shown)"
    if view.truncated:
        title += " · truncated"
    if view.root_parent_id is not None:
        title += f" · parent {view.root_parent_id[:8]}"
    return title
