"""Saving a notebook while pynenc widgets are live: keep their figures, not dangling widget views.

A live widget's output carries the widget view and, beside it, a static snapshot of its figure
(``LiveWidget.live_bundle``), marked with ``SNAPSHOT_METADATA``; the labextension has the kernel
refresh it just before JupyterLab saves (``widgets/snapshots.py``). This pre-save hook of the server
then drops the widget view of those outputs, so the saved file shows the snapshot after a reload
and through nbconvert, without a kernel, instead of "Loading widget...".
The open notebook is not changed: the live widget keeps running there, and ends as a static
figure as usual. Outputs of other widgets are left alone.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb.widgets.base import SNAPSHOT_METADATA, WIDGET_VIEW_MIME

_MARK = next(iter(SNAPSHOT_METADATA))


def drop_live_views(model: dict[str, Any], **_: Any) -> None:
    """``ContentsManager.pre_save_hook``: edits a notebook model in place before it is written."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells", ()):
        for output in cell.get("outputs", ()) if isinstance(cell, dict) else ():
            data, metadata = output.get("data"), output.get("metadata") or {}
            marked = isinstance(metadata, dict) and isinstance(metadata.get(_MARK), dict)
            if marked and isinstance(data, dict) and WIDGET_VIEW_MIME in data and len(data) > 1:
                del data[WIDGET_VIEW_MIME]
