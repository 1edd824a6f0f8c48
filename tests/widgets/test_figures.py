"""Figure builders: monitor view in, Plotly JSON out; no kernel, no Plotly needed."""

from __future__ import annotations

import json
import time

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.display import STATUS_COLOURS, badge
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.monitor import Monitor, TimelineView
from pynenc_nb.monitor.models import QUEUED_LANE
from pynenc_nb.records import RunnerContext, RunnerInfo, TriggerRun, new_id
from pynenc_nb.widgets.figures import family_tree_figure, runners_figure, task_colour, timeline_figure
from pynenc_nb.widgets.figures.common import FigureDict, local_offset_s
from pynenc_nb.widgets.figures.timeline import EVENTS_Y, GAP_FRACTION, INSTANT_CLAIM_S
from tests.conformance.builders import S
from tests.monitor.conftest import Workload, add_runner, run_workload, stored


def traces(figure: FigureDict) -> dict[str, dict]:  # type: ignore[type-arg]
    by_name = {trace["name"]: trace for trace in figure["data"]}
    assert len(by_name) == len(figure["data"]), "trace names are unique"
    return by_name


def lane_rows(view: TimelineView) -> dict[str, float]:
    """Runner lanes stacked top to bottom (the queue is a strip), each at least one row high: the first row of each."""
    first, row = {}, 0
    for lane in view.lanes:
        if lane.lane_id == QUEUED_LANE:
            continue
        first[lane.lane_id] = float(row)
        row += max(1, lane.rows)
    return first


@pytest.fixture
def synthetic(app: Pynenc) -> tuple[Monitor, dict[str, str], float]:
    """A parent that ran and succeeded, its child that failed, and one still queued, at fixed times."""
    state = app.state_backend
    runner = add_runner(state, heartbeat=time.time())
    t = time.time() + 1
    parent = stored(
        state,
        [(S.PENDING, runner, t + 1), (S.RUNNING, runner, t + 2), (S.SUCCESS, runner, t + 6)],
        task_id="tests.widgets.alpha",
        args_display='{"n": "7", "label": "north"}',
    )
    child = stored(
        state,
        [(S.PENDING, runner, t + 3), (S.RUNNING, runner, t + 3.5), (S.FAILED, runner, t + 4)],
        task_id="tests.widgets.beta",
        parent=parent,
    )
    queued = stored(state, [], task_id="tests.widgets.gamma")
    return Monitor(app, clock=lambda: t + 10), {"parent": parent, "child": child, "queued": queued}, t


def test_every_segment_is_a_bar_or_a_final_marker_where_the_view_puts_it(synthetic: tuple) -> None:  # type: ignore[type-arg]
    # Given a timeline view of invocations with known histories
    monitor, _, _ = synthetic
    view = monitor.timeline(None, None)
    # When its figure is built
    figure = timeline_figure(view)
    # Then every non-final segment on a runner is one bar of its task's trace (PAUSED ones of the
    # paused trace), from its start for its duration (open segments up to the view's time; the
    # last bar of an invocation a thin gap shorter), on its lane's row; final ones are markers;
    # the queued lane's segments are the queue strip, not bars; a claim under a millisecond is not
    # drawn; times are to 0.1 ms
    offset = local_offset_s(view.generated_at)
    first_row = lane_rows(view)
    expected_bars, expected_marks = {}, set()
    waiting = 0
    for seg in view.segments:
        start_ms = round((seg.start + offset) * 1000, 1)
        if seg.lane == QUEUED_LANE:
            waiting += seg.status not in FINAL_STATUSES
            continue
        y = first_row[seg.lane] + seg.row
        if seg.status in FINAL_STATUSES:
            expected_marks.add((seg.status.value, seg.invocation_id, start_ms, y))
        else:
            end = seg.end if seg.end is not None else view.generated_at
            if seg.status is S.PENDING and seg.end is not None and end - seg.start < INSTANT_CLAIM_S:
                continue
            trace = "paused" if seg.status is S.PAUSED else seg.task_id
            expected_bars[(trace, seg.invocation_id, start_ms, y)] = (end - seg.start) * 1000
    bars, marks = {}, set()
    for trace in figure["data"]:
        if trace["type"] == "bar":
            for base, width, y, ident in zip(trace["base"], trace["x"], trace["y"], trace["customdata"], strict=True):
                bars[(trace["legendgroup"], ident, round(base, 1), y)] = width
        elif trace["name"] in {s.value for s in FINAL_STATUSES}:
            for x, y, ident in zip(trace["x"], trace["y"], trace["customdata"], strict=True):
                marks.add((trace["name"], ident, round(x, 1), y))
    assert bars.keys() == expected_bars.keys()
    ends = [s.end if s.end is not None else view.generated_at for s in view.segments]
    span_ms = (max(ends) - min(s.start for s in view.segments)) * 1000
    for key, width in bars.items():
        full = expected_bars[key]
        assert full - min(full * 0.3, span_ms * GAP_FRACTION) - 0.05 <= width <= full + 0.05, (key, width, full)
    assert marks == expected_marks and len(marks) == 2  # SUCCESS and FAILED
    assert waiting == 3, "the registrations (one still queued) are in the strip"
    assert figure["layout"]["barmode"] == "overlay", "bars of one row must not be grouped side by side"


