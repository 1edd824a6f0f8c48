"""The family tree of an invocation: descendants read generation by generation, then laid out.

Children come from the indexed ``parent_invocation_id`` filter, page by page, so the cost is the
number of nodes shown. A node budget bounds the whole walk; the view says when it cut.

Layout: ``y`` is the generation; ``x`` gives every leaf the next column in depth-first order and
puts a parent midway between its first and last child. A layer is then in depth-first order with
nodes at least one column apart, so nodes never overlap and edges never cross.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynenc_nb.exceptions import InvalidMonitorQueryError, InvocationNotFoundError
from pynenc_nb.monitor.common import args_of, check_limit
from pynenc_nb.monitor.models import FamilyTreeView, TreeEdge, TreeNode
from pynenc_nb.records import InvocationFilter, InvocationRecord

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource

MAX_NODES = 500
_PAGE = 200  # children per query


def build_family_tree(app: MonitorSource, invocation_id: str, depth: int, max_nodes: int, now: float) -> FamilyTreeView:
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise InvalidMonitorQueryError(f"depth must be 0 or more, got {depth!r}", argument="depth", value=depth)
    check_limit(max_nodes, "max_nodes")
    root = app.state_backend.get(invocation_id)
    if root is None:
        raise InvocationNotFoundError(f"invocation {invocation_id} does not exist", invocation_id=invocation_id)

    records: dict[str, InvocationRecord] = {root.invocation_id: root}
    layer_of: dict[str, int] = {root.invocation_id: 0}
    children: dict[str, list[str]] = {}  # parent -> children read (oldest first)
    listed: set[str] = set()  # nodes whose children were all read
    truncated = False
    frontier = [root.invocation_id]
    for layer in range(1, depth + 1):
        next_frontier: list[str] = []
        for parent_id in frontier:
            kids, complete = _children(app, parent_id, max_nodes - len(records))
            kids = [k for k in kids if k.invocation_id not in records]  # parent links never cycle; be safe
            for kid in kids:
                records[kid.invocation_id] = kid
                layer_of[kid.invocation_id] = layer
            children[parent_id] = [k.invocation_id for k in kids]
            next_frontier += children[parent_id]
            if not complete:
                truncated = True
                break
            listed.add(parent_id)
        if truncated:
            break
        frontier = next_frontier

    x = _columns(root.invocation_id, children)
    nodes = tuple(
        TreeNode(
            invocation_id=record.invocation_id,
            task_id=record.task_id,
            status=record.status,
            args=args_of(record),
            created_at=record.created_at,
            updated_at=record.updated_at,
            layer=layer_of[record.invocation_id],
            x=x[record.invocation_id],
            y=float(layer_of[record.invocation_id]),
            children_listed=record.invocation_id in listed,
        )
        for record in records.values()
    )
    edges = tuple(TreeEdge(parent, child) for parent, kids in children.items() for child in kids)
    return FamilyTreeView(
        root_id=root.invocation_id,
        root_parent_id=root.parent_invocation_id,
        depth=depth,
        nodes=nodes,
        edges=edges,
        truncated=truncated,
        generated_at=now,
    )


def _children(app: MonitorSource, parent_id: str, budget: int) -> tuple[list[InvocationRecord], bool]:
    """Up to ``budget`` children in call order, and whether that is all of them.

    Pages come most recently updated first (the index order), so a cut keeps the children that
    changed last: what is happening now.
    """
    found: list[InvocationRecord] = []
    cursor: str | None = None
    flt = InvocationFilter(parent_invocation_id=parent_id)
    while True:
        page, cursor = app.state_backend.query(
            flt, limit=min(_PAGE, budget - len(found) + 1), cursor=cursor, arguments=False
        )
        found += page
        if len(found) > budget:
            return sorted(found[:budget], key=_age), False
        if cursor is None:
            return sorted(found, key=_age), True


def _age(record: InvocationRecord) -> tuple[float, str]:
    return record.created_at, record.invocation_id


def _columns(root_id: str, children: dict[str, list[str]]) -> dict[str, float]:
    """Iterative post-order (deep trees must not hit the recursion limit)."""
    x: dict[str, float] = {}
    next_leaf = 0
    stack: list[tuple[str, bool]] = [(root_id, False)]
    while stack:
        node, expanded = stack.pop()
        kids = children.get(node, [])
        if expanded:
            x[node] = (x[kids[0]] + x[kids[-1]]) / 2
        elif kids:
            stack.append((node, True))
            stack.extend((kid, False) for kid in reversed(kids))
        else:
            x[node] = float(next_leaf)
            next_leaf += 1
    return x
