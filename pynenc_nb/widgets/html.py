"""HTML fragments of the widgets, from monitor views only; every string from task data is escaped."""

from __future__ import annotations

import html

from pynenc_nb.display import badge
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor.models import InvocationDetailView, InvocationOrigin, InvocationSummary
from pynenc_nb.widgets.figures.common import seconds_text, short_task

_CELL = "style='text-align:left;vertical-align:top;padding:1px 8px 1px 0'"
ARGS_CHARS = 500
HISTORY_SHOWN = 12


def _e(value: str) -> str:
    return html.escape(value)


def _row(name: str, value_html: str) -> str:
    return f"<tr><th {_CELL}>{_e(name)}</th><td {_CELL}>{value_html}</td></tr>"


def _ref(summary: InvocationSummary) -> str:
    return f"<code>{_e(short_task(summary.task_id))}</code> {summary.invocation_id[:8]} {badge(summary.status)}"


def invocation_card(view: InvocationDetailView) -> str:
    """One invocation: status badge, arguments, runner, outcome, relatives and history."""
    inv = view.invocation
    args = ", ".join(f"{name}={value}" for name, value in inv.args.items()) or "(none)"
    if len(args) > ARGS_CHARS:
        args = args[:ARGS_CHARS] + "…"
    status = badge(inv.status)
    if inv.num_retries:
        status += f" after {inv.num_retries} retr{'y' if inv.num_retries == 1 else 'ies'}"
    if inv.recoveries:
        status += f", {inv.recoveries} recover{'y' if inv.recoveries == 1 else 'ies'}"
    rows = [
        _row("invocation", f"<code>{_e(inv.invocation_id)}</code>"),
        _row("task", f"<code>{_e(inv.task_id)}</code>"),
        _row("status", status),
        _row("arguments", f"<code>{_e(args)}</code>"),
    ]
    if view.owner_label:
        rows.append(_row("runner", _e(view.owner_label)))
    if view.history:
        end = view.history[-1].at if inv.final else view.generated_at
        rows.append(_row("elapsed", _e(seconds_text(max(0.0, end - view.history[0].at)))))
    if view.result is not None:
        rows.append(_row("result", f"<code>{_e(view.result)}</code>"))
    if view.exception is not None:
        exc = view.exception
        raised = f"<code>{_e(exc.type)}: {_e(exc.message)}</code>"
        if exc.traceback:
            raised += (
                "<details><summary>traceback</summary>"
                f"<pre style='font-size:85%;white-space:pre-wrap'>{_e(exc.traceback)}</pre></details>"
            )
        rows.append(_row("exception", raised))
    if view.parent is not None:
        rows.append(_row("parent", _ref(view.parent)))
    if view.children:
        more = " and more" if view.children_next_cursor else ""
        shown = "<br>".join(_ref(child) for child in view.children[:5])
        rows.append(_row(f"children ({len(view.children)}{more})", shown))
    if view.workflow is not None:
        flow = view.workflow
        role = "root of" if flow.is_root else "in"
        rows.append(_row("workflow", f"{role} <code>{_e(flow.workflow_type)}</code> {flow.workflow_id[:8]}"))
    if view.origin is not None:
        rows.append(_row("created by", _origin(view.origin)))
    if view.history:
        rows.append(_row("history", _history(view)))
    body = "".join(rows)
    return f'<table class="pynenc-invocation" style="border-collapse:collapse">{body}</table>'


def _origin(origin: InvocationOrigin) -> str:
    """The trigger run that made the invocation: ``trigger 1a2b3c4d on event order.placed 5e6f…``."""
    what = {"event": "event", "status": "a status of invocation", "cron": "cron tick", "composite": "all of"}
    source = origin.source_id if origin.source_kind in ("cron", "composite") else origin.source_id[:8]
    code = f" <code>{_e(origin.event_code)}</code>" if origin.event_code else ""
    kind = what.get(origin.source_kind, origin.source_kind)
    return f"trigger <code>{_e(origin.trigger_id[:8])}</code> on {_e(kind)}{code} <code>{_e(source)}</code>"


def _history(view: InvocationDetailView) -> str:
    first = view.history[0].at
    entries = view.history[-HISTORY_SHOWN:]
    skipped = len(view.history) - len(entries)
    parts = [f"… {skipped} earlier"] if skipped else []
    for entry in entries:
        where = f" on {_e(entry.owner_label)}" if entry.owner_label else ""
        parts.append(f"{_e(entry.status.value)} +{_e(seconds_text(entry.at - first))}{where}")
    return "<span style='font-size:85%'>" + " → ".join(parts) + "</span>"


def counts_line(counts: dict[str, int]) -> str:
    """Badges with counts, only for statuses that have invocations."""
    shown = [f"{badge(InvocationStatus(status))}&nbsp;{n}" for status, n in counts.items() if n]
    return '<div class="pynenc-counts">' + (" ".join(shown) or "no invocation yet") + "</div>"


def hint(message: str) -> str:
    return f"<div style='color:#757575;font-size:90%;padding:4px 0'>{_e(message)}</div>"