def test_bars_are_coloured_by_task_and_final_markers_by_the_status_colours_of_the_badges(synthetic: tuple) -> None:  # type: ignore[type-arg]
    monitor, _, _ = synthetic
    figure = timeline_figure(monitor.timeline(None, None))
    statuses = [trace for trace in figure["data"] if trace["name"] in {s.value for s in InvocationStatus}]
    assert [trace["name"] for trace in statuses] == [s.value for s in InvocationStatus if s in FINAL_STATUSES], (
        "one marker trace per final status, always in table order"
    )
    for trace in statuses:
        status = InvocationStatus(trace["name"])
        assert trace["marker"]["color"] == STATUS_COLOURS[status]
        assert STATUS_COLOURS[status] in badge(status)
        if status is not S.SUCCESS:
            assert trace["showlegend"] == bool(trace["x"]), "empty statuses stay out of the legend"
    tasks = [trace for trace in figure["data"] if trace["type"] == "bar" and trace["name"] != "paused"]
    assert [trace["legendgroup"] for trace in tasks] == ["tests.widgets.alpha", "tests.widgets.beta"]
    assert [trace["name"] for trace in tasks] == ["alpha", "beta"], "a legend by task"
    for trace in tasks:
        assert trace["marker"]["color"] == task_colour(trace["legendgroup"])


def test_hover_names_the_task_its_arguments_and_durations(synthetic: tuple) -> None:  # type: ignore[type-arg]
    monitor, ids, _ = synthetic
    figure = timeline_figure(monitor.timeline(None, None))
    running = traces(figure)["alpha"]
    (hover,) = [
        h
        for h, ident in zip(running["hovertext"], running["customdata"], strict=True)
        if ident == ids["parent"] and "▸ RUNNING" in h
    ]
    assert "tests.widgets.alpha" in hover
    assert "n=7" in hover and "label=north" in hover
    assert "RUNNING 4.0 s" in hover, "the bar's own status and duration"
    success = traces(figure)["SUCCESS"]
    (last,) = success["hovertext"]
    assert last.startswith("<b>tests.widgets.alpha</b>") and "▸ SUCCESS" in last and "args" not in last
    assert success["customdata"] == [ids["parent"]] and "id %{customdata}" in success["hovertemplate"], (
        "the full id, to pass to %pynenc tree, on the invocation's last point"
    )
    (short,) = [
        h
        for h, i in zip(running["hovertext"], running["customdata"], strict=True)
        if i == ids["parent"] and "▸ PENDING" in h
    ]
    assert short.startswith("<b>tests.widgets.alpha</b>") and "args" not in short
    assert running["hovertemplate"] == "%{hovertext}<extra></extra>"


def test_the_queue_strip_comes_first_and_an_open_wait_reaches_the_views_time(synthetic: tuple) -> None:  # type: ignore[type-arg]
    monitor, ids, _ = synthetic
    view = monitor.timeline(None, None)
    figure = timeline_figure(view)
    queue = figure["data"][0]
    assert queue["name"] == "queued" and figure["layout"]["yaxis2"]["domain"][1] == 1, "the strip on top"
    assert figure["layout"]["yaxis"]["ticktext"][0].startswith("FakeRunner"), "then the runner lanes"
    (segment,) = [s for s in view.segments if s.invocation_id == ids["queued"]]
    assert segment.end is None
    offset = local_offset_s(view.generated_at)
    assert queue["x"][-1] == pytest.approx((view.generated_at + offset) * 1000) and queue["y"][-1] == 1
    assert "1 waiting" in queue["hovertext"][-1] and "gamma" in queue["hovertext"][-1]


