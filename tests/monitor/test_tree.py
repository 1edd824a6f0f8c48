"""Monitor.family_tree: descendants by generation, a layout without overlaps, a bounded walk."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvalidMonitorQueryError, InvocationNotFoundError
from pynenc_nb.monitor import FamilyTreeView, Monitor
from pynenc_nb.ports import StateBackend
from tests.monitor.conftest import Workload, stored


def grow(state: StateBackend, root: str, generations: int, rng: random.Random, most: int = 4) -> dict[str, list[str]]:
    """Random children under ``root`` for ``generations`` levels; returns parent -> children (oldest first)."""
    children: dict[str, list[str]] = defaultdict(list)
    frontier = [root]
    clock = 1000.0
    for _ in range(generations):
        next_frontier = []
        for parent in frontier:
            for _ in range(rng.randint(0, most)):
                clock += 1
                child = stored(state, [], parent=parent, created_at=clock)
                children[parent].append(child)
                next_frontier.append(child)
        frontier = next_frontier
    return children


def assert_layout_is_clean(view: FamilyTreeView) -> None:
    layers: dict[int, list[float]] = defaultdict(list)
    for node in view.nodes:
        assert node.y == float(node.layer)
        layers[node.layer].append(node.x)
    for xs in layers.values():
        xs.sort()
        assert all(b - a >= 1.0 for a, b in zip(xs, xs[1:], strict=False)), f"overlapping nodes in a layer: {xs}"


def test_tree_lists_descendants_in_layers_without_overlap(app: Pynenc, monitor: Monitor) -> None:
    # Given a random tree four generations deep
    state = app.state_backend
    root = stored(state, [])
    children = grow(state, root, 4, random.Random(11))
    # When its tree is read three generations down
    view = monitor.family_tree(root, depth=3)
    # Then it holds exactly the nodes down to the third generation, each in its generation's layer
    expected_layer = {root: 0}
    for _ in range(3):
        for parent, kids in children.items():
            if parent in expected_layer and expected_layer[parent] < 3:
                expected_layer.update({kid: expected_layer[parent] + 1 for kid in kids})
    assert {n.invocation_id: n.layer for n in view.nodes} == expected_layer
    assert not view.truncated and view.root_id == root and view.root_parent_id is None
    assert {(e.parent_id, e.child_id) for e in view.edges} == {
        (p, k) for p, kids in children.items() if p in expected_layer and expected_layer[p] < 3 for k in kids
    }
    # And the layout never overlaps, children keep their call order, parents sit above their children
    assert_layout_is_clean(view)
    x = {n.invocation_id: n.x for n in view.nodes}
    for parent, kids in children.items():
        if parent in expected_layer and expected_layer[parent] < 3 and kids:
            assert [x[k] for k in kids] == sorted(x[k] for k in kids)
            assert x[kids[0]] <= x[parent] <= x[kids[-1]]
    listed = {n.invocation_id: n.children_listed for n in view.nodes}
    assert all(listed[n] == (layer < 3) for n, layer in expected_layer.items())
    assert json.loads(json.dumps(view.to_json())) == view.to_json()


def test_node_budget_truncates_and_says_so(app: Pynenc, monitor: Monitor) -> None:
    state = app.state_backend
    root = stored(state, [])
    kids = [stored(state, [], parent=root, created_at=2000.0 + i) for i in range(30)]
    view = monitor.family_tree(root, depth=2, max_nodes=10)
    assert view.truncated and len(view.nodes) == 10
    # the children changed last (what is happening now), shown in call order
    latest = sorted(kids, key=lambda k: (state.get(k).updated_at, k))[-9:]  # type: ignore[union-attr]
    assert [n.invocation_id for n in view.nodes[1:]] == [k for k in kids if k in latest]
    assert not next(n for n in view.nodes if n.invocation_id == root).children_listed
    assert_layout_is_clean(view)
    exact = monitor.family_tree(root, depth=2, max_nodes=31)
    assert not exact.truncated and len(exact.nodes) == 31


def test_children_are_read_across_pages(app: Pynenc, monitor: Monitor) -> None:
    state = app.state_backend
    root = stored(state, [])
    kids = [stored(state, [], parent=root, created_at=3000.0 + i) for i in range(450)]
    view = monitor.family_tree(root, depth=1)
    assert [n.invocation_id for n in view.nodes[1:]] == kids
    assert not view.truncated and len(view.edges) == 450
    assert_layout_is_clean(view)


def test_real_nested_call(monitor: Monitor, workload: Workload) -> None:
    view = monitor.family_tree(workload.outer)
    assert [(n.invocation_id, n.layer) for n in view.nodes] == [(workload.outer, 0), (workload.inner, 1)]
    assert view.nodes[1].args == {"a": "1", "b": "1"}
    up = monitor.family_tree(workload.inner, depth=0)
    assert up.root_parent_id == workload.outer and len(up.nodes) == 1 and not up.nodes[0].children_listed


def test_unknown_invocation_and_bad_depth(monitor: Monitor) -> None:
    with pytest.raises(InvocationNotFoundError):
        monitor.family_tree("0" * 32)
    with pytest.raises(InvalidMonitorQueryError):
        monitor.family_tree("0" * 32, depth=-1)
