"""The monitor query layer: backend data as typed, JSON-serializable view-models.

One module answers every monitor question (inline widgets, the Jupyter server extension, the
``pynenc monitor`` page, the CLI), so no view logic is written twice. Queries are indexed and
paged: their cost follows what they return, not how many invocations are stored. Views carry
display strings only; nothing here unpickles a payload or ships a connection URL.

    from pynenc_nb.monitor import Monitor
    monitor = Monitor(app)
    view = monitor.timeline(time.time() - 600, None)
    json.dumps(view.to_json())
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pynenc_nb.exceptions import InvalidMonitorQueryError, MonitorError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.monitor.detail import build_detail
from pynenc_nb.monitor.event_models import EventPage, EventView, TriggerRunPage, TriggerRunView, TriggerView
from pynenc_nb.monitor.events import EventQuery, build_events, build_trigger_runs
from pynenc_nb.monitor.final_walks import shared_walks
from pynenc_nb.monitor.log_models import LogExplorerView, LogInvocation, LogLine, LogRunner, LogRunnerRef
from pynenc_nb.monitor.logs import explore
from pynenc_nb.monitor.models import (
    QUEUED_LANE,
    EventMarker,
    ExceptionView,
    FamilyTreeView,
    HistoryEntry,
    InvocationDetailView,
    InvocationOrigin,
    InvocationPage,
    InvocationSummary,
    JsonView,
    Lane,
    Link,
    RunnerView,
    SegmentColumns,
    StatusSegment,
    TaskView,
    TimelineInvocation,
    TimelineView,
    TreeEdge,
    TreeNode,
    WorkflowView,
)
from pynenc_nb.monitor.overview import invocation_page, runner_views, status_counts, task_views
from pynenc_nb.monitor.timeline import TimelineQuery, build_timeline
from pynenc_nb.monitor.tree import MAX_NODES, build_family_tree
from pynenc_nb.monitor.triggers import build_triggers
from pynenc_nb.monitor.workflow_models import WorkflowDetailView, WorkflowPage, WorkflowRun, WorkflowStep
from pynenc_nb.monitor.workflows import WorkflowQuery, build_workflow_detail, build_workflows
from pynenc_nb.records import InvocationFilter

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource

__all__ = [
    # entry point, its filter, errors
    "InvalidMonitorQueryError",
    "InvocationFilter",
    "Monitor",
    "MonitorError",
    # views
    "QUEUED_LANE",
    "EventMarker",
    "EventPage",
    "EventView",
    "ExceptionView",
    "FamilyTreeView",
    "HistoryEntry",
    "InvocationDetailView",
    "InvocationOrigin",
    "InvocationPage",
    "InvocationSummary",
    "JsonView",
    "Lane",
    "Link",
    "LogExplorerView",
    "LogInvocation",
    "LogLine",
    "LogRunner",
    "LogRunnerRef",
    "RunnerView",
    "SegmentColumns",
    "StatusSegment",
    "TaskView",
    "TimelineInvocation",
    "TimelineView",
    "TreeEdge",
    "TreeNode",
    "TriggerRunPage",
    "TriggerRunView",
    "TriggerView",
    "WorkflowDetailView",
    "WorkflowPage",
    "WorkflowRun",
    "WorkflowStep",
    "WorkflowView",
]


class Monitor:
    """Read-only queries over one app's backends, each returning a view-model.

    ``clock`` gives the time that open segments, durations and heartbeat ages are measured
    against (tests pass a fixed one). Unknown invocation ids raise ``InvocationNotFoundError``;
    bad arguments (cursor, status, limit) raise ``InvalidMonitorQueryError``.
    """

    def __init__(self, app: MonitorSource, *, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock
        # the timeline's final invocations, for the next timeline of any monitor of this backend
        self.final_walks = shared_walks(app.state_backend)

    def timeline(
        self,
        start: float | None,
        end: float | None,
        *,
        task_id: str | None = None,
        statuses: Iterable[InvocationStatus | str] | None = None,
        workflow_id: str | None = None,
        limit: int = 2000,
        cursor: str | None = None,
    ) -> TimelineView:
        """Invocations active in ``[start, end)``: changed in it, or not final and last changed before it.

        ``None`` leaves that side open. Each page holds up to ``limit`` invocations (those changed
        in the window first, most recent first) with all their segments; rows are packed per page.
        An invocation whose last change is after ``end`` is not in the window's pages, even if it
        was running during it.
        """
        query = TimelineQuery(start, end, task_id, statuses, workflow_id, limit, cursor)
        return build_timeline(self.app, query, self.clock(), self.final_walks)

    def family_tree(self, invocation_id: str, depth: int = 3, *, max_nodes: int = MAX_NODES) -> FamilyTreeView:
        """The invocation and its descendants down to ``depth`` generations, laid out in layers."""
        return build_family_tree(self.app, invocation_id, depth, max_nodes, self.clock())

    def runners(self, *, include_stopped: bool = False) -> list[RunnerView]:
        """Runners with their heartbeat age and whether they count as alive (``runner_dead_after_s``)."""
        return runner_views(self.app, include_stopped, self.clock())

    def status_counts(
        self,
        *,
        task_id: str | None = None,
        workflow_id: str | None = None,
        parent_invocation_id: str | None = None,
        owner_id: str | None = None,
        updated_after: float | None = None,
        updated_before: float | None = None,
    ) -> dict[str, int]:
        """Invocations by current status, every status present (zero included), in table order."""
        flt = InvocationFilter(
            task_id=task_id,
            workflow_id=workflow_id,
            parent_invocation_id=parent_invocation_id,
            owner_id=owner_id,
            updated_after=updated_after,
            updated_before=updated_before,
        )
        return status_counts(self.app, flt)

    def invocation_detail(self, invocation_id: str, *, children_limit: int = 50) -> InvocationDetailView:
        """Fields, argument and outcome displays, history with runner labels, relatives."""
        return build_detail(self.app, invocation_id, children_limit, self.clock())

    def tasks(self, *, counts: bool = True) -> list[TaskView]:
        """Known task ids, sorted; ``counts`` adds an indexed count by status per task."""
        return task_views(self.app, counts)

    def invocations(
        self, filters: InvocationFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> InvocationPage:
        """A page of invocation summaries, most recently updated first."""
        return invocation_page(self.app, filters or InvocationFilter(), limit, cursor, self.clock())

    def events(
        self,
        *,
        code: str | None = None,
        since: float | None = None,
        until: float | None = None,
        matched: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> EventPage:
        """A page of emitted events, newest first, each with its payload (JSON text) and the
        trigger runs it made with the invocations they created.

        ``since`` is inclusive, ``until`` exclusive (epoch seconds). ``matched`` keeps the events
        some trigger fired on (True) or none did (False); such a page reads a bounded number of
        events, so it may be short, or empty, and still have a ``next_cursor``.
        """
        query = EventQuery(code, since, until, matched, limit, cursor)
        return build_events(self.app, query, self.clock())

    def trigger_runs(self, *, trigger_id: str | None = None, limit: int = 50) -> TriggerRunPage:
        """The most recent trigger runs (of one trigger), with the invocations they created."""
        return build_trigger_runs(self.app, trigger_id, limit, self.clock())

    def triggers(self) -> list[TriggerView]:
        """Every stored trigger with its task and its conditions in words, by task id."""
        return build_triggers(self.app)

    def workflows(
        self,
        *,
        workflow_type: str | None = None,
        statuses: Iterable[InvocationStatus | str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> WorkflowPage:
        """A page of workflow runs (their roots, sub-workflows included), most recently updated
        first, each with its duration and its members by status; indexed by task id per type."""
        query = WorkflowQuery(workflow_type, statuses, limit, cursor)
        return build_workflows(self.app, query, self.clock())

    def workflow_detail(
        self, workflow_id: str, *, members_limit: int = 50, members_cursor: str | None = None
    ) -> WorkflowDetailView:
        """One run: its recorded steps, data keys (never values), a page of members, sub-workflows."""
        return build_workflow_detail(self.app, workflow_id, members_limit, members_cursor, self.clock())

    def logs(self, text: str) -> LogExplorerView:
        """Pasted pynenc or pynenc_nb log lines parsed (text or JSON; unknown lines kept, marked
        unparsed), each invocation they mention resolved, and a timeline of those invocations with
        the runners and workers they name highlighted."""
        return explore(self.app, text, self.clock())