def test_a_call_is_a_line_from_the_parents_row_to_the_childs_first_bar(synthetic: tuple) -> None:  # type: ignore[type-arg]
    monitor, ids, _ = synthetic
    view = monitor.timeline(None, None)
    figure = timeline_figure(view)
    calls = traces(figure)["calls"]
    offset = local_offset_s(view.generated_at)
    first_row = lane_rows(view)
    child_call = next(s for s in view.segments if s.invocation_id == ids["child"])
    child_bar = next(s for s in view.segments if s.invocation_id == ids["child"] and s.lane != QUEUED_LANE)
    at = (child_call.start + offset) * 1000
    drawn = [s for s in view.segments if s.invocation_id == ids["parent"] and s.lane != QUEUED_LANE]
    # the parent's row when it made the call (its first row if the call predates its first bar)
    parent_at_call = ([s for s in drawn if s.start <= child_call.start] or drawn[:1])[-1]
    assert calls["x"] == [pytest.approx(at), pytest.approx(at), None]
    assert calls["y"] == [
        first_row[parent_at_call.lane] + parent_at_call.row,
        first_row[child_bar.lane] + child_bar.row,
        None,
    ]
    assert calls["hoverinfo"] == "skip"


def test_workflow_roots_are_starred_and_events_marked_above_the_lanes(app: Pynenc) -> None:
    workload: Workload = run_workload(app)
    app.trigger.emit_event("deploy<v2>", {"region": "eu"})
    view = Monitor(app).timeline(time.time() - 600, None)
    figure = timeline_figure(view)
    roots = traces(figure)["workflow root"]
    assert roots["customdata"] == [workload.flow]
    flow_start = next(s for s in view.segments if s.invocation_id == workload.flow and s.lane != QUEUED_LANE)
    assert roots["x"] == [pytest.approx((flow_start.start + local_offset_s(view.generated_at)) * 1000)]
    events = traces(figure)["events"]
    assert len(events["x"]) == 1 and "deploy&lt;v2&gt;" in events["hovertext"][0]
    assert figure["layout"]["yaxis"]["ticktext"][0] == "events"
    assert len(traces(figure)["calls"]["x"]) == 3 * len(view.links) and len(view.links) == 2


def test_an_event_marker_links_to_the_invocations_its_triggers_created(app: Pynenc) -> None:
    # Given an event that made a trigger run creating an invocation in the window (it ran), and one that did not
    runner = add_runner(app.state_backend, heartbeat=time.time())
    t = time.time() + 1
    created = stored(app.state_backend, [(S.PENDING, runner, t), (S.RUNNING, runner, t + 1)], task_id="tests.react")
    fired = app.trigger.emit_event("order", {})
    app.trigger.emit_event("quiet", {})
    run = TriggerRun(new_id(), "t-1", "tests.react", "event", fired, created, time.time())
    app.trigger_store.add_trigger_runs([run])
    view = Monitor(app).timeline(time.time() - 600, None)
    # When it is drawn
    figure = timeline_figure(view)
    events = traces(figure)["events"]
    # Then the fired event's marker selects the invocation it created, and says so in its hover
    fired_at = [m.event_id for m in view.events].index(fired)
    assert events["customdata"][fired_at] == created and events["customdata"][1 - fired_at] == ""
    assert "created 1 invocation" in events["hovertext"][fired_at]
    assert "created" not in events["hovertext"][1 - fired_at]
    # And a dotted line joins the marker to the first bar of that invocation
    lines = traces(figure)["triggered"]
    first = next(s for s in view.segments if s.invocation_id == created and s.lane != QUEUED_LANE)
    offset = local_offset_s(view.generated_at)
    marker = next(m for m in view.events if m.event_id == fired)
    assert lines["x"] == [
        pytest.approx((marker.at + offset) * 1000),
        pytest.approx((first.start + offset) * 1000),
        None,
    ]
    assert lines["y"][0] == EVENTS_Y and lines["y"][2] is None and lines["line"]["dash"] == "dot"


def test_task_data_is_escaped_everywhere_in_the_figure(app: Pynenc) -> None:
    state = app.state_backend
    runner = add_runner(state, "<b>Runner</b>", heartbeat=time.time())
    t = time.time() + 1
    stored(
        state,
        [(S.PENDING, runner, t + 1), (S.RUNNING, runner, t + 2)],
        task_id="tests.<img src=x onerror=alert(1)>",
        args_display='{"html": "<script>alert(2)</script>"}',
    )
    figure = timeline_figure(Monitor(app).timeline(None, None))
    dumped = json.dumps(figure)
    assert "<img" not in dumped and "<script" not in dumped
    assert "&lt;img src=x onerror=alert(1)&gt;" in dumped


