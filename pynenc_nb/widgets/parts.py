"""The two kinds of live parts: a Plotly figure and a block of HTML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pynenc_nb.widgets.environment import ipywidgets
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.plotly_view import figure_view

logger = logging.getLogger("pynenc.widgets")


class FigurePart(Part[FigureDict]):
    """A live Plotly figure (``plotly_view``); clicking a point passes its id to ``on_click``.

    Points carry an invocation id in ``customdata``; traces without it (call links) are not
    clickable, nor are points whose id is empty (an event that created no invocation).
    """

    def __init__(
        self, build: Callable[[], tuple[FigureDict, bool]], on_click: Callable[[str], None] | None = None
    ) -> None:
        self._on_click = on_click
        super().__init__(build)

    def _create(self, payload: FigureDict) -> Any:
        widget = figure_view(payload)
        widget.on_point_click(self._clicked)
        return widget

    def _clicked(self, invocation_id: str) -> None:
        if self._on_click is None:
            return
        try:
            self._on_click(invocation_id)
        except Exception:  # a click must never raise into the kernel's comm handler
            logger.exception("pynenc widget: handling a click failed")

    def _push(self, widget: Any, before: FigureDict, after: FigureDict) -> None:
        widget.update(after)


class HtmlPart(Part[str]):
    def _create(self, payload: str) -> Any:
        return ipywidgets().HTML(value=payload)

    def _push(self, widget: Any, before: str, after: str) -> None:
        widget.value = after
