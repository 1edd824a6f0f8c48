"""Bring a Plotly ``FigureWidget`` from one figure dict to the next with as little traffic as possible.

Only the properties that changed are assigned, inside one ``batch_update``: plotly then sends one
combined restyle/relayout message. Properties the browser changed itself (zoom, pan) are left
alone unless the figure changes them too, so a live refresh does not undo the user's zoom.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb.widgets.figures.common import FigureDict

_MISSING: Any = object()


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The nested keys of ``after`` that differ from ``before`` (removed keys become None)."""
    changed: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key, _MISSING)
        if old == value:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            changed[key] = changes(old, value)
        else:
            changed[key] = value
    for key in before.keys() - after.keys():
        changed[key] = None
    return changed


def same_traces(before: FigureDict, after: FigureDict) -> bool:
    """Same number, types and names of traces: the figure can be restyled in place."""
    shape = [(trace.get("type"), trace.get("name")) for trace in before["data"]]
    return shape == [(trace.get("type"), trace.get("name")) for trace in after["data"]]


def sync_figure(widget: Any, before: FigureDict, after: FigureDict) -> None:
    """Apply ``after`` to a FigureWidget currently showing ``before``."""
    if not same_traces(before, after):
        with widget.batch_update():
            widget.layout = after["layout"]
        widget.data = ()
        widget.add_traces(after["data"])
        return
    with widget.batch_update():
        for index, (old, new) in enumerate(zip(before["data"], after["data"], strict=True)):
            trace_changes = changes(old, new)
            if trace_changes:
                widget.data[index].update(trace_changes)
        layout_changes = changes(before["layout"], after["layout"])
        if layout_changes:
            widget.layout.update(layout_changes)
