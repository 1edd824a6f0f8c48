"""``MonitorPanel(app)``: counts by status above tabs with the timeline, the runners and a family tree.

One live thread refreshes every part. Clicking an invocation (a bar in the timeline, a node in
the tree) shows its detail under the timeline and its family tree in the third tab.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynenc_nb import monitor as queries_module
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.invocation.status import FINAL_STATUSES
from pynenc_nb.monitor import RunnerView, TimelineView
from pynenc_nb.widgets.base import DEFAULT_GRACE_S, DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S, LiveWidget
from pynenc_nb.widgets.environment import ipywidgets
from pynenc_nb.widgets.figures.common import FigureDict, base_layout, empty_note
from pynenc_nb.widgets.figures.runners import runners_figure
from pynenc_nb.widgets.figures.timeline import timeline_figure
from pynenc_nb.widgets.figures.tree import family_tree_figure
from pynenc_nb.widgets.html import counts_line
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import FigurePart, HtmlPart
from pynenc_nb.widgets.resize import full_width_box
from pynenc_nb.widgets.runners import runners_text
from pynenc_nb.widgets.selection import Selection
from pynenc_nb.widgets.static import MimeBundle, figure_bundle, figure_html
from pynenc_nb.widgets.timeline import DEFAULT_LIMIT
from pynenc_nb.widgets.window import Since, window_start

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

FINAL_NAMES = frozenset(status.value for status in FINAL_STATUSES)
TREE_DEPTH = 3


def _no_tree() -> FigureDict:
    layout = base_layout("Family tree", 220)
    hidden = {"visible": False}
    layout.update(
        {"xaxis": hidden, "yaxis": hidden, "annotations": [empty_note("click an invocation in the timeline")]}
    )
    return {"data": [], "layout": layout}


class MonitorPanel(LiveWidget):
    """Everything about one app at a glance: live while anything shown can still change."""

    def __init__(
        self,
        app: Pynenc,
        since: Since = "10m",
        *,
        live: bool = True,
        limit: int = DEFAULT_LIMIT,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = DEFAULT_GRACE_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)
        self.app = app
        self.queries = queries_module.Monitor(app)
        self.start_time = window_start(since, time.time())
        self.limit = limit
        self.view: TimelineView | None = None
        self.runners: list[RunnerView] = []
        self.selection = Selection(
            self.queries, "Click a bar to see that invocation here, and its family tree in the third tab."
        )
        self.counts: Part[str] = HtmlPart(self._build_counts)
        self.timeline: Part[FigureDict] = FigurePart(self._build_timeline, on_click=self.select)
        self.runners_figure: Part[FigureDict] = FigurePart(self._build_runners)
        self.tree: Part[FigureDict] = FigurePart(self._build_tree, on_click=self.select)

    def _build_counts(self) -> tuple[str, bool]:
        counts = self.queries.status_counts(updated_after=self.start_time)
        line = f"<b>{html.escape(self.app.app_id)}</b> since the window start: {counts_line(counts)}"
        return line, all(n == 0 for status, n in counts.items() if status not in FINAL_NAMES)

    def _build_timeline(self) -> tuple[FigureDict, bool]:
        view = self.queries.timeline(self.start_time, None, limit=self.limit)
        self.view = view
        return timeline_figure(view), bool(view.invocations) and all(inv.status.is_final for inv in view.invocations)

    def _build_runners(self) -> tuple[FigureDict, bool]:
        self.runners = self.queries.runners()
        return runners_figure(self.runners), not any(r.alive for r in self.runners)

    def _build_tree(self) -> tuple[FigureDict, bool]:
        selected = self.selection.invocation_id
        if selected is None:
            return _no_tree(), True
        try:
            view = self.queries.family_tree(selected, TREE_DEPTH)
        except InvocationNotFoundError:
            return _no_tree(), True
        return family_tree_figure(view), all(node.status.is_final for node in view.nodes)

    def select(self, invocation_id: str) -> None:
        """Show ``invocation_id``'s detail and family tree (what a click does)."""
        self.selection.select(invocation_id)
        self.tree.refresh()

    @property
    def parts(self) -> Sequence[Part[Any]]:
        return (self.counts, self.timeline, self.selection.part, self.runners_figure, self.tree)

    def _container(self) -> Any:
        widgets = ipywidgets()
        tabs = widgets.Tab(
            children=[
                widgets.VBox([self.timeline.widget, self.selection.part.widget]),
                self.runners_figure.widget,
                self.tree.widget,
            ],
            titles=["Timeline", "Runners", "Family tree"],
            layout=widgets.Layout(width="100%"),
        )
        return full_width_box([self.counts.widget, tabs])

    def static_bundle(self) -> MimeBundle:
        """The timeline as Plotly JSON (what JupyterLab draws); everything in the HTML version."""
        extra = self.selection.static_html() + figure_html(self.runners_figure.shown.payload)
        if self.selection.invocation_id is not None:
            extra += figure_html(self.tree.shown.payload)
        invocations = len(self.view.invocations) if self.view is not None else 0
        text = f"Monitor of app {self.app.app_id}: {invocations} invocations in the timeline\n" + runners_text(
            self.runners
        )
        return figure_bundle(
            self.timeline.shown.payload, caption_html=self.counts.shown.payload, text=text, extra_html=extra
        )
