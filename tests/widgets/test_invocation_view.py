"""``InvocationView`` and ``display(invocation)``: a card whose badge follows the invocation."""

from __future__ import annotations

from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display
from IPython.utils.capture import CapturedIO

from pynenc_nb import Invocation, Pynenc
from pynenc_nb.display import badge
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.widgets import InvocationView
from tests.support.processes import poll
from tests.unit.runner_support import running
from tests.widgets.conftest import CommRecorder
from tests.widgets.support import TIMEOUT_S, WIDGET_MIME, final_output, outputs_for

S = InvocationStatus


def adder(app: Pynenc) -> Any:
    @app.task
    def add(a: int, b: int) -> int:
        return a + b

    return add


def test_the_badge_changes_when_the_invocation_finishes(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given a queued invocation shown as a live card
    inv = adder(app)(20, 22)
    view = InvocationView(inv, interval_s=0.05)
    recorder = CommRecorder()
    card = recorder.watch(view.card.widget)
    view.show()
    assert badge(S.REGISTERED) in card.value and "a=20" in card.value
    # When a runner runs it
    with running(app):
        assert inv.result_or(TIMEOUT_S) == 42
        # Then the card's badge becomes SUCCESS and shows the result
        poll(lambda: badge(S.SUCCESS) in card.value, timeout_s=TIMEOUT_S, message="the SUCCESS badge")
    assert "<code>42</code>" in card.value
    assert any("value" in data.get("state", {}) for _, data in recorder.messages), "sent over the comm"
    # and the live thread ends at once (nothing more can change), leaving the static card
    assert view.join(TIMEOUT_S) and view.ended_because == "final"
    final = final_output(displayed, view.display_id)
    assert badge(S.SUCCESS) in final.data["text/html"] and WIDGET_MIME not in final.data
    assert final.data["text/plain"] == f"<Invocation {inv.invocation_id[:12]} {inv.task_id} SUCCESS>"


def test_display_of_a_running_invocation_in_a_kernel_is_the_live_card(
    app: Pynenc, shell: InteractiveShell, comms: None, displayed: CapturedIO
) -> None:
    inv = adder(app)(1, 1)
    display(inv)
    (shown,) = displayed.outputs
    assert WIDGET_MIME in shown.data
    display_id = shown.transient["display_id"]
    with running(app):
        assert inv.result_or(TIMEOUT_S) == 2
        poll(lambda: len(outputs_for(displayed, display_id)) == 2, timeout_s=TIMEOUT_S, message="the final card")
    assert badge(S.SUCCESS) in final_output(displayed, display_id).data["text/html"]


def test_display_of_a_final_invocation_is_a_static_card(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    with running(app):
        inv = adder(app)(2, 3)
        assert inv.result_or(TIMEOUT_S) == 5
    display(inv)
    (shown,) = displayed.outputs
    assert WIDGET_MIME not in shown.data and badge(S.SUCCESS) in shown.data["text/html"]
    assert not shown.transient, "no display id: nothing will update it"


def test_without_a_kernel_display_uses_the_html_repr(app: Pynenc, displayed: CapturedIO) -> None:
    inv = adder(app)(2, 3)
    display(inv)
    (shown,) = displayed.outputs
    assert shown.data == {"text/html": inv._repr_html_(), "text/plain": repr(inv)}


def test_without_the_extension_display_is_the_static_card_even_in_a_kernel(
    app: Pynenc, shell: InteractiveShell, comms: None, displayed: CapturedIO
) -> None:
    # Given a kernel that did not run %load_ext pynenc_nb (the core registers no widget)
    formatter = shell.display_formatter.ipython_display_formatter
    formatter.pop(Invocation)
    inv = adder(app)(1, 2)
    # When an invocation is displayed, Then no live widget is made, only its reprs
    display(inv)
    (shown,) = displayed.outputs
    assert WIDGET_MIME not in shown.data and shown.data["text/plain"] == repr(inv)
    assert "<table" in inv._repr_html_()  # what a notebook front end renders from the HTML repr
