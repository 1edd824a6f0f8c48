"""``EventsBrowser``: recent events with their payloads and the invocations their triggers created,
live while one of those can still change; and the invocation card naming the trigger that made it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from IPython.display import display
from IPython.utils.capture import CapturedIO

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.display import badge
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.monitor import Monitor
from pynenc_nb.records import TriggerRun, new_id
from pynenc_nb.widgets import EventsBrowser, Timeline
from pynenc_nb.widgets.html import invocation_card
from tests.support.processes import poll
from tests.unit.runner_support import running
from tests.widgets.conftest import CommRecorder
from tests.widgets.support import TIMEOUT_S, WIDGET_MIME, click, final_output

S = InvocationStatus


def triggered_call(app: Pynenc, code: str = "order.placed", payload: dict[str, Any] | None = None) -> tuple[str, str]:
    """An event and the invocation a trigger run of it created (stored through the ports)."""

    @app.task
    def ship(n: int) -> int:
        return n

    invocation = ship(7)
    event_id = app.trigger.emit_event(code, payload or {"order": 7})
    run = TriggerRun(new_id(), "a1b2c3d4e5f6", ship.task_id, "event", event_id, invocation.invocation_id, time.time())
    app.trigger_store.add_trigger_runs([run])
    return event_id, invocation.invocation_id


def test_without_a_kernel_the_events_are_a_static_table(app: Pynenc, displayed: CapturedIO) -> None:
    # Given an event that created an invocation, and one with markup in its code and payload
    event_id, created = triggered_call(app)
    app.trigger.emit_event("<b>odd</b>", {"note": "<script>alert(1)</script>"})
    # When the browser is displayed outside a kernel
    display(EventsBrowser(app))
    (shown,) = displayed.outputs
    page = shown.data["text/html"]
    # Then both events are listed, task data escaped, and the created invocation with its status
    assert WIDGET_MIME not in shown.data
    assert "order.placed" in page and created[:12] in page and f'title="{created}"' in page
    assert badge(S.REGISTERED) in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;odd&lt;/b&gt;" in page
    assert "2 events" in page and "1 matched" in page
    text = shown.data["text/plain"]
    assert "order.placed" in text and created[:8] in text and "REGISTERED" in text


def test_filters_keep_one_code_and_unmatched_events(app: Pynenc, displayed: CapturedIO) -> None:
    triggered_call(app)
    app.trigger.emit_event("ping", {})
    assert [row.code for row in EventsBrowser(app, code="ping", live=False).page.rows] == ["ping"]
    assert [row.code for row in EventsBrowser(app, matched=False, live=False).page.rows] == ["ping"]
    with pytest.raises(InvalidMonitorQueryError):
        EventsBrowser(app, since="yesterday")
    with pytest.raises(InvalidMonitorQueryError):
        EventsBrowser(app, limit=0)


def test_live_until_the_created_invocations_are_final(app: Pynenc, comms: None, displayed: CapturedIO) -> None:
    # Given a live events browser showing an event whose invocation is queued
    _, created = triggered_call(app)
    browser = EventsBrowser(app, interval_s=0.05, grace_s=0.1)
    recorder = CommRecorder()
    table = recorder.watch(browser.table.widget)
    browser.show()
    assert badge(S.REGISTERED) in table.value
    # When a runner runs that invocation
    with running(app):
        # Then the table shows its new status and the widget ends, leaving the static table
        poll(lambda: badge(S.SUCCESS) in table.value, timeout_s=TIMEOUT_S, message="the SUCCESS badge")
    assert browser.join(TIMEOUT_S) and browser.ended_because == "final"
    final = final_output(displayed, browser.display_id)
    assert badge(S.SUCCESS) in final.data["text/html"] and WIDGET_MIME not in final.data
    assert created[:8] in final.data["text/plain"]


def test_the_invocation_card_names_the_trigger_and_event_that_created_it(app: Pynenc) -> None:
    event_id, created = triggered_call(app, code="feed<updated>")
    card = invocation_card(Monitor(app).invocation_detail(created))
    assert "created by" in card and "a1b2c3d4" in card and "feed&lt;updated&gt;" in card and event_id[:8] in card


def test_clicking_an_event_in_the_timeline_shows_the_invocation_it_created(
    app: Pynenc, comms: None, displayed: CapturedIO
) -> None:
    # Given a live timeline with an event that created an invocation, and an event that did not
    _, created = triggered_call(app)
    app.trigger.emit_event("quiet")
    timeline = Timeline(app, interval_s=0.05, grace_s=30.0)
    timeline.show()
    assert timeline.view is not None and len(timeline.view.events) == 2
    fired = next(i for i, marker in enumerate(timeline.view.events) if marker.invocation_ids)
    detail = timeline.selection.part.widget
    # When the event that created nothing is clicked, nothing is selected
    click(timeline.figure.widget, "events", 1 - fired)
    assert timeline.selection.invocation_id is None
    # When the one that fired is clicked, the invocation it created shows under the plot
    click(timeline.figure.widget, "events", fired)
    assert timeline.selection.invocation_id == created and created in detail.value
    assert "created by" in detail.value
    timeline.close()
