"""Saving a notebook whose pynenc widget is live keeps the widget's figure, for reloads and nbconvert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter

from pynenc_nb.widgets.base import SNAPSHOT_METADATA, WIDGET_VIEW_MIME
from tests.jupyter_server.test_handlers import Fetch

PLOTLY = "application/vnd.plotly.v1+json"


def _output(data: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "data": data, "metadata": metadata}


async def test_a_saved_notebook_keeps_the_live_figure_and_drops_only_pynenc_widget_views(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    view = {"model_id": "abc123", "version_major": 2, "version_minor": 0}
    figure = {"data": [{"type": "bar", "x": [1, 2], "y": [3, 4]}], "layout": {"title": {"text": "Timeline · 2"}}}
    ours = _output(
        {WIDGET_VIEW_MIME: view, PLOTLY: figure, "text/html": "<b>Timeline · 2</b>", "text/plain": "<Timeline>"},
        SNAPSHOT_METADATA,
    )
    theirs = _output({WIDGET_VIEW_MIME: view, "text/plain": "IntSlider()"}, {})
    cell = nbformat.v4.new_code_cell("timeline", outputs=[nbformat.from_dict(ours), nbformat.from_dict(theirs)])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    # When JupyterLab saves it (a contents PUT, as its save does)
    body = {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(notebook))}
    await jp_fetch("api", "contents", "live.ipynb", method="PUT", body=json.dumps(body))
    saved = nbformat.read(jp_root_dir / "live.ipynb", as_version=4)
    first, second = saved.cells[0].outputs
    # Then our output keeps its figure without the widget view; another widget's output is untouched
    assert WIDGET_VIEW_MIME not in first.data and first.data[PLOTLY]["layout"]["title"]["text"] == "Timeline · 2"
    assert WIDGET_VIEW_MIME in second.data
    # And nbconvert renders the figure with no kernel
    html, _ = HTMLExporter().from_notebook_node(saved)
    assert "Timeline · 2" in html
