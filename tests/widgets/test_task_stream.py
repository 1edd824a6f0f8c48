"""The timeline as a task stream and the tidy family tree (issue 23), on synthetic histories.

Lanes are worker slots (paused invocations on one thin row per runner), the queue is one strip,
bars are coloured by task with a stable palette, consecutive bars on a slot keep a gap, and the
family tree collapses siblings of one task and never lets two labels of a layer overlap.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.display import STATUS_COLOURS
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor import Monitor
from pynenc_nb.monitor.models import FamilyTreeView, TreeEdge, TreeNode
from pynenc_nb.records import RunnerContext, RunnerInfo
from pynenc_nb.widgets.figures import family_tree_figure, task_colour, timeline_figure
from pynenc_nb.widgets.figures.tree import CHAR_PX, NOMINAL_WIDTH_PX
from tests.conformance.builders import S
from tests.monitor.conftest import stored


@pytest.fixture
def backend_kind() -> str:
    return "memory"  # the figures come from the view code, the same over every backend


def named_runner(app: Pynenc, name: str, slots: int) -> str:
    ctx = RunnerContext.current("ThreadRunner")
    app.state_backend.put_runner(RunnerInfo(ctx, time.time(), "running", slots, 0, json.dumps({"name": name})))
    return ctx.runner_id


def fan_out(app: Pynenc, runner: str, *, parents: int, children: int, t: float) -> tuple[list[str], list[str]]:
    """``parents`` invocations that each claim a slot, pause while ``children`` calls run on every
    slot of the runner one after the other, then resume and finish: a 4-slot runner's real story."""
    state = app.state_backend
    parent_ids = [
        stored(
            state,
            [
                (S.PENDING, runner, t + 0.01 * p),
                (S.RUNNING, runner, t + 0.02 + 0.01 * p),
                (S.PAUSED, runner, t + 0.5 + 0.01 * p),
                (S.RUNNING, runner, t + 100 + p),
                (S.SUCCESS, runner, t + 100.5 + p),
            ],
            task_id="tests.fan",
        )
        for p in range(parents)
    ]
    child_ids = []
    slots = parents
    for c in range(children):
        start = t + 1 + (c // slots) * 1.0  # back to back on each slot: the next starts where one ends
        child_ids.append(
            stored(
                state,
                [(S.PENDING, runner, start), (S.RUNNING, runner, start + 0.05), (S.SUCCESS, runner, start + 1.0)],
                task_id="tests.measure",
                parent=parent_ids[c % parents],
            )
        )
    return parent_ids, child_ids


def bar_rows(figure: dict[str, Any]) -> set[float]:
    return {y for trace in figure["data"] if trace["type"] == "bar" for y in trace["y"]}


def test_rows_per_runner_never_exceed_its_slots_plus_one(app: Pynenc) -> None:
    # Given a 4-slot runner whose 4 parents pause while 40 children run on its slots
    runner = named_runner(app, "p1", 4)
    fan_out(app, runner, parents=4, children=40, t=time.time() + 1)
    # When the timeline view and its figure are built
    view = Monitor(app).timeline(None, None)
    figure = timeline_figure(view)
    # Then the runner has 4 slot rows and one paused row, in the view and in the figure
    (lane,) = [lane for lane in view.lanes if lane.kind == "runner"]
    assert lane.slots == 4 and lane.rows <= lane.slots + 1 and lane.paused_row == lane.rows - 1
    assert len(bar_rows(figure)) <= lane.slots + 1
    paused = next(trace for trace in figure["data"] if trace["name"] == "paused")
    assert len(paused["x"]) == 4 and set(paused["y"]) == {max(bar_rows(figure))}
    assert paused["marker"]["pattern"]["shape"], "paused bands are hatched"
    # And the lane is labelled with its launch name and slot count, not the runner's class and pid
    ticks = figure["layout"]["yaxis"]["ticktext"]
    assert any(tick.startswith("p1") and "4 slots" in tick for tick in ticks), ticks
    assert not any("ThreadRunner(" in tick for tick in ticks)


def test_the_queue_is_one_trace_whatever_the_backlog(app: Pynenc) -> None:
    runner = named_runner(app, "p1", 2)
    t = time.time() + 1
    stored(app.state_backend, [(S.PENDING, runner, t), (S.RUNNING, runner, t + 0.1)], task_id="tests.busy")
    small = timeline_figure(Monitor(app).timeline(None, None))
    for _ in range(300):  # a backlog that once took 300 rows
        stored(app.state_backend, [], task_id="tests.waiting")
    view = Monitor(app).timeline(None, None)
    large = timeline_figure(view)
    for figure in (small, large):
        queue = [trace for trace in figure["data"] if trace["name"] == "queued"]
        assert len(queue) == 1 and queue[0]["fill"] == "tozeroy" and queue[0]["line"]["shape"] == "hv"
        assert queue[0]["yaxis"] == "y2", "the strip has its own count axis above the lanes"
    assert large["layout"]["height"] == small["layout"]["height"], "the backlog takes no rows"
    assert len(bar_rows(large)) == len(bar_rows(small)) == 1
    queue = next(trace for trace in large["data"] if trace["name"] == "queued")
    peak_count = max(queue["y"])
    assert peak_count in (300, 301), peak_count  # the busy one may still be registered when they come
    peak = queue["hovertext"][queue["y"].index(peak_count)]
    oldest = "tests.busy" if peak_count == 301 else "tests.waiting"
    assert f"{peak_count} waiting" in peak and f"oldest: {oldest[6:]} ({oldest})" in peak, peak


def test_bars_are_coloured_by_task_with_a_stable_palette(app: Pynenc) -> None:
    runner = named_runner(app, "p1", 4)
    t = time.time() + 1
    for task in ("tests.alpha", "tests.beta"):
        stored(
            app.state_backend,
            [(S.PENDING, runner, t), (S.RUNNING, runner, t + 0.1), (S.SUCCESS, runner, t + 1)],
            task_id=task,
        )
    first = timeline_figure(Monitor(app).timeline(None, None))
    stored(app.state_backend, [(S.PENDING, runner, t + 2), (S.RUNNING, runner, t + 2.1)], task_id="tests.aardvark")
    second = timeline_figure(Monitor(app).timeline(None, None))

    def colours(figure: dict[str, Any]) -> dict[str, str]:
        return {trace["legendgroup"]: trace["marker"]["color"] for trace in figure["data"] if trace["type"] == "bar"}

    one, two = colours(first), colours(second)
    assert one["tests.alpha"] == two["tests.alpha"] == task_colour("tests.alpha")
    assert one["tests.beta"] == two["tests.beta"] == task_colour("tests.beta")
    assert len({two["tests.alpha"], two["tests.beta"], two["tests.aardvark"]}) == 3
    assert task_colour("tests.alpha") == task_colour("tests.alpha") and task_colour("x").startswith("#")
    legend = [trace["name"] for trace in second["data"] if trace["type"] == "bar" and trace.get("showlegend")]
    assert {"alpha", "beta", "aardvark"} <= set(legend), "a legend by task"


def test_consecutive_invocations_on_a_slot_keep_a_gap_and_failures_stand_out(app: Pynenc) -> None:
    runner = named_runner(app, "p1", 1)
    t = time.time() + 1
    state = app.state_backend
    ok = stored(state, [(S.PENDING, runner, t), (S.RUNNING, runner, t + 0.01), (S.SUCCESS, runner, t + 1)])
    bad = stored(state, [(S.PENDING, runner, t + 1), (S.RUNNING, runner, t + 1.01), (S.FAILED, runner, t + 2)])
    figure = timeline_figure(Monitor(app).timeline(None, None))
    spans: dict[str, list[float]] = {}
    for trace in figure["data"]:
        if trace["type"] == "bar" and trace["name"] != "paused":
            for base, width, ident in zip(trace["base"], trace["x"], trace["customdata"], strict=True):
                low, high = spans.get(ident, [base, base + width])
                spans[ident] = [min(low, base), max(high, base + width)]
    assert spans[ok][1] < spans[bad][0], "a thin gap between back-to-back bars"
    measured = next(trace for trace in figure["data"] if trace.get("legendgroup") == "tests.synthetic")
    outlines = dict(zip(measured["customdata"], measured["marker"]["line"]["color"], strict=True))
    assert outlines[bad] != outlines[ok], "a failed invocation has a red outline"
    failed = next(trace for trace in figure["data"] if trace["name"] == "FAILED")
    assert failed["customdata"] == [bad]


def test_a_fan_out_draws_thinned_call_links(app: Pynenc) -> None:
    runner = named_runner(app, "p1", 4)
    fan_out(app, runner, parents=1, children=40, t=time.time() + 1)
    view = Monitor(app).timeline(None, None)
    calls = next(trace for trace in timeline_figure(view)["data"] if trace["name"] == "calls")
    assert len(view.links) == 40
    assert len(calls["x"]) <= 3 * 2, "one bracket per parent, not a curtain of 40 lines"


def test_an_empty_timeline_says_no_invocations_yet_without_a_date_axis(app: Pynenc) -> None:
    figure = timeline_figure(Monitor(app).timeline(time.time() - 60, None))
    layout = figure["layout"]
    assert layout["annotations"][0]["text"] == "no invocations yet"
    assert layout["xaxis"]["visible"] is False and layout["yaxis"]["visible"] is False
    assert all(not trace.get("x") for trace in figure["data"])


def test_the_figure_is_responsive_and_its_height_follows_its_rows(app: Pynenc) -> None:
    few = named_runner(app, "p1", 1)
    t = time.time() + 1
    stored(app.state_backend, [(S.PENDING, few, t), (S.RUNNING, few, t + 0.1)])
    small = timeline_figure(Monitor(app).timeline(None, None))["layout"]
    for index in range(12):
        named_runner(app, f"extra{index}", 8)
    big = timeline_figure(Monitor(app).timeline(None, None))["layout"]
    assert small["autosize"] is True and "width" not in small
    assert 240 <= small["height"] < big["height"] <= 1000


# --- the family tree ---------------------------------------------------------------------------


def node(invocation_id: str, task_id: str, layer: int, status: InvocationStatus = S.SUCCESS) -> TreeNode:
    return TreeNode(invocation_id, task_id, status, {}, 0.0, 0.0, layer, 0.0, float(layer), True)


def tree(children_of: dict[str, list[tuple[str, str]]], root: tuple[str, str]) -> FamilyTreeView:
    """A view from ``{parent id: [(child id, task), ...]}``; positions are the figure's business."""
    nodes = [node(root[0], root[1], 0)]
    layer_of = {root[0]: 0}
    edges = []
    for parent, kids in children_of.items():
        for kid, task in kids:
            layer_of[kid] = layer_of[parent] + 1
            nodes.append(node(kid, task, layer_of[kid], S.FAILED if kid.endswith("7") else S.SUCCESS))
            edges.append(TreeEdge(parent, kid))
    return FamilyTreeView(root[0], None, 3, tuple(nodes), tuple(edges), False, time.time())


def labels(figure: dict[str, Any]) -> list[tuple[float, float, str]]:
    return [
        (x, y, label)
        for trace in figure["data"]
        if trace.get("mode", "").endswith("text")
        for x, y, label in zip(trace["x"], trace["y"], trace["text"], strict=True)
        if label
    ]


def test_no_two_labels_of_a_tree_layer_overlap_at_500_nodes() -> None:
    # Given 500 nodes: 20 children of distinct tasks, each with 25 grandchildren of 12 tasks
    kids = [(f"k{i}", f"tests.module.child_task_number_{i}") for i in range(20)]
    grandkids = {kid: [(f"{kid}g{j}", f"tests.module.grandchild_{j % 12}") for j in range(25)] for kid, _ in kids}
    view = tree({"root": kids, **grandkids}, ("root", "tests.module.the_root_of_it_all"))
    assert len(view.nodes) == 521
    # When its figure is built
    figure = family_tree_figure(view)
    # Then, with label extents from the layout (characters at CHAR_PX on the nominal width), no two
    # labels of one layer overlap
    low, high = figure["layout"]["xaxis"]["range"]
    units_per_px = (high - low) / NOMINAL_WIDTH_PX
    by_layer: dict[float, list[tuple[float, float]]] = {}
    for x, y, label in labels(figure):
        half = len(label) * CHAR_PX * units_per_px / 2
        by_layer.setdefault(y, []).append((x - half, x + half))
    assert by_layer, "some labels are shown"
    for extents in by_layer.values():
        extents.sort()
        for (_, end), (start, _) in zip(extents, extents[1:], strict=False):
            assert end <= start + 1e-9, extents
    # And siblings of one task were collapsed into one node with a count
    hovers = [hover for trace in figure["data"] for hover in trace.get("hovertext", [])]
    assert sum("grandchild_0</b> ×3" in hover for hover in hovers) == 20
    shown = sum(len(trace["x"]) for trace in figure["data"] if trace.get("mode", "").startswith("markers"))
    assert shown == 1 + 20 + 20 * (1 + 11 * 2)  # of the 25, grandchild_0 thrice (collapsed), 11 tasks twice


def test_a_fan_out_of_one_task_is_one_node_with_its_count_coloured_by_task() -> None:
    view = tree({"root": [(f"m{i}", "tests.measure") for i in range(80)]}, ("root", "tests.fan"))
    figure = family_tree_figure(view)
    nodes = {trace["legendgroup"]: trace for trace in figure["data"] if trace.get("mode", "").startswith("markers")}
    measure = nodes["tests.measure"]
    assert len(measure["x"]) == 1 and "×80" in measure["text"][0]
    assert measure["marker"]["color"] == task_colour("tests.measure")
    assert "80 invocations" in measure["hovertext"][0] and "FAILED 8" in measure["hovertext"][0]
    assert measure["marker"]["line"]["color"][0] == STATUS_COLOURS[S.FAILED], "one failed member: a red outline"
    assert nodes["tests.fan"]["marker"]["color"] == task_colour("tests.fan")


def test_long_tree_labels_are_truncated_with_the_full_name_on_hover() -> None:
    long = "tests.module." + "very_long_task_name_" * 4
    view = tree({"root": [("a", long), ("b", "tests.other")]}, ("root", "tests.root"))
    figure = family_tree_figure(view)
    (shown,) = [label for _, _, label in labels(figure) if label.startswith("very")]
    assert shown.endswith("…") and len(shown) < len(long)
    hovers = [h for trace in figure["data"] for h in trace.get("hovertext", [])]
    assert any(long in hover for hover in hovers)
