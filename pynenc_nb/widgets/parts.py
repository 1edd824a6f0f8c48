"""The two kinds of live parts: a Plotly figure and a block of HTML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pynenc_nb.widgets.environment import ipywidgets, plotly_graph_objects
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.static import PLOTLY_CONFIG
from pynenc_nb.widgets.sync import same_traces, sync_figure, widget_figure

logger = logging.getLogger("pynenc.widgets")


class FigurePart(Part[FigureDict]):
    """A Plotly ``FigureWidget`` (an anywidget); clicking a point passes its id to ``on_click``.

    Points carry an invocation id in ``customdata``; traces without it (call links) are not
    clickable, nor are points whose id is empty (an event that created no invocation).
    """

    def __init__(
        self, build: Callable[[], tuple[FigureDict, bool]], on_click: Callable[[str], None] | None = None
    ) -> None:
        self._on_click = on_click
        super().__init__(build)

    def _create(self, payload: FigureDict) -> Any:
        widget = plotly_graph_objects().FigureWidget(widget_figure(payload))
        widget._config = dict(PLOTLY_CONFIG)  # responsive: refits to its box (see widgets/resize.py)
        self._listen(widget)
        return widget

    def _listen(self, widget: Any) -> None:
        if self._on_click is not None:
            for trace in widget.data:
                if getattr(trace, "customdata", None) is not None:
                    trace.on_click(self._clicked)

    def _clicked(self, trace: Any, points: Any, _state: Any) -> None:
        if self._on_click is None or not points.point_inds:
            return
        ids = trace.customdata
        index = points.point_inds[0]
        if ids is not None and 0 <= index < len(ids) and ids[index]:
            try:
                self._on_click(str(ids[index]))
            except Exception:  # a click must never raise into the kernel's comm handler
                logger.exception("pynenc widget: handling a click failed")

    def _push(self, widget: Any, before: FigureDict, after: FigureDict) -> None:
        sync_figure(widget, before, after)
        if not same_traces(before, after):  # traces were replaced: their click handlers too
            self._listen(widget)


class HtmlPart(Part[str]):
    def _create(self, payload: str) -> Any:
        return ipywidgets().HTML(value=payload)

    def _push(self, widget: Any, before: str, after: str) -> None:
        widget.value = after
