"""``LogExplorer(app)``: paste pynenc or pynenc_nb log lines, see them parsed and resolved.

In a kernel with widgets: a text area, a Parse button, the lines table (unparsed lines marked)
with the invocations they mention, and the mini-timeline of those invocations with the runners
and workers the lines name highlighted. Anywhere else (or ``LogExplorer(app, text)`` shown
without widgets): the same table and figure, static.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any

from pynenc_nb.display import badge
from pynenc_nb.monitor import LogExplorerView, LogLine, Monitor
from pynenc_nb.widgets import environment
from pynenc_nb.widgets.environment import ipywidgets
from pynenc_nb.widgets.figures.common import FigureDict, short_task
from pynenc_nb.widgets.figures.logs import log_timeline_figure
from pynenc_nb.widgets.html import hint
from pynenc_nb.widgets.plotly_view import figure_view
from pynenc_nb.widgets.static import MimeBundle, figure_bundle, html_bundle

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

LINES_SHOWN = 500  # rows of the lines table; the counts cover every line
MESSAGE_CHARS = 300
_CELL = "style='text-align:left;vertical-align:top;padding:2px 8px 2px 0'"
_UNPARSED = "style='text-align:left;vertical-align:top;padding:2px 8px 2px 0;color:#b00020'"


def _e(value: str) -> str:
    return html.escape(value)


def _clock(at: float | None) -> str:
    if at is None:
        return ""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"


def _runner_cell(line: LogLine) -> str:
    runner = line.runner
    if runner is None:
        return ""
    parts = [f"{runner.runner_class or '?'}({runner.runner_id or '?'})"]
    if runner.worker_id is not None:
        parts.append(f"{runner.worker_class or '?'}({runner.worker_id})")
    where = f" @{runner.hostname}:{runner.pid}" if runner.hostname else ""
    return f"<code>{_e('.'.join(parts) + where)}</code>"


def _message(text: str) -> str:
    return _e(text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "…")


def lines_html(view: LogExplorerView) -> str:
    """The caption, the lines table and the resolved invocations, as HTML (all task data escaped)."""
    found = {inv.invocation_id: inv for inv in view.invocations}
    caption = (
        f"<div class='pynenc-caption'>Log explorer: {len(view.lines)} lines, {view.parsed} parsed, "
        f"{view.unparsed} unparsed; {sum(1 for i in view.invocations if i.found)} of {len(view.invocations)} "
        f"invocations found</div>"
    )
    if not view.lines:
        return caption + hint("paste pynenc or pynenc_nb log lines above, then Parse")
    rows = []
    for line in view.lines[:LINES_SHOWN]:
        if not line.parsed:
            rows.append(
                f"<tr class='pynenc-log-unparsed'><td {_UNPARSED}>{line.number}</td>"
                f"<td {_UNPARSED} colspan='5'><i>unparsed</i> <code>{_message(line.raw)}</code></td></tr>"
            )
            continue
        refs = []
        for invocation_id in line.invocation_ids:
            inv = found.get(invocation_id)
            if inv is None:
                continue
            status = badge(inv.invocation.status) if inv.invocation is not None else "<i>not found</i>"
            refs.append(f"<code title='{_e(invocation_id)}'>{_e(invocation_id[:8])}</code> {status}")
        task = f"<code>{_e(short_task(line.task_id))}</code>" if line.task_id else ""
        rows.append(
            "<tr>"
            f"<td {_CELL}>{line.number}</td><td {_CELL}>{_e(_clock(line.timestamp))}</td>"
            f"<td {_CELL}>{_e(line.level or '')}</td><td {_CELL}>{_runner_cell(line)}</td>"
            f"<td {_CELL}>{' '.join(refs)} {task}</td><td {_CELL}>{_message(line.message)}</td>"
            "</tr>"
        )
    head = "".join(f"<th {_CELL}>{name}</th>" for name in ("#", "time", "level", "runner", "invocations", "message"))
    more = hint(f"{len(view.lines) - LINES_SHOWN} more lines not listed") if len(view.lines) > LINES_SHOWN else ""
    table = f"<table class='pynenc-logs' style='border-collapse:collapse'><tr>{head}</tr>{''.join(rows)}</table>"
    return caption + table + more


def lines_text(view: LogExplorerView) -> str:
    found = sum(1 for i in view.invocations if i.found)
    return (
        f"Log explorer: {len(view.lines)} lines, {view.parsed} parsed, {view.unparsed} unparsed; "
        f"{found} of {len(view.invocations)} invocations found"
    )


class LogExplorer:
    """Log lines of ``app`` parsed and resolved; ``text`` is parsed at once, the text area later."""

    def __init__(self, app: Pynenc, text: str = "") -> None:
        self.app = app
        self.queries = Monitor(app)
        self.view: LogExplorerView = self.queries.logs(text)
        self.figure: FigureDict = log_timeline_figure(self.view)
        self._text = text
        self._widgets: dict[str, Any] | None = None

    def parse(self, text: str) -> LogExplorerView:
        """Parse ``text`` (what the Parse button does) and show the result."""
        self._text = text
        self.view = self.queries.logs(text)
        self.figure = log_timeline_figure(self.view)
        if self._widgets is not None:
            self._widgets["table"].value = lines_html(self.view)
            self._widgets["figure"].update(self.figure)
        return self.view

    def static_bundle(self) -> MimeBundle:
        if not self.view.invocations:
            return html_bundle(lines_html(self.view), lines_text(self.view))
        return figure_bundle(self.figure, caption_html="", text=lines_text(self.view), extra_html=lines_html(self.view))

    def widget(self) -> Any:
        """The ipywidgets form: text area, Parse button, table, figure."""
        widgets = ipywidgets()
        area = widgets.Textarea(
            value=self._text,
            placeholder="Paste pynenc or pynenc_nb log lines (text or JSON)",
            layout=widgets.Layout(width="100%", height="140px"),
        )
        button = widgets.Button(description="Parse", button_style="primary")
        table = widgets.HTML(value=lines_html(self.view))
        figure = figure_view(self.figure)
        button.on_click(lambda _button: self.parse(area.value))
        self._widgets = {"area": area, "button": button, "table": table, "figure": figure}
        return widgets.VBox([area, button, table, figure])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if environment.comms_available():
            display(self.widget())  # type: ignore[no-untyped-call]
        else:
            display(self.static_bundle(), raw=True)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"<LogExplorer {lines_text(self.view)}>"
