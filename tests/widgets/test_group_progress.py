"""``display(group)``: a live progress bar for a fan-out, a static bar once every call is final."""

from __future__ import annotations

import re
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display
from IPython.utils.capture import CapturedIO

from pynenc_nb import Pynenc
from pynenc_nb.widgets import GroupProgress
from tests.support.processes import poll
from tests.unit.runner_support import running
from tests.widgets.conftest import CommRecorder
from tests.widgets.support import TIMEOUT_S, WIDGET_MIME, final_output, outputs_for


def _tasks(app: Pynenc) -> Any:
    @app.task
    def inc(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x + 1

    return inc


def _done(html: str) -> int:
    match = re.search(r"(\d+)/(\d+) final", html)
    assert match is not None, html
    return int(match.group(1))


def test_the_bar_moves_while_the_fan_out_runs_and_ends_static(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given a fan-out of 20 calls shown as a live bar before any runner started
    group = _tasks(app).parallelize([(i,) for i in range(20)])
    progress = GroupProgress(group, interval_s=0.05)
    recorder = CommRecorder()
    bar = recorder.watch(progress.bar.widget)
    progress.show()
    assert _done(bar.value) == 0 and "queued&nbsp;20" in bar.value
    # When a runner runs them
    with running(app):
        poll(lambda: _done(bar.value) == 20, timeout_s=TIMEOUT_S, message="the bar to reach 20/20")
    # Then the bar counted failures apart and sent its changes over the comm
    assert "failed&nbsp;1" in bar.value and "done&nbsp;19" in bar.value
    assert len(recorder.updates()) >= 1
    # And once everything is final the live widget is replaced by a static bar
    assert progress.join(TIMEOUT_S) and progress.ended_because == "final"
    final = final_output(displayed, progress.display_id)
    assert WIDGET_MIME not in final.data and "20/20 final" in final.data["text/html"]
    assert final.data["text/plain"].startswith("<InvocationGroup")


def test_display_of_a_group_in_a_kernel_is_the_live_bar(
    app: Pynenc, shell: InteractiveShell, comms: None, displayed: CapturedIO
) -> None:
    group = _tasks(app).parallelize([(i,) for i in range(3)])
    display(group)
    (shown,) = displayed.outputs
    assert WIDGET_MIME in shown.data
    display_id = shown.transient["display_id"]
    with running(app):
        poll(lambda: len(outputs_for(displayed, display_id)) == 2, timeout_s=TIMEOUT_S, message="the final bar")
    assert "3/3 final" in final_output(displayed, display_id).data["text/html"]


def test_wait_interactive_in_a_kernel_shows_the_bar_and_returns_when_all_are_final(
    app: Pynenc, shell: InteractiveShell, comms: None, displayed: CapturedIO
) -> None:
    group = _tasks(app).parallelize([(i,) for i in range(5)])
    with running(app):
        group.wait_interactive(timeout=TIMEOUT_S)
        assert group.status_counts() and all(inv.status.is_final for inv in group)
    (shown, *_) = displayed.outputs
    assert WIDGET_MIME in shown.data or "5/5 final" in shown.data["text/html"]


def test_a_live_output_carries_a_marked_static_snapshot_beside_the_widget_view(
    app: Pynenc, comms: None, displayed: CapturedIO
) -> None:
    from pynenc_nb.widgets.base import SNAPSHOT_METADATA

    group = _tasks(app).parallelize([(i,) for i in range(2)])
    progress = GroupProgress(group, interval_s=0.05)
    progress.show()
    (shown,) = displayed.outputs
    assert WIDGET_MIME in shown.data and "0/2 final" in shown.data["text/html"]
    assert shown.metadata == SNAPSHOT_METADATA
    progress.stop()
