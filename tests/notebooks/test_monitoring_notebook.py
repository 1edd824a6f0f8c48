"""03_monitoring.ipynb, executed headless and saved, renders its figures without a kernel.

A live widget leaves a static Plotly figure in its output when its updates end, so the saved
notebook shows the final pictures in nbconvert's HTML (and on GitHub) and carries no widget state
(a saved FigureWidget would add about 5 MB of JavaScript).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_monitoring.ipynb"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MAX_BYTES = 1_000_000


def test_03_monitoring_saved_and_converted_without_a_kernel_shows_the_static_timeline(tmp_path: Path) -> None:
    # Given the notebook executed headless (no widget state kept, as for a notebook we commit) and saved
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    saved = tmp_path / "saved.ipynb"
    nbformat.write(nb, saved)
    # Then the widget outputs were replaced by static figures, and the file stays small
    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert not [o for o in outputs if WIDGET_MIME in o.get("data", {})], "a live widget was left in the notebook"
    assert "widgets" not in nb.metadata
    assert saved.stat().st_size < MAX_BYTES, saved.stat().st_size
    figures = [o["data"][PLOTLY_MIME] for o in outputs if PLOTLY_MIME in o.get("data", {})]
    timeline = next(f for f in figures if f["layout"]["title"]["text"].startswith("Timeline"))
    shown_tasks = {i.rsplit(".", 1)[-1] for t in timeline["data"] if t["type"] == "bar" for i in _tasks(t)}
    assert {"survey", "batch", "measure", "calibrate", "download"} <= shown_tasks
    by_name = {trace["name"]: trace for trace in timeline["data"]}
    # bars by task, status as markers: the failure, the retry, the paused band, the workflow root
    assert by_name["FAILED"]["x"] and by_name["retry"]["x"] and by_name["paused"]["x"] and by_name["workflow root"]["x"]
    assert by_name["measure"]["type"] == "bar" and by_name["queued"]["x"], "a bar trace per task, the queue strip"

    # When it is converted to HTML with nbconvert, without any kernel
    body, _ = HTMLExporter().from_filename(str(saved))
    # Then the HTML draws the timeline from the figure JSON: trace names and our task names are in it
    assert '"name":"measure"' in body and '"name":"FAILED"' in body and '"name":"workflow root"' in body
    for task in ("__main__.measure", "__main__.survey", "__main__.calibrate"):
        assert task in body
    assert "plotly-graph-div" in body and "cdn.plot.ly" in body


def _tasks(trace: dict) -> list[str]:  # type: ignore[type-arg]
    """Task ids in a timeline trace's hover texts (``<b>task</b>``, escaped by plotly's JSON)."""
    found = []
    for hover in trace.get("hovertext", []):
        start = hover.find("<b>") + 3
        found.append(hover[start : hover.find("</b>", start)])
    return found
