"""HTML reprs for notebooks. Everything from task data is escaped; nothing is unpickled to render."""

from __future__ import annotations

import html
from collections.abc import Mapping

from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.records import InvocationRecord, Outcome

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


def _short(task_id: str) -> str:
    """A notebook's tasks by their name (``__main__.nap`` -> ``nap``); module tasks in full."""
    return task_id.removeprefix("__main__.")


def group_progress(counts: Mapping[InvocationStatus, int]) -> dict[str, int]:
    """A fan-out's counts as its users read them: done (SUCCESS), failed (any other final status),
    running (taken by a runner, or waiting on its own calls) and queued (everything else)."""
    out = {"done": 0, "failed": 0, "running": 0, "queued": 0}
    for status, n in counts.items():
        if status is InvocationStatus.SUCCESS:
            out["done"] += n
        elif status in FINAL_STATUSES:
            out["failed"] += n
        elif status in (InvocationStatus.PENDING, InvocationStatus.RUNNING, InvocationStatus.PAUSED):
            out["running"] += n
        else:
            out["queued"] += n
    return out


_SEGMENTS = (("done", "#43a047"), ("failed", "#e53935"), ("running", "#1e88e5"))


def group_html(task_id: str, total: int, counts: Mapping[InvocationStatus, int], rate: float | None = None) -> str:
    """A group's progress bar: done, failed and running segments, the four counts, and a rate."""
    p = group_progress(counts)
    final = p["done"] + p["failed"]
    bar = "".join(
        f'<div style="background:{colour};width:{100 * p[name] / total if total else 0:.2f}%;height:8px"></div>'
        for name, colour in _SEGMENTS
    )
    labels = " ".join(f"{name}&nbsp;{p[name]}" for name in ("done", "failed", "running", "queued"))
    speed = f" · {rate:.1f}/s" if rate else ""
    return (
        f'<div class="pynenc-group"><code>{html.escape(_short(task_id))}</code>: {final}/{total} final{speed} '
        '<div style="display:flex;background:#eee;width:240px;height:8px;border-radius:4px;overflow:hidden">'
        f"{bar}</div>{labels}</div>"
    )


def group_text(task_id: str, total: int, counts: Mapping[InvocationStatus, int], rate: float | None = None) -> str:
    """The same as one line of text, for terminals and scripts."""
    p = group_progress(counts)
    final = p["done"] + p["failed"]
    width = 30
    filled = int(width * final / total) if total else width
    speed = f" {rate:.1f}/s" if rate else ""
    return (
        f"{_short(task_id)} [{'#' * filled}{'.' * (width - filled)}] {final}/{total} "
        f"(done {p['done']}, failed {p['failed']}, running {p['running']}, queued {p['queued']}){speed}"
    )
