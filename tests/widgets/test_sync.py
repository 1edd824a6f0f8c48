"""Bringing a FigureWidget from one figure to the next sends only what changed, in one message."""

from __future__ import annotations

import copy
from typing import Any

from pynenc_nb.widgets.environment import plotly_graph_objects
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.widgets.sync import changes, sync_figure, widget_figure
from tests.widgets.conftest import CommRecorder


def figure(xs: list[float], title: str, colour: str = "#43a047") -> FigureDict:
    return {
        "data": [
            {"type": "bar", "name": "RUNNING", "x": xs, "y": [0] * len(xs), "marker": {"color": "#1e88e5"}},
            {"type": "scatter", "name": "SUCCESS", "x": [1.0], "y": [0], "marker": {"color": colour}},
        ],
        "layout": {"title": {"text": title}, "xaxis": {"type": "linear"}, "height": 300},
    }


def test_changes_are_the_nested_keys_that_differ() -> None:
    before = {"a": 1, "b": {"c": 2, "d": [1, 2]}, "gone": True}
    after = {"a": 1, "b": {"c": 3, "d": [1, 2]}, "new": "x"}
    assert changes(before, after) == {"b": {"c": 3}, "new": "x", "gone": None}
    assert changes(after, copy.deepcopy(after)) == {}


def test_one_message_carries_only_the_changed_properties() -> None:
    before, after = figure([1.0, 2.0], "one"), figure([1.0, 2.0, 3.0], "two")
    widget: Any = plotly_graph_objects().FigureWidget(copy.deepcopy(before))
    recorder = CommRecorder()
    recorder.watch(widget)
    sync_figure(widget, before, after)
    updates = [data["state"]["_py2js_update"] for _, data in recorder.messages if data["state"].get("_py2js_update")]
    assert len(updates) == 1
    (update,) = updates
    assert update["style_traces"] == [0] and update["style_data"] == {"x": [[1.0, 2.0, 3.0]], "y": [[0, 0, 0]]}
    assert update["layout_data"] == {"title.text": "two"}
    assert list(widget.data[0].x) == [1.0, 2.0, 3.0] and widget.layout.title.text == "two"


def test_an_unchanged_figure_sends_nothing_and_the_users_zoom_survives() -> None:
    before = figure([1.0], "same")
    widget: Any = plotly_graph_objects().FigureWidget(copy.deepcopy(before))
    widget.layout.xaxis.range = [5, 6]  # what a zoom in the browser leaves in the model
    recorder = CommRecorder()
    recorder.watch(widget)
    sync_figure(widget, before, copy.deepcopy(before))
    assert [data for _, data in recorder.messages if data["state"].get("_py2js_update")] == []
    sync_figure(widget, before, figure([1.0], "same", colour="#e53935"))
    assert widget.data[1].marker.color == "#e53935"
    assert tuple(widget.layout.xaxis.range) == (5, 6)


def test_a_figure_with_other_traces_is_rebuilt() -> None:
    before = figure([1.0], "a")
    after: FigureDict = {"data": [{"type": "scatter", "name": "calls", "x": [1, 1], "y": [0, 1]}], "layout": {}}
    widget: Any = plotly_graph_objects().FigureWidget(copy.deepcopy(before))
    sync_figure(widget, before, after)
    assert [trace.name for trace in widget.data] == ["calls"]


def test_an_emptied_list_of_annotations_is_sent_empty_not_merged() -> None:
    # plotly's update() merges lists element by element: [] would leave the old note on screen
    note = {"text": "no invocation in this window yet", "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}
    before, after = figure([], "empty"), figure([1.0], "one")
    before["layout"]["annotations"] = [note]
    before["layout"]["shapes"] = [{"type": "rect", "x0": 0, "x1": 1, "y0": 0, "y1": 1}] * 2
    after["layout"]["annotations"] = []
    after["layout"]["shapes"] = [{"type": "rect", "x0": 0, "x1": 1, "y0": 0, "y1": 1}]
    widget: Any = plotly_graph_objects().FigureWidget(copy.deepcopy(before))
    recorder = CommRecorder()
    recorder.watch(widget)
    sync_figure(widget, before, after)
    updates = [data["state"]["_py2js_update"] for _, data in recorder.messages if data["state"].get("_py2js_update")]
    assert len(updates) == 1
    assert updates[0]["layout_data"]["annotations"] == [] and len(updates[0]["layout_data"]["shapes"]) == 1
    assert widget.layout.annotations == () and len(widget.layout.shapes) == 1


def test_a_widget_keeps_its_axis_types_in_the_template() -> None:
    # plotly.js clears an axis's explicit type when x data is restyled; the template's type stays
    before, after = figure([1.0], "one"), figure([1.0, 2.0], "two")
    before["layout"]["xaxis"] = after["layout"]["xaxis"] = {"type": "date"}
    widget: Any = plotly_graph_objects().FigureWidget(widget_figure(before))
    assert widget.layout.template.layout.xaxis.type == "date" and widget.layout.xaxis.type == "date"
    sync_figure(widget, before, after)
    assert widget.layout.template.layout.xaxis.type == "date"
    rebuilt: FigureDict = {
        "data": [{"type": "scatter", "name": "calls", "x": [1], "y": [0]}],
        "layout": after["layout"],
    }
    sync_figure(widget, after, rebuilt)
    assert widget.layout.template.layout.xaxis.type == "date"
    untyped: FigureDict = {"data": [], "layout": {"xaxis": {"title": {"text": "t"}}}}
    assert widget_figure(untyped) == untyped
