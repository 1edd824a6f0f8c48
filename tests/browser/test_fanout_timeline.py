"""An 80-task fan-out over two 2-slot process runners in JupyterLab: the live and final timeline read
as task-stream lanes (a queue strip, one row per slot, colour by task) and the family tree collapses
the 80 siblings. Screenshots go to ``test-artifacts/`` (``timeline-live.png``, ``timeline-final.png``,
``tree.png``; ``PYNENC_NB_SHOT_SUFFIX=-before`` names them ``timeline-live-before.png``...)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.notebook import (
    TIMEOUT_S,
    code_cells,
    error_outputs,
    open_notebook,
    run_all_cells,
    wait_for_kernel_idle,
    wait_until_executed,
    write_notebook,
)
from tests.browser.server import JupyterLab, poll

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import PageLog

pytestmark = pytest.mark.browser
NOTEBOOK = "fanout_timeline.ipynb"
CALLS = 80
RUN_TIMEOUT_S = 120.0
LIVE_PLOT = ".jupyter-widgets .js-plotly-plot"
STATIC_PLOT = ".jp-RenderedPlotly.js-plotly-plot"
CELLS = [
    "%load_ext pynenc_nb\nimport time\nfrom pynenc_nb import Pynenc\nfrom pynenc_nb.widgets import Timeline\n\n"
    "app = Pynenc(app_id='fanout-timeline')\napp.purge()",
    "@app.task\ndef measure(i: int) -> int:\n    time.sleep(0.3 + 0.05 * (i % 4))\n    return i\n\n\n"
    "@app.task\ndef fan(n: int) -> int:\n    return sum(measure.parallelize([(i,) for i in range(n)]).results)",
    "%pynenc runner start --kind process --workers 2 --name p1\n%pynenc runner start --kind process --workers 2 --name p2",
    "timeline = Timeline(app, since='5m', grace_s=1)\ntimeline",
    f"root = fan({CALLS})\nprint('total', root.result)",
    "assert timeline.join(timeout=90)\nprint(timeline.ended_because)",
    "%pynenc tree root",
    "%pynenc runner stop --all",
]
# The figure the plot div holds: its y ticks, bar traces, the row each bar sits on, the trace names
FIGURE_JS = """plot => {
    const data = plot.data || [];
    const layout = plot.layout || {};
    const full = plot._fullLayout || {};
    return {
        ticks: ((layout.yaxis || {}).ticktext || []).map(String),
        traces: data.map(t => ({name: t.name || '', type: t.type, n: (t.x || []).length,
                                ys: Array.from(t.y || []).filter(y => y !== null), yaxis: t.yaxis || 'y',
                                color: (t.marker || {}).color, fill: t.fill || ''})),
        title: (layout.title && layout.title.text) || '',
        width: full.width || 0,
        notes: (full.annotations || []).map(a => a.text || ''),
    };
}"""


def _shot(element: Locator, artifacts_dir: Path, name: str) -> Path:
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    path = artifacts_dir / f"{name}{os.environ.get('PYNENC_NB_SHOT_SUFFIX', '')}.png"
    element.evaluate("element => element.scrollIntoView({block: 'start'})")
    element.screenshot(path=path)
    return path


def _cell(page: Page, source: str) -> Locator:
    cell = code_cells(page).filter(has_text=source)
    assert cell.count() == 1, source
    return cell


def _figure(plot: Locator) -> dict[str, Any]:
    state: dict[str, Any] = plot.evaluate(FIGURE_JS)
    return state


def _assert_task_stream(figure: dict[str, Any], cell_width: float) -> None:
    """Two runner lanes of at most slots + 1 rows, one queue trace, bars coloured by task."""
    ticks = figure["ticks"]
    assert any(tick.startswith("p1") for tick in ticks) and any(tick.startswith("p2") for tick in ticks), ticks
    runner_ticks = [tick for tick in ticks if tick.startswith(("p1", "p2"))]
    assert all("2 slots" in tick for tick in runner_ticks), runner_ticks
    queue = [trace for trace in figure["traces"] if trace["name"] == "queued"]
    assert len(queue) == 1 and queue[0]["fill"], figure["traces"]
    bar_rows = {y for trace in figure["traces"] if trace["type"] == "bar" for y in trace["ys"]}
    assert len(bar_rows) <= 2 * (2 + 1), sorted(bar_rows)  # two runners of 2 slots, + a paused row each
    names = {trace["name"] for trace in figure["traces"] if trace["type"] == "bar" and trace["n"]}
    assert "measure" in names, names
    assert figure["width"] >= 0.9 * cell_width, (figure["width"], cell_width)


def test_a_fan_out_over_two_process_runners_reads_as_a_task_stream(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog, artifacts_dir: Path
) -> None:
    # Given a notebook that fans 80 calls out over two process runners of two slots each
    page.set_viewport_size({"width": 1400, "height": 1500})  # room for a whole figure in a screenshot
    write_notebook(jupyter_lab.root_dir / NOTEBOOK, CELLS)
    open_notebook(page, jupyter_lab, NOTEBOOK)
    wait_for_kernel_idle(jupyter_lab, NOTEBOOK)
    timeline_cell = _cell(page, "timeline = Timeline(")
    fan_cell = _cell(page, "root = fan(")
    tree_cell = _cell(page, "%pynenc tree root")
    # When every cell runs
    run_all_cells(page)
    live = timeline_cell.locator(LIVE_PLOT).first
    live.wait_for(state="attached", timeout=RUN_TIMEOUT_S * 1000)

    # Then while the fan-out runs the live timeline shows bars on the runners' lanes, as wide as the cell
    output = timeline_cell.locator(".jp-OutputArea-output").first

    def running() -> dict[str, Any] | None:
        busy = fan_cell.locator(".jp-InputArea-prompt").inner_text().strip().startswith("[*]")
        # The live view is replaced by the static figure once the timeline ends: fail at once then
        assert live.count(), "the fan-out ended before the live timeline showed 8 bars across the cell"
        figure = _figure(live)
        drawn = sum(trace["n"] for trace in figure["traces"] if trace["type"] == "bar")
        wide = figure["width"] >= 0.9 * output.bounding_box()["width"]  # type: ignore[index]
        return figure if busy and drawn >= 8 and wide else None

    live_figure = poll(running, RUN_TIMEOUT_S, "wide bars on the live timeline while the fan-out runs", interval_s=0.2)
    _shot(output, artifacts_dir, "timeline-live")
    cell_width = output.bounding_box()["width"]  # type: ignore[index]

    # When the notebook has finished, the timeline static and the tree drawn
    wait_until_executed(page, RUN_TIMEOUT_S)
    wait_for_kernel_idle(jupyter_lab, NOTEBOOK)
    static = timeline_cell.locator(STATIC_PLOT).first
    static.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
    _shot(timeline_cell.locator(".jp-OutputArea-output").first, artifacts_dir, "timeline-final")
    tree_plot = tree_cell.locator(".js-plotly-plot").first
    tree_plot.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
    poll(lambda: tree_cell.locator(STATIC_PLOT).count() > 0, TIMEOUT_S, "the tree to be static")
    tree_plot = tree_cell.locator(STATIC_PLOT).first
    _shot(tree_cell.locator(".jp-OutputArea-output").first, artifacts_dir, "tree")

    # Then both timelines read as task-stream lanes, full width
    _assert_task_stream(live_figure, cell_width)
    _assert_task_stream(_figure(static), cell_width)
    # And the tree shows the 80 siblings as one node with their count
    tree = _figure(tree_plot)
    assert any("×80" in text or "× 80" in text for text in tree["title"].split("·") + _tree_texts(tree_plot)), tree
    assert error_outputs(page) == [] and page_log.page_errors == []


def _tree_texts(plot: Locator) -> list[str]:
    texts: list[str] = plot.evaluate("plot => (plot.data || []).flatMap(t => Array.from(t.text || []).map(String))")
    return texts
