"""``Timeline(app)``: the live Gantt chart of what ran where, with the clicked invocation below."""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynenc_nb.display import badge
from pynenc_nb.monitor import Monitor, TimelineView
from pynenc_nb.widgets.base import DEFAULT_GRACE_S, DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S, LiveWidget
from pynenc_nb.widgets.figures.common import STATUS_ORDER, FigureDict
from pynenc_nb.widgets.figures.timeline import timeline_figure
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import FigurePart
from pynenc_nb.widgets.resize import full_width_box
from pynenc_nb.widgets.selection import Selection
from pynenc_nb.widgets.static import MimeBundle, figure_bundle
from pynenc_nb.widgets.window import Since, task_id_of, window_start

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

DEFAULT_LIMIT = 2000


class Timeline(LiveWidget):
    """Invocations of ``app`` active since ``since`` ago (``"10m"``, seconds, a datetime, None: all).

    ``task`` keeps one task (a task, its id or its short name). The figure stays live while any
    invocation shown is not final, or nothing is shown yet; click a bar to see that invocation.
    """

    def __init__(
        self,
        app: Pynenc,
        since: Since = "10m",
        *,
        live: bool = True,
        task: Any = None,
        limit: int = DEFAULT_LIMIT,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = DEFAULT_GRACE_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)
        self.app = app
        self.queries = Monitor(app)
        self.start_time = window_start(since, time.time())
        self.task_id = task_id_of(self.queries, task)
        self.limit = limit
        self.view: TimelineView | None = None  # the last one computed
        self.selection = Selection(self.queries, "Click a bar to see that invocation here.")
        self.figure: Part[FigureDict] = FigurePart(self._build, on_click=self.select)

    def _build(self) -> tuple[FigureDict, bool]:
        view = self.queries.timeline(self.start_time, None, task_id=self.task_id, limit=self.limit)
        self.view = view
        final = bool(view.invocations) and all(inv.status.is_final for inv in view.invocations)
        return timeline_figure(view), final

    def select(self, invocation_id: str) -> None:
        """Show ``invocation_id`` under the figure (what clicking its bar does)."""
        self.selection.select(invocation_id)

    @property
    def parts(self) -> Sequence[Part[Any]]:
        return (self.figure, self.selection.part)

    def _container(self) -> Any:
        return full_width_box([self.figure.widget, self.selection.part.widget])

    def static_bundle(self) -> MimeBundle:
        view = self.view
        counts = Counter(inv.status for inv in view.invocations) if view is not None else Counter()
        total = sum(counts.values())
        listed = [(status, counts[status]) for status in STATUS_ORDER if counts[status]]
        where = f"task {self.task_id}" if self.task_id else f"app {self.app.app_id}"
        caption = (
            f"<div class='pynenc-caption'>Timeline of {html.escape(where)}: {total} invocations "
            + " ".join(f"{badge(status)}&nbsp;{n}" for status, n in listed)
            + "</div>"
        )
        text = f"Timeline of {where}: {total} invocations" + (
            " (" + ", ".join(f"{status.value} {n}" for status, n in listed) + ")" if listed else ""
        )
        return figure_bundle(
            self.figure.shown.payload, caption_html=caption, text=text, extra_html=self.selection.static_html()
        )
