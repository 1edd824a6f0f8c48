"""Live figures in JupyterLab: plotly.js reaches the page once for every figure of the kernel (from
the server extension's route, or from the kernel when the page cannot fetch it), a patch sent
before a view has drawn is applied, and a view made later shows the latest figure."""

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
    from playwright.sync_api import Locator, Page, Request, Route, WebSocket

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
PLOTLY_ROUTE = "/pynenc/static/plotly.js"


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


def _plotly_fetches(page: Page) -> list[str]:
    """URLs of the page's requests for the server's plotly.js route."""
    urls: list[str] = []

    def requested(request: Request) -> None:
        if PLOTLY_ROUTE in request.url:
            urls.append(request.url)

    page.on("request", requested)
    return urls


def _drawn(plot: Locator) -> dict[str, Any]:
    state: dict[str, Any] = plot.evaluate(
        "p => ({title: ((p.layout || {}).title || {}).text || '', x: Array.from((p.data[0] || {}).x || [])})"
    )
    return state


def _run_and_check_every_view(page: Page, jupyter_lab: JupyterLab, notebook: str) -> None:
    # a notebook of its own per test: JupyterLab may replace a kernel left by an earlier page of
    # the same notebook while the new page runs its cells, cancelling them (seen in CI)
    write_notebook(jupyter_lab.root_dir / notebook, CELLS)
    open_notebook(page, jupyter_lab, notebook)
    wait_for_kernel_idle(jupyter_lab, notebook)
    # When every cell runs
    run_all_cells(page)
    wait_until_executed(page, 60)
    cells = code_cells(page)
    early_views = [cells.nth(1).locator(LIVE_PLOT), cells.nth(3).locator(LIVE_PLOT)]
    # Then both views of the early figure show its last state: no patch was lost, the later view
    # started from the latest figure
    for view in early_views:
        view.first.wait_for(state="attached", timeout=30_000)

        def shows_the_third(view: Locator = view) -> bool:
            return _drawn(view.first) == {"title": "third", "x": [1, 2, 3]}

        poll(shows_the_third, 30, "the third figure")
    # And the panel's figures are drawn too
    poll(lambda: cells.nth(2).locator(LIVE_PLOT).count() >= 2, 30, "the panel's live figures")


def test_live_figures_share_one_plotly_js_and_every_view_reaches_the_latest_figure(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog
) -> None:
    # Given a notebook with a figure patched before it is drawn, a monitor panel and a second view
    plotly_frames, fetches = _plotly_frames(page), _plotly_fetches(page)
    _run_and_check_every_view(page, jupyter_lab, NOTEBOOK)
    # plotly.js came to the page once for all of them, from the server, not through the kernel
    assert len(fetches) == 1 and "?v=" in fetches[0], fetches
    assert plotly_frames == []
    assert error_outputs(page) == [] and page_log.page_errors == []


def test_a_page_that_cannot_fetch_plotly_js_gets_it_from_the_kernel_once(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog
) -> None:
    # Given a page whose server route for plotly.js fails (another front end, or the extension off)
    def refuse(route: Route) -> None:
        route.abort()

    page.route(f"**{PLOTLY_ROUTE}*", refuse)
    plotly_frames = _plotly_frames(page)
    _run_and_check_every_view(page, jupyter_lab, "live_figures_without_route.ipynb")
    # Then the kernel sent the bundle once, and every view drew all the same
    assert len(plotly_frames) == 1 and plotly_frames[0] > 1_000_000, plotly_frames
    assert error_outputs(page) == [] and page_log.page_errors == []
