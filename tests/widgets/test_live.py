"""The live loop of a widget: throttled, silent when nothing changes, ends when all is final or on
close, and leaves a static Plotly bundle in place of the widget."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from IPython.utils.capture import CapturedIO

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import ConfigError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.widgets import FamilyTree, InvocationView, MonitorPanel, RunnersPanel, Timeline, freeze_all, live_widgets
from tests.monitor.conftest import run_workload
from tests.support.processes import poll
from tests.unit.runner_support import running
from tests.widgets.conftest import CommRecorder
from tests.widgets.support import PLOTLY_MIME, TIMEOUT_S, WIDGET_MIME, click, final_output, outputs_for


def adder(app: Pynenc) -> Any:
    @app.task
    def add(a: int, b: int) -> int:
        return a + b

    return add


def test_updates_are_throttled_to_one_per_interval(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given a timeline shown live with a 0.25 s interval, and work that changes it all the time
    @app.task
    def nap(i: int) -> int:
        time.sleep(0.03)
        return i

    timeline = Timeline(app, interval_s=0.25, grace_s=0.0)
    recorder = CommRecorder()
    recorder.watch(timeline.figure.widget)
    with running(app, max_threads=2):
        timeline.show()
        group = nap.parallelize([(i,) for i in range(60)])
        assert sorted(group.iter_results(timeout=TIMEOUT_S)) == list(range(60))
    assert timeline.join(TIMEOUT_S)
    # Then the figure changes reached the comm at least 0.25 s apart, one message per counted update
    sent = recorder.updates()
    assert len(sent) >= 2, "it was live during the run"
    gaps = [later - earlier for earlier, later in zip(sent, sent[1:], strict=False)]
    assert min(gaps) >= 0.25, gaps
    assert len(sent) == timeline.figure.updates_sent == timeline.updates_sent


def test_nothing_is_sent_while_nothing_changes(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given finished work and a live timeline that waits a second before going static
    run_workload(app)
    timeline = Timeline(app, interval_s=0.05, grace_s=1.0)
    recorder = CommRecorder()
    recorder.watch(timeline.figure.widget)
    recorder.watch(timeline.selection.part.widget)
    timeline.show()
    # When it recomputes its view several times
    poll(lambda: timeline.ticks >= 6, timeout_s=TIMEOUT_S, message="six refreshes")
    # Then nothing went to the browser, and it ends by itself
    assert recorder.messages == [] and timeline.updates_sent == 0
    assert timeline.join(TIMEOUT_S) and timeline.ended_because == "final"


def test_the_widget_goes_static_once_everything_shown_is_final(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given a queued invocation and a live timeline showing it
    inv = adder(app)(1, 2)
    timeline = Timeline(app, interval_s=0.1, grace_s=0.2)
    timeline.show()
    (shown,) = outputs_for(displayed, timeline.display_id)
    assert WIDGET_MIME in shown.data and not shown.update
    assert timeline.running
    # When a runner finishes it
    with running(app):
        assert inv.result_or(TIMEOUT_S) == 3
    # Then the thread ends and the same output becomes the static figure of the final state
    assert timeline.join(TIMEOUT_S) and timeline.ended_because == "final"
    final = final_output(displayed, timeline.display_id)
    assert WIDGET_MIME not in final.data
    figure = final.data[PLOTLY_MIME]
    success = next(trace for trace in figure["data"] if trace["name"] == "SUCCESS")
    assert success["customdata"] == [inv.invocation_id]
    assert "plotly-graph-div" in final.data["text/html"] and "add" in final.data["text/html"]
    assert final.data["text/plain"] == f"Timeline of app {app.app_id}: 1 invocations (SUCCESS 1)"
    json.dumps(final.data)
    assert timeline.figure.closed, "the live widget is closed once replaced"
    assert timeline not in live_widgets()


def test_closing_the_widget_stops_its_thread(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given a live timeline of an invocation that will never finish (no runner)
    inv = adder(app)(1, 2)
    timeline = Timeline(app, interval_s=0.05, grace_s=0.0)
    timeline.show()
    poll(lambda: timeline.ticks >= 2, timeout_s=TIMEOUT_S, message="two refreshes")
    # When it is closed
    timeline.close()
    # Then its thread has ended, and the output holds the last picture
    assert not timeline.running and timeline.ended_because == "stopped"
    assert timeline.figure.closed and timeline.selection.part.closed
    queued = next(
        t for t in final_output(displayed, timeline.display_id).data[PLOTLY_MIME]["data"] if t["name"] == "queued"
    )
    assert queued["customdata"][-1] == inv.invocation_id and queued["y"][-1] == 1  # the oldest waiting


def test_a_widget_closed_from_elsewhere_ends_its_thread(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    adder(app)(1, 2)
    timeline = Timeline(app, interval_s=0.05, grace_s=0.0)
    timeline.show()
    timeline.figure.widget.close()  # e.g. ipywidgets.Widget.close_all()
    assert timeline.join(TIMEOUT_S) and timeline.ended_because == "closed"
    assert PLOTLY_MIME in final_output(displayed, timeline.display_id).data


def test_live_false_or_no_kernel_shows_the_static_figure_at_once(app: Pynenc, displayed: CapturedIO) -> None:
    adder(app)(1, 2)
    for timeline in (Timeline(app, live=False), Timeline(app)):  # the second: no kernel with comms here
        timeline.show()
        assert not timeline.running and timeline.ticks == 0
        data = displayed.outputs[-1].data
        assert PLOTLY_MIME in data and "text/html" in data and WIDGET_MIME not in data
    assert timeline.display_id is None


def test_live_updates_end_after_max_live_s(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    adder(app)(1, 2)
    timeline = Timeline(app, interval_s=0.05, grace_s=0.0, max_live_s=0.3)
    timeline.show()
    assert timeline.join(TIMEOUT_S) and timeline.ended_because == "max_live"


def test_a_failing_query_ends_live_updates_with_the_last_picture(
    app: Pynenc, comms: None, displayed: CapturedIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = adder(app)(1, 2)
    timeline = Timeline(app, interval_s=0.05, grace_s=0.0)
    timeline.show()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("backend went away")

    monkeypatch.setattr(timeline.queries, "timeline", broken)
    assert timeline.join(TIMEOUT_S) and timeline.ended_because == "error"
    assert isinstance(timeline.error, RuntimeError)
    figure = final_output(displayed, timeline.display_id).data[PLOTLY_MIME]
    queued = next(t for t in figure["data"] if t["name"] == "queued")
    assert queued["customdata"][-1] == inv.invocation_id and queued["y"][-1] == 1  # the oldest waiting


def test_freeze_all_leaves_every_live_widget_static(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    inv = adder(app)(1, 2)
    widgets = [Timeline(app, interval_s=0.05), FamilyTree(inv, interval_s=0.05), MonitorPanel(app, interval_s=0.05)]
    for widget in widgets:
        widget.show()
    assert set(live_widgets()) >= set(widgets)
    assert freeze_all() >= 3
    for widget in widgets:
        assert not widget.running and widget.ended_because == "stopped"
        assert PLOTLY_MIME in final_output(displayed, widget.display_id).data


def test_clicking_a_bar_shows_that_invocation_under_the_plot(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given a live timeline of an invocation that failed
    @app.task
    def explode(reason: str) -> None:
        raise ValueError(reason)

    with running(app):
        inv = explode("pressure <too> high")
        assert inv.wait(TIMEOUT_S) is InvocationStatus.FAILED
    timeline = Timeline(app, interval_s=0.05, grace_s=30.0)
    timeline.show()
    detail = timeline.selection.part.widget
    assert "Click a bar" in detail.value
    # When the user clicks its FAILED marker
    click(timeline.figure.widget, "FAILED")
    # Then the invocation's card is under the plot: status, arguments, exception (escaped)
    assert inv.invocation_id in detail.value and "FAILED" in detail.value
    assert "pressure &lt;too&gt; high" in detail.value and "<too>" not in detail.value
    assert timeline.updates_sent >= 1
    timeline.close()
    assert inv.invocation_id in final_output(displayed, timeline.display_id).data["text/html"]


def test_the_monitor_tree_follows_the_clicked_invocation(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    workload = run_workload(app)
    monitor = MonitorPanel(app, interval_s=0.05, grace_s=30.0)
    monitor.show()
    roots = next(t for t in monitor.timeline.widget.current["data"] if t.get("name") == "workflow root")
    assert list(roots["customdata"]) == [workload.flow]
    click(monitor.timeline.widget, "workflow root")
    tree_ids = {i for trace in monitor.tree.widget.current["data"] for i in (trace.get("customdata") or ())}
    assert tree_ids == {workload.flow, workload.flow_child}
    monitor.close()


def test_runners_panel_is_live_while_a_runner_is_alive(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    with running(app, max_threads=3):
        # the panel ends at once when it sees no live runner: let the runner register first
        poll(
            lambda: any(r.state == "running" for r in app.state_backend.runners()),
            timeout_s=TIMEOUT_S,
            message="runner",
        )
        panel = RunnersPanel(app, interval_s=0.05, grace_s=0.0)
        panel.show()
        poll(lambda: panel.ticks >= 2, timeout_s=TIMEOUT_S, message="two refreshes")
        assert panel.running
    assert panel.join(TIMEOUT_S) and panel.ended_because == "final"
    assert "0 of 0 runners alive" in final_output(displayed, panel.display_id).data["text/plain"]


@pytest.mark.parametrize(
    "options", [{"interval_s": 0}, {"interval_s": -1.0}, {"grace_s": float("nan")}, {"max_live_s": "1h"}]
)
def test_bad_timing_options_are_refused_with_their_name(app: Pynenc, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as error:
        Timeline(app, **options)
    assert next(iter(options)) in str(error.value)


def test_static_outputs_carry_no_connection_url_and_no_secret(app: Pynenc, displayed: CapturedIO) -> None:
    # Given an invocation called with a URL holding a password, and a failure that prints it
    @app.task
    def fetch(url: str) -> None:
        raise ValueError(f"cannot reach {url}")

    with running(app):
        inv = fetch("redis://user:s3cret@db.example:6379/0")
        assert inv.wait(TIMEOUT_S) is InvocationStatus.FAILED
    # When every widget renders it
    widgets = [Timeline(app), FamilyTree(inv), RunnersPanel(app), InvocationView(inv), MonitorPanel(app)]
    widgets[0].select(inv.invocation_id)
    for widget in widgets:
        widget.show()
    # Then no output holds the password or the backend URL; the redacted form is shown
    dumped = json.dumps([output.data for output in displayed.outputs])
    assert "s3cret" not in dumped and app.conf.backend_url not in dumped
    assert "user:***@db.example" in dumped
    assert repr(widgets[0]) == "<Timeline not shown live>"


def test_a_save_gets_the_snapshot_of_the_moment_of_the_save(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    """What the labextension asks before JupyterLab saves (comm target ``pynenc_nb.snapshots``): the
    output's static figure is brought up to date while the widget stays live."""
    from comm import get_comm_manager

    from pynenc_nb.widgets.snapshots import COMM_TARGET

    # Given a timeline shown live before anything ran: its output's snapshot is an empty timeline
    timeline = Timeline(app, interval_s=0.05, grace_s=60.0)
    timeline.show()
    (shown,) = outputs_for(displayed, timeline.display_id)
    assert shown.data[PLOTLY_MIME]["data"] == [] or all(
        not t.get("customdata") for t in shown.data[PLOTLY_MIME]["data"]
    )
    inv = adder(app)(1, 2)
    with running(app):
        assert inv.result_or(TIMEOUT_S) == 3
    poll(lambda: timeline.figure.updates_sent >= 1, TIMEOUT_S, "the live figure to show the call")
    # When the frontend opens the snapshot comm, as it does before a save
    sent: list[Any] = []

    class FrontendComm:
        def send(self, data: Any) -> None:
            sent.append(data)

        def close(self) -> None:
            sent.append("closed")

    get_comm_manager().targets[COMM_TARGET](FrontendComm(), {})
    # Then the kernel answered that one widget refreshed, and the output now carries, beside the
    # widget view, the figure with the finished call; the widget is still live
    assert sent == [{"refreshed": 1}, "closed"]
    latest = outputs_for(displayed, timeline.display_id)[-1]
    assert latest.update and WIDGET_MIME in latest.data
    assert latest.metadata == {"pynenc_nb": {"snapshot": True}}
    success = next(trace for trace in latest.data[PLOTLY_MIME]["data"] if trace["name"] == "SUCCESS")
    assert success["customdata"] == [inv.invocation_id]
    assert timeline.running and timeline.snapshots_sent == 1
    timeline.stop()
    # And once the widget ended, a request is answered at once, with nothing refreshed
    get_comm_manager().targets[COMM_TARGET](FrontendComm(), {})
    assert sent[-2:] == [{"refreshed": 0}, "closed"]
