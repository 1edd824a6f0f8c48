"""Live figures in JupyterLab: plotly.js reaches the page once for every figure of the kernel, a
patch sent before a view has drawn is applied, and a view made later shows the latest figure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.notebook import (
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
    from playwright.sync_api import Locator, Page, WebSocket

    from tests.browser.conftest import PageLog

pytestmark = pytest.mark.browser
NOTEBOOK = "live_figures.ipynb"
PLOTLY_BANNER = b"plotly.js v"  # the first line of the bundle
FIGURE = "{'data': [{'type': 'bar', 'name': 'n', 'x': %s, 'y': %s}], 'layout': {'title': {'text': '%s'}}}"
CELLS = [
    "%load_ext pynenc_nb\nfrom pynenc_nb import Pynenc\nfrom pynenc_nb.widgets import MonitorPanel\n"
    "from pynenc_nb.widgets.plotly_view import figure_view\n\n"
    "app = Pynenc(app_id='live-figures')\napp.purge()",
    # patched at once, before the browser could draw it: plotly.js is still on its way
    f"early = figure_view({FIGURE % ([1], [0], 'first')})\ndisplay(early)\n"
    f"early.update({FIGURE % ([1, 2], [0, 1], 'second')})\n_ = early.update({FIGURE % ([1, 2, 3], [0, 1, 2], 'third')})",
    "panel = MonitorPanel(app, since=None)\npanel",
    "early  # a second view, made after the patches",
]
LIVE_PLOT = ".jp-OutputArea-output .js-plotly-plot"  # every figure here stays live


def _plotly_frames(page: Page) -> list[int]:
    """Sizes of the websocket frames that carried the plotly.js bundle to the page."""
    sizes: list[int] = []

    def watch(socket: WebSocket) -> None:
        def received(payload: Any) -> None:
            data = payload.encode() if isinstance(payload, str) else bytes(payload)
            if PLOTLY_BANNER in data:
                sizes.append(len(data))

        socket.on("framereceived", received)

    page.on("websocket", watch)
    return sizes


def _drawn(plot: Locator) -> dict[str, Any]:
    state: dict[str, Any] = plot.evaluate(
        "p => ({title: ((p.layout || {}).title || {}).text || '', x: Array.from((p.data[0] || {}).x || [])})"
    )
    return state


def test_live_figures_share_one_plotly_js_and_every_view_reaches_the_latest_figure(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog
) -> None:
    # Given a notebook with a figure patched before it is drawn, a monitor panel and a second view
    write_notebook(jupyter_lab.root_dir / NOTEBOOK, CELLS)
    plotly_frames = _plotly_frames(page)
    open_notebook(page, jupyter_lab, NOTEBOOK)
    wait_for_kernel_idle(jupyter_lab, NOTEBOOK)
    # When every cell runs
    run_all_cells(page)
    wait_until_executed(page, 60)
    cells = code_cells(page)
    early_views = [cells.nth(1).locator(LIVE_PLOT), cells.nth(3).locator(LIVE_PLOT)]
    # Then both views of the early figure show its last state: no patch was lost, the later view
    # started from the latest figure
    for view in early_views:
        view.first.wait_for(state="attached", timeout=30_000)
        poll(lambda view=view: _drawn(view.first) == {"title": "third", "x": [1, 2, 3]}, 30, "the third figure")
    # And the panel's figures are drawn too, while plotly.js came to the page once for all of them
    poll(lambda: cells.nth(2).locator(LIVE_PLOT).count() >= 2, 30, "the panel's live figures")
    assert len(plotly_frames) == 1 and plotly_frames[0] > 1_000_000, plotly_frames
    assert error_outputs(page) == [] and page_log.page_errors == []
