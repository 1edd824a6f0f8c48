"""``WorkflowsBrowser(app)``: workflow runs by type and status; ``WorkflowPanel(app, id)``: one run.

Each is one HTML table refreshed by the widget's live thread, live while something shown can
still change, and ending as the same static table. Data values are never shown, only their keys.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pynenc_nb.display import badge
from pynenc_nb.invocation.status import FINAL_STATUSES
from pynenc_nb.monitor import Monitor, WorkflowDetailView, WorkflowPage, WorkflowRun
from pynenc_nb.widgets.base import DEFAULT_GRACE_S, DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S
from pynenc_nb.widgets.figures.common import short_task
from pynenc_nb.widgets.html import hint
from pynenc_nb.widgets.table import LiveTable

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

DEFAULT_LIMIT = 50
_FINAL_NAMES = frozenset(status.value for status in FINAL_STATUSES)
_CELL = "style='text-align:left;vertical-align:top;padding:2px 10px 2px 0'"


def _e(value: str) -> str:
    return html.escape(value)


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _duration(run: WorkflowRun) -> str:
    return "—" if run.duration_s is None else f"{run.duration_s:.2f} s"


def _ident(invocation_id: str) -> str:
    return f'<code title="{_e(invocation_id)}">{_e(invocation_id[:12])}</code>'


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    top = "".join(f"<th {_CELL}>{_e(name)}</th>" for name in head)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table class='pynenc-workflows' style='border-collapse:collapse'><tr>{top}</tr>{body}</table>"


def _counts(run: WorkflowRun) -> str:
    parts = ", ".join(f"{n} {status}" for status, n in run.children_by_status.items())
    return f"{run.children}" + (f" <span style='color:#757575'>({_e(parts)})</span>" if parts else "")


def workflows_html(page: WorkflowPage, where: str) -> str:
    more = " (more exist: raise limit or choose a type)" if page.next_cursor else ""
    caption = f"<div class='pynenc-caption'>Workflows of {_e(where)}: {len(page.rows)} run{'s' if len(page.rows) != 1 else ''}{_e(more)}</div>"
    if not page.rows:
        return caption + hint("no workflow run yet: call an @app.workflow task")
    rows = [
        [
            _e(_clock(run.updated_at)),
            f"<code title='{_e(run.workflow_type)}'>{_e(short_task(run.workflow_type))}</code>",
            _ident(run.workflow_id) + (" <i>sub-workflow</i>" if run.parent_workflow_id else ""),
            badge(run.status),
            _e(_duration(run)),
            _counts(run),
        ]
        for run in page.rows
    ]
    return caption + _table(("updated", "type", "workflow", "status", "duration", "children"), rows)


def workflows_text(page: WorkflowPage, where: str) -> str:
    lines = [f"Workflows of {where}: {len(page.rows)}"]
    lines += [
        f"  {short_task(r.workflow_type)} {r.workflow_id[:8]} {r.status.value} {_duration(r)} children={r.children}"
        for r in page.rows
    ]
    return "\n".join(lines)


def workflow_html(view: WorkflowDetailView) -> str:
    run = view.workflow
    head = (
        f"<div class='pynenc-caption'>Workflow <code>{_e(short_task(run.workflow_type))}</code> "
        f"{_ident(run.workflow_id)} {badge(run.status)} {_e(_duration(run))}"
        + (f", sub-workflow of {_ident(run.parent_workflow_id)}" if run.parent_workflow_id else "")
        + "</div>"
    )
    steps = [
        [
            str(s.step),
            _e(s.kind),
            f"<code>{_e(s.call or s.task_id or '')}</code> {_ident(s.invocation_id)} "
            + (badge(s.status) if s.status is not None else "<i>not stored</i>")
            + (f" attempt {s.attempt}" if s.attempt else "")
            if s.invocation_id is not None
            else f"<code>{_e(s.value or '')}</code>",
        ]
        for s in view.steps
    ]
    parts = [head, "<b>Steps</b>", _table(("#", "kind", "value / child"), steps) if steps else hint("no step recorded")]
    parts.append("<b>Data keys</b> " + (", ".join(f"<code>{_e(k)}</code>" for k in view.data_keys) or "<i>none</i>"))
    members = [[_e(short_task(m.task_id)), _ident(m.invocation_id), badge(m.status)] for m in view.members]
    parts += ["<b>Members</b>", _table(("task", "invocation", "status"), members) if members else hint("no member")]
    if view.subworkflows:
        subs = [[_e(short_task(m.task_id)), _ident(m.invocation_id), badge(m.status)] for m in view.subworkflows]
        parts += ["<b>Sub-workflows</b>", _table(("type", "workflow", "status"), subs)]
    return "<br>".join(parts)


def workflow_text(view: WorkflowDetailView) -> str:
    run = view.workflow
    lines = [f"Workflow {short_task(run.workflow_type)} {run.workflow_id} {run.status.value}"]
    lines += [f"  {s.step} {s.kind} {s.call or s.value or ''}" for s in view.steps]
    lines.append(f"  data keys: {', '.join(view.data_keys) or '-'}; members: {len(view.members)}")
    return "\n".join(lines)


class WorkflowsBrowser(LiveTable):
    """Workflow runs of ``app``, most recently updated first (``workflow_type`` keeps one type)."""

    def __init__(
        self,
        app: Pynenc,
        *,
        workflow_type: str | None = None,
        limit: int = DEFAULT_LIMIT,
        live: bool = True,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = DEFAULT_GRACE_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        self.app = app
        self.queries = Monitor(app)
        self.workflow_type = workflow_type
        self.limit = limit
        self.page = WorkflowPage((), (), None, time.time())
        # last: the table part builds once at creation, from the fields above
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)

    @property
    def where(self) -> str:
        return f"app {self.app.app_id}" + (f", type {self.workflow_type}" if self.workflow_type else "")

    def _build(self) -> tuple[str, bool]:
        self.page = self.queries.workflows(workflow_type=self.workflow_type, limit=self.limit)
        final = bool(self.page.rows) and all(
            run.final and set(run.children_by_status) <= _FINAL_NAMES for run in self.page.rows
        )
        return workflows_html(self.page, self.where), final

    def text(self) -> str:
        return workflows_text(self.page, self.where)


class WorkflowPanel(LiveTable):
    """One workflow run: its step log, data keys, members and sub-workflows."""

    def __init__(
        self,
        app: Pynenc,
        workflow_id: str,
        *,
        live: bool = True,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = DEFAULT_GRACE_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        self.app = app
        self.queries = Monitor(app)
        self.workflow_id = workflow_id
        self.view = self.queries.workflow_detail(workflow_id)  # an unknown id fails here, not in the thread
        # last: the table part builds once at creation, from the fields above
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)

    def _build(self) -> tuple[str, bool]:
        self.view = self.queries.workflow_detail(self.workflow_id)
        run = self.view.workflow
        final = run.final and set(run.children_by_status) <= _FINAL_NAMES
        return workflow_html(self.view), final

    def text(self) -> str:
        return workflow_text(self.view)
