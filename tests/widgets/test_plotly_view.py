"""Live figures: plotly.js once per kernel, the first figure in the state, then small patches."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from pynenc_nb.widgets import plotly_view
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.widgets.patch import apply, diff
from tests.widgets.conftest import CommRecorder


def figure(xs: list[float], title: str, colour: str = "#43a047") -> FigureDict:
    return {
        "data": [
            {"type": "bar", "name": "RUNNING", "x": xs, "y": [0] * len(xs), "marker": {"color": "#1e88e5"}},
            {"type": "scatter", "name": "SUCCESS", "x": [1.0], "y": [0], "marker": {"color": colour}},
        ],
        "layout": {"title": {"text": title}, "xaxis": {"type": "date"}, "height": 300},
    }


def custom(recorder: CommRecorder) -> list[dict[str, Any]]:
    return [data["content"] for _, data in recorder.messages if data.get("method") == "custom"]


def test_a_patch_carries_only_what_changed() -> None:
    before, after = figure([1.0, 2.0, 3.0, 4.0], "one"), figure([1.0, 2.5, 3.0, 4.0, 5.0], "two")
    patch = diff(before, after)
    assert patch is not None and apply(before, patch) == after
    bars = patch["{"]["data"]["p"][0]["{"]
    assert bars["x"] == {"[": 5, "at": [1], "p": [{"=": 2.5}], "+": [5.0]}
    assert patch["{"]["layout"] == {"{": {"title": {"{": {"text": {"=": "two"}}}}}
    assert "marker" not in bars and len(patch["{"]["data"]["p"]) == 1  # the unchanged trace is not sent


def test_equal_figures_have_no_patch_and_emptied_lists_are_sent_empty() -> None:
    assert diff(figure([1.0], "a"), copy.deepcopy(figure([1.0], "a"))) is None
    note = {"text": "no invocation in this window yet", "x": 0.5, "y": 0.5}
    before, after = figure([], "empty"), figure([1.0], "one")
    before["layout"]["annotations"] = [note]
    after["layout"]["annotations"] = []
    after["layout"].pop("height")
    patched = apply(before, diff(before, after))
    assert patched == after and patched["layout"]["annotations"] == [] and "height" not in patched["layout"]


def test_random_figures_round_trip_through_their_patch() -> None:
    # Property: whatever two figures, applying the patch of the first to the second gives the second
    rng = random.Random(3)

    def value(depth: int) -> Any:
        kind = rng.choice(["int", "float", "str", "none", "list", "dict"] if depth < 3 else ["int", "str"])
        if kind == "list":
            return [value(depth + 1) for _ in range(rng.randrange(6))]
        if kind == "dict":
            return {rng.choice("abcdef"): value(depth + 1) for _ in range(rng.randrange(4))}
        return {"int": rng.randrange(3), "float": rng.choice([0.5, 1.0]), "str": rng.choice("xy"), "none": None}[kind]

    for _ in range(500):
        before, after = value(0), value(0)
        assert apply(before, diff(before, after)) == after, (before, after)
        assert json.loads(json.dumps(diff(before, after))) == diff(before, after)  # what the comm carries


def test_a_figure_names_the_server_route_of_plotly_js_and_carries_no_bundle() -> None:
    view = plotly_view.figure_view(figure([1.0], "a"))
    state = view.get_state()
    assert state["plotly"] == plotly_view.plotly_script_path() and "?v=" in state["plotly"]
    assert len(json.dumps(state["figure"])) + len(view._esm) < 20_000  # the model opens at once
    # nothing but ipywidgets' own layout refers to another model: a page draws without a restore
    assert [k for k, v in state.items() if isinstance(v, str) and v.startswith("IPY_MODEL_")] == ["layout"]


def test_a_page_without_the_server_route_gets_the_bundle_from_the_kernel_on_request() -> None:
    view = plotly_view.figure_view(figure([1.0], "a"))
    sent: list[tuple[Any, Any]] = []
    view.comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
    view._handle_custom_msg({"type": "nothing we know"}, [])
    assert sent == []
    view._handle_custom_msg({"type": "source"}, [])
    ((data, buffers),) = sent
    assert data["content"] == {"type": "source"} and buffers == [plotly_view.plotly_script()]
    assert b"window.Plotly = Plotly" in buffers[0] and buffers[0].startswith(b"if (!globalThis.Plotly)")


def test_an_update_sends_one_small_patch_and_the_state_follows() -> None:
    before = figure([float(i) for i in range(2000)], "many")
    view = plotly_view.figure_view(before)
    recorder = CommRecorder()
    recorder.watch(view)
    after = copy.deepcopy(before)
    after["data"][0]["x"].append(2000.0)
    after["data"][0]["y"].append(0)
    assert view.update(after) and not view.update(copy.deepcopy(after))  # the second changes nothing
    (message,) = custom(recorder)
    assert message["type"] == "patch" and message["base"] == 0 and message["version"] == 1
    assert len(json.dumps(message)) < 300 < len(json.dumps(after))
    assert [data for _, data in recorder.messages if data.get("method") != "custom"] == []  # no state resent
    assert view.get_state()["figure"] == after and view.get_state()["version"] == 1  # what a reloaded page gets


def test_a_view_behind_asks_and_gets_the_whole_figure() -> None:
    view = plotly_view.figure_view(figure([1.0], "a"))
    view.update(figure([1.0, 2.0], "b"))
    recorder = CommRecorder()
    recorder.watch(view)
    view._handle_custom_msg({"type": "sync", "version": 1}, [])
    assert custom(recorder) == []  # up to date: nothing to send
    view._handle_custom_msg({"type": "sync", "version": 0}, [])
    (message,) = custom(recorder)
    assert message == {"type": "full", "figure": figure([1.0, 2.0], "b"), "version": 1}


def test_a_click_is_resolved_on_the_figure_it_was_made_on() -> None:
    shown: FigureDict = {"data": [{"type": "bar", "x": [1, 2], "customdata": ["a", "b"]}], "layout": {}}
    view = plotly_view.figure_view(shown)
    clicked: list[str] = []
    view.on_point_click(clicked.append)

    def click(point: int, version: Any, ident: Any, trace: Any = 0) -> None:
        view._handle_custom_msg({"type": "click", "trace": trace, "point": point, "version": version, "id": ident}, [])

    click(1, 0, "b")  # on the current figure: by index
    # When an update moved the points (the oldest dropped) before the click reached the kernel
    view.update({"data": [{"type": "bar", "x": [2, 3], "customdata": ["b", "c"]}], "layout": {}})
    click(1, 0, "b")  # made on version 0: its id, which the current figure still shows
    click(0, 0, "a")  # an id no longer shown: nothing
    click(0, 0, "b; drop")  # an id never shown: nothing
    click(0, "1", "b", trace="0")  # not indices: nothing
    assert clicked == ["b", "b"]
