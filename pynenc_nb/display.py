"""HTML reprs for notebooks. Everything from task data is escaped; nothing is unpickled to render."""

from __future__ import annotations

import html
from collections.abc import Mapping

from pynenc_nb.records import InvocationRecord, Outcome
from pynenc_nb.status import FINAL_STATUSES, InvocationStatus

STATUS_COLOURS: dict[InvocationStatus, str] = {
    InvocationStatus.REGISTERED: "#9e9e9e",
    InvocationStatus.PENDING: "#bdbdbd",
    InvocationStatus.RUNNING: "#1e88e5",
    InvocationStatus.PAUSED: "#8e24aa",
    InvocationStatus.RETRY: "#fb8c00",
    InvocationStatus.SUCCESS: "#43a047",
    InvocationStatus.FAILED: "#e53935",
    InvocationStatus.KILLED: "#6d4c41",
    InvocationStatus.REROUTED: "#fdd835",
    InvocationStatus.CONCURRENCY_CONTROLLED: "#00897b",
    InvocationStatus.CONCURRENCY_CONTROLLED_FINAL: "#00695c",
    InvocationStatus.PENDING_RECOVERY: "#f4511e",
    InvocationStatus.RUNNING_RECOVERY: "#d81b60",
}


def badge(status: InvocationStatus) -> str:
    colour = STATUS_COLOURS[status]
    return (
        f'<span class="pynenc-status" style="background:{colour};color:white;border-radius:3px;'
        f'padding:1px 6px;font-size:85%">{status.value}</span>'
    )


def invocation_html(record: InvocationRecord, outcome: Outcome | None) -> str:
    """The card of one invocation from its record and, once final, its outcome."""
    rows = [
        ("invocation", f"<code>{html.escape(record.invocation_id)}</code>"),
        ("task", f"<code>{html.escape(record.task_id)}</code>"),
        ("status", badge(record.status)),
        ("arguments", f"<code>{html.escape(record.args_display)}</code>"),
    ]
    if record.num_retries:
        rows.append(("retries", str(record.num_retries)))
    if outcome is not None:
        label = "result" if outcome.kind == "result" else "exception"
        rows.append((label, f"<code>{html.escape(outcome.display)}</code>"))
    body = "".join(
        f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows
    )
    return f'<table class="pynenc-invocation">{body}</table>'


def group_html(task_id: str, total: int, counts: Mapping[InvocationStatus, int]) -> str:
    """A group's progress bar and status counts."""
    done = sum(n for status, n in counts.items() if status in FINAL_STATUSES)
    parts = " ".join(f"{badge(status)}&nbsp;{n}" for status, n in sorted(counts.items(), key=lambda kv: kv[0].value))
    width = int(100 * done / total) if total else 100
    return (
        f'<div class="pynenc-group"><code>{html.escape(task_id)}</code>: {done}/{total} final '
        f'<div style="background:#eee;width:240px;height:8px;border-radius:4px">'
        f'<div style="background:#43a047;width:{width}%;height:8px;border-radius:4px"></div></div>{parts}</div>'
    )