def test_an_empty_window_says_so(app: Pynenc) -> None:
    figure = timeline_figure(Monitor(app).timeline(time.time() - 60, None))
    assert figure["layout"]["annotations"][0]["text"] == "no invocations yet"
    assert all(not trace["x"] for trace in figure["data"])
    json.dumps(figure)


def test_tree_nodes_sit_at_their_layout_positions_with_their_status_colour(app: Pynenc) -> None:
    state = app.state_backend
    runner = add_runner(state, heartbeat=time.time())
    t = time.time() + 1
    root = stored(state, [(S.PENDING, runner, t + 1), (S.RUNNING, runner, t + 2)], task_id="tests.root")
    kids = [
        stored(
            state,
            [(S.PENDING, runner, t + 3), (S.RUNNING, runner, t + 4), (S.SUCCESS, runner, t + 5)],
            task_id="tests.kid",
            parent=root,
        ),
        stored(
            state,
            [(S.PENDING, runner, t + 3), (S.RUNNING, runner, t + 4), (S.FAILED, runner, t + 5)],
            task_id="tests.kid",
            parent=root,
        ),
    ]
    grandchild = stored(state, [], task_id="tests.grandchild", parent=kids[0])
    view = Monitor(app).family_tree(root, depth=3)
    figure = family_tree_figure(view)
    placed = {}
    outline_of = {colour: status.value for status, colour in STATUS_COLOURS.items()}
    for trace in figure["data"]:
        if trace["name"] == "calls":
            continue
        assert trace["marker"]["color"] == task_colour(trace["legendgroup"]), "coloured by task"
        outlines = trace["marker"]["line"]["color"]
        for x, y, ident, line in zip(trace["x"], trace["y"], trace["customdata"], outlines, strict=True):
            placed[ident] = (x, y, outline_of[line])
    # two siblings of one task stay two nodes (collapsing starts at three), at the view's positions,
    # outlined in their status colour
    assert placed == {node.invocation_id: (node.x, node.y, node.status.value) for node in view.nodes}
    assert set(placed) == {root, *kids, grandchild}
    edges = next(trace for trace in figure["data"] if trace["name"] == "calls")
    segments = {
        (edges["x"][i], edges["y"][i], edges["x"][i + 1], edges["y"][i + 1]) for i in range(0, len(edges["x"]), 3)
    }
    by_id = {node.invocation_id: node for node in view.nodes}
    assert segments == {
        (by_id[e.parent_id].x, by_id[e.parent_id].y, by_id[e.child_id].x, by_id[e.child_id].y) for e in view.edges
    }
    assert figure["layout"]["yaxis"]["autorange"] == "reversed", "the root on top"
    assert "root" in figure["layout"]["title"]["text"]


def test_runners_show_busy_and_free_slots_and_heartbeat_age(app: Pynenc) -> None:
    state = app.state_backend
    now = time.time()
    busy_ctx = RunnerContext.current("ThreadRunner")
    state.put_runner(RunnerInfo(busy_ctx, now - 2.2, "running", 4, 3, '{"name": "worker-a"}'))
    lost_ctx = RunnerContext.current("ThreadRunner")
    state.put_runner(RunnerInfo(lost_ctx, now - 3600, "running", 2, 0, "{}"))
    views = Monitor(app, clock=lambda: now).runners()
    figure = runners_figure(views)
    busy, free = figure["data"]
    order = [v.runner_id for v in views]
    a = order.index(busy_ctx.runner_id)
    lost = order.index(lost_ctx.runner_id)
    assert (busy["x"][a], free["x"][a]) == (3, 1)
    assert (busy["x"][lost], free["x"][lost]) == (0, 2)
    labels = figure["layout"]["yaxis"]["ticktext"]
    assert labels[a].startswith("worker-a") and "heartbeat 2 s ago" in labels[a]
    assert free["marker"]["color"][lost] != free["marker"]["color"][a], "a lost runner stands out"
    assert figure["layout"]["title"]["text"] == "Runners · 1 alive of 2"


def test_no_runner_figure_says_how_to_start_one() -> None:
    figure = runners_figure([])
    assert "%pynenc runner start" in figure["layout"]["annotations"][0]["text"]
