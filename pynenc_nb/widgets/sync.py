"""Bring a Plotly ``FigureWidget`` from one figure dict to the next with as little traffic as possible.

Only the properties that changed are assigned, inside one ``batch_update``: plotly then sends one
combined restyle/relayout message. Properties the browser changed itself (zoom, pan) are left
alone unless the figure changes them too, so a live refresh does not undo the user's zoom.

Two plotly behaviours the browser would otherwise show wrong (tests/browser/test_monitoring_widgets.py):
``update()`` merges a list of annotations or shapes into the current one element by element, so
an emptied or shorter list would leave stale ones drawn (``_assign`` replaces lists whole); and
plotly.js forgets an axis's explicit ``type`` whenever a trace's x or y data is restyled and
guesses it from the data, so epoch milliseconds on a date axis turn into plain numbers
(``widget_figure`` repeats the types in the layout's template, the default plotly.js falls back to).
"""

from __future__ import annotations

import re
from typing import Any

from pynenc_nb.widgets.figures.common import FigureDict

_MISSING: Any = object()
_AXIS = re.compile(r"^[xy]axis\d*$")


def widget_figure(figure: FigureDict) -> dict[str, Any]:
    """``figure`` as a FigureWidget is given it: axis types also in its template (see the module docstring)."""
    layout = figure["layout"]
    types = {
        key: {"type": value["type"]}
        for key, value in layout.items()
        if _AXIS.match(key) and isinstance(value, dict) and value.get("type") is not None
    }
    if not types:
        return {"data": figure["data"], "layout": layout}
    template = dict(layout.get("template") or {})
    template["layout"] = {**(template.get("layout") or {}), **types}
    return {"data": figure["data"], "layout": {**layout, "template": template}}


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
        # the layout's changes, not a whole new layout: that would leave out emptied lists
        # (annotations, shapes), and the browser would keep drawing the old ones
        with widget.batch_update():
            _assign(widget.layout, changes(widget_figure(before)["layout"], widget_figure(after)["layout"]))
        widget.data = ()
        widget.add_traces(after["data"])
        return
    with widget.batch_update():
        for index, (old, new) in enumerate(zip(before["data"], after["data"], strict=True)):
            trace_changes = changes(old, new)
            if trace_changes:
                _assign(widget.data[index], trace_changes)
        layout_changes = changes(before["layout"], after["layout"])
        if layout_changes:
            _assign(widget.layout, layout_changes)


def _assign(target: Any, changed: dict[str, Any]) -> None:
    """Set ``changed`` on a plotly object: nested objects key by key, anything else (lists of
    annotations or shapes included) replaced whole, unlike ``update()``."""
    for key, value in changed.items():
        current = target[key]
        if isinstance(value, dict) and hasattr(current, "to_plotly_json"):
            _assign(current, value)
        else:
            target[key] = value
