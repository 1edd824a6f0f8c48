"""Helpers of the widget tests: what a browser would send, and what was displayed."""

from __future__ import annotations

from typing import Any

from IPython.utils.capture import CapturedIO, RichOutput

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TIMEOUT_S = 60.0


def click(figure_view: Any, trace_name: str, point: int = 0) -> None:
    """The comm message a browser sends when the user clicks a point of a live figure."""
    index = next(i for i, trace in enumerate(figure_view.current["data"]) if trace.get("name") == trace_name)
    message = {"type": "click", "trace": index, "point": point, "version": figure_view.current_version, "id": None}
    figure_view._handle_custom_msg(message, [])


def outputs_for(captured: CapturedIO, display_id: str | None) -> list[RichOutput]:
    return [o for o in captured.outputs if (o.transient or {}).get("display_id") == display_id]


def final_output(captured: CapturedIO, display_id: str | None) -> RichOutput:
    """The static update that replaced the live widget of ``display_id``."""
    updates = [o for o in outputs_for(captured, display_id) if o.update]
    assert len(updates) == 1, f"expected one final update of the display, got {len(updates)}"
    return updates[0]
