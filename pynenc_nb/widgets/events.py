"""``EventsBrowser(app)``: recent events, their payloads and the invocations their triggers created.

One HTML table, refreshed by the widget's live thread: an event's row lists each trigger run it
made with the created invocation and its status now. It stays live while one of those
invocations can still change (or nothing is shown yet), and ends as the same static table.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING

from pynenc_nb.display import badge
from pynenc_nb.monitor import EventPage, EventView, Monitor, TriggerRunView
from pynenc_nb.widgets.base import DEFAULT_GRACE_S, DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S
from pynenc_nb.widgets.figures.common import short_task
from pynenc_nb.widgets.html import hint
from pynenc_nb.widgets.table import LiveTable
from pynenc_nb.widgets.window import Since, window_start

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

DEFAULT_LIMIT = 50
PAYLOAD_SHOWN = 300  # characters of a payload in the table (the view holds up to 2,000)
_CELL = "style='text-align:left;vertical-align:top;padding:2px 10px 2px 0'"


def _e(value: str) -> str:
    return html.escape(value)


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _created_html(run: TriggerRunView) -> str:
    if run.invocation_id is None:
        return f"<code>{_e(short_task(run.task_id))}</code> <i>no invocation (no argument provider applied)</i>"
    status = badge(run.status) if run.status is not None else "<i>purged</i>"
    ident = f'<code title="{_e(run.invocation_id)}">{_e(run.invocation_id[:12])}</code>'
    return f"<code>{_e(short_task(run.task_id))}</code> {ident} {status}"


def _row_html(event: EventView) -> str:
    made = (
        "<br>".join(_created_html(run) for run in event.runs) if event.runs else "<span style='color:#757575'>—</span>"
    )
    payload = _e(_cut(event.payload, PAYLOAD_SHOWN))
    cells = [
        _e(_clock(event.at)),
        f'<code title="event {_e(event.event_id)}">{_e(event.code)}</code>',
        f"<code style='font-size:85%;white-space:pre-wrap'>{payload}</code>",
        made,
    ]
    return "<tr>" + "".join(f"<td {_CELL}>{cell}</td>" for cell in cells) + "</tr>"


def events_html(page: EventPage, where: str) -> str:
    """The page as an escaped HTML table, with a caption counting what it shows."""
    matched = sum(1 for event in page.rows if event.matched)
    more = " (more exist: raise limit or narrow the window)" if page.next_cursor else ""
    caption = (
        f"<div class='pynenc-caption'>Events of {_e(where)}: {len(page.rows)} event"
        f"{'s' if len(page.rows) != 1 else ''}, {matched} matched a trigger{_e(more)}</div>"
    )
    if not page.rows:
        return caption + hint("no event in this window yet: app.trigger.emit_event(code, payload) or %pynenc emit")
    head = "".join(f"<th {_CELL}>{name}</th>" for name in ("time", "code", "payload", "created invocations"))
    body = "".join(_row_html(event) for event in page.rows)
    return f"{caption}<table class='pynenc-events' style='border-collapse:collapse'><tr>{head}</tr>{body}</table>"


def events_text(page: EventPage, where: str) -> str:
    lines = [f"Events of {where}: {len(page.rows)}"]
    for event in page.rows:
        made = ", ".join(
            f"{short_task(run.task_id)} {run.invocation_id[:8]} {run.status.value if run.status else 'purged'}"
            if run.invocation_id is not None
            else f"{short_task(run.task_id)} (no invocation)"
            for run in event.runs
        )
        lines.append(f"  {_clock(event.at)} {event.code}" + (f" → {made}" if made else ""))
    return "\n".join(lines)


class EventsBrowser(LiveTable):
    """Events of ``app`` emitted since ``since`` ago (``"10m"``, seconds, a datetime, None: all),
    newest first, at most ``limit``; ``code`` keeps one event code, ``matched`` the events some
    trigger fired on (True) or none did (False)."""

    def __init__(
        self,
        app: Pynenc,
        since: Since = "10m",
        *,
        code: str | None = None,
        matched: bool | None = None,
        limit: int = DEFAULT_LIMIT,
        live: bool = True,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = DEFAULT_GRACE_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        self.app = app
        self.queries = Monitor(app)
        self.start_time = window_start(since, time.time())
        self.code = code
        self.matched = matched
        self.limit = limit
        self.page = EventPage((), None, time.time())  # the last one read
        # last: the table part builds once at creation, from the fields above
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)

    @property
    def where(self) -> str:
        return f"app {self.app.app_id}" + (f", code {self.code}" if self.code else "")

    def _build(self) -> tuple[str, bool]:
        page = self.queries.events(code=self.code, since=self.start_time, matched=self.matched, limit=self.limit)
        self.page = page
        statuses = [run.status for event in page.rows for run in event.runs if run.invocation_id is not None]
        final = bool(page.rows) and all(status is None or status.is_final for status in statuses)
        return events_html(page, self.where), final

    def text(self) -> str:
        return events_text(self.page, self.where)
