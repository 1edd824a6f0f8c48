"""A fan-out's progress bar in JupyterLab: it moves while the calls run, then stays as a static bar."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

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
    from playwright.sync_api import Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
NOTEBOOK = "progress_test.ipynb"
CALLS = 120  # 0.05 s each on 2 workers: about 3 s of visible progress
FINAL = re.compile(r"(\d+)/(\d+) final")
CELLS = [
    "%load_ext pynenc_nb\nfrom pynenc_nb import Pynenc\n\napp = Pynenc(app_id='progress-browser')\napp.purge()",
    "import time\n\n\n@app.task\ndef nap(i: int) -> int:\n    time.sleep(0.05)\n    return i",
    "%pynenc runner start --kind thread --workers 2 --name nappers",
    f"group = nap.parallelize([(i,) for i in range({CALLS})])\ngroup.wait_interactive()",
    "%pynenc runner stop --all",
]


def test_the_progress_bar_moves_during_a_fan_out_then_stays_static(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given a notebook whose fan-out waits with wait_interactive(), open in JupyterLab
    write_notebook(jupyter_lab.root_dir / NOTEBOOK, CELLS)
    open_notebook(page, jupyter_lab, NOTEBOOK)
    wait_for_kernel_idle(jupyter_lab, NOTEBOOK)
    cell = code_cells(page).filter(has_text="group.wait_interactive()")
    # When every cell runs
    run_all_cells(page)
    bar = cell.locator(".jupyter-widgets .pynenc-group").first
    bar.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
    # Then the live bar counts up while the calls run
    seen: list[int] = []

    def counted_up() -> bool:
        if bar.count():
            match = FINAL.search(bar.inner_text())
            if match and (not seen or int(match[1]) != seen[-1]):
                seen.append(int(match[1]))
        return len(seen) >= 2 or (bool(seen) and seen[-1] == CALLS)

    poll(counted_up, TIMEOUT_S, "the progress bar to move", interval_s=0.05)
    screenshot("live")
    assert seen == sorted(seen) and seen[0] < CALLS, seen
    # And once every call is final, a static bar stays in its place, the widget gone
    wait_until_executed(page, TIMEOUT_S)
    wait_for_kernel_idle(jupyter_lab, NOTEBOOK)
    static = cell.locator(".jp-OutputArea-output .pynenc-group").first
    static.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
    poll(lambda: cell.locator(".jupyter-widgets").count() == 0, TIMEOUT_S, "the live widget to be replaced")
    screenshot("final")
    text = static.inner_text().replace("\xa0", " ")
    assert f"{CALLS}/{CALLS} final" in text and f"done {CALLS}" in text and "failed 0" in text
    assert error_outputs(page) == [] and page_log.page_errors == []


SAVED = "saved_live.ipynb"
SAVED_CELLS = [
    "%load_ext pynenc_nb\nfrom pynenc_nb import Pynenc\nfrom pynenc_nb.widgets import Timeline\n\n"
    "app = Pynenc(app_id='saved-live')\napp.purge()",
    "import time\n\n\n@app.task\ndef hold(s: float) -> float:\n    time.sleep(s)\n    return s",
    "%pynenc runner start --kind thread --workers 1 --name holder",
    "timeline = Timeline(app, since='5m')\ntimeline",
    "held = hold(20.0)",
]


def test_a_notebook_saved_while_a_timeline_is_live_renders_its_figure_without_a_kernel(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    path = jupyter_lab.root_dir / SAVED
    write_notebook(path, SAVED_CELLS)
    open_notebook(page, jupyter_lab, SAVED)
    wait_for_kernel_idle(jupyter_lab, SAVED)
    run_all_cells(page)
    timeline_cell = code_cells(page).filter(has_text="timeline = Timeline(")
    timeline_cell.locator(".jupyter-widgets .js-plotly-plot").first.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
    wait_for_kernel_idle(jupyter_lab, SAVED)
    page.wait_for_timeout(3000)  # the live figure (0.5 s updates) shows the call made after it
    # When the notebook is saved while the timeline is live (its task still running)
    page.keyboard.press("Control+s")
    poll(lambda: "vnd.plotly" in path.read_text(), TIMEOUT_S, "the notebook to be saved with its outputs")
    screenshot("saved-while-live")
    # Then the saved file holds the figure of the moment of the save (the call made after the
    # timeline was shown is in it), not a widget view, and nbconvert renders it
    saved = nbformat.read(path, as_version=4)
    (output,) = [o for o in saved.cells[3].outputs if o.get("output_type") == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" not in output.data
    figure = output.data["application/vnd.plotly.v1+json"]
    assert "__main__.hold" in json.dumps(figure), "the snapshot is of the moment the timeline was shown"
    html, _ = HTMLExporter().from_notebook_node(saved)
    assert "Timeline" in html and "Loading widget" not in html
    assert page_log.page_errors == []
