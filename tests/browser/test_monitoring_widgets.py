"""03_monitoring.ipynb in JupyterLab: the live timeline draws its bars, grows while tasks run, then
leaves the static Plotly figure in place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.notebook import (
    EXECUTED_PROMPT,
    TIMEOUT_S,
    code_cells,
    error_outputs,
    open_notebook,
    run_cell_and_below,
    run_cells_above,
    wait_for_kernel_idle,
    wait_until_executed,
)
from tests.browser.server import JupyterLab, poll

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
MONITORING = "03_monitoring.ipynb"
RUN_TIMEOUT_S = 60.0  # the whole notebook: ~15 s on an idle 2-core machine (survey ~5 s, widget bundle ~3 s)
LIVE_PLOT = ".jupyter-widgets .js-plotly-plot"  # a FigureWidget (anywidget) inside the widget's VBox
STATIC_PLOT = ".jp-RenderedPlotly.js-plotly-plot"  # plotly's mime renderer (application/vnd.plotly.v1+json)
BAR_SHAPES = ".trace.bars .point path"  # what plotly 7 draws for each bar of a bar trace
BUSY_PROMPT = "[*]"  # a cell queued or running
# What the plot div shows: bar shapes drawn, bars in its figure data, the invocations they belong
# to, the title, the x axis type and the notes (annotations) plotly.js drew.
PLOT_STATE_JS = """plot => {
    const bars = (plot.data || []).filter(trace => trace.type === 'bar');
    const full = plot._fullLayout || {};
    return {
        drawn: plot.querySelectorAll('BAR_SHAPES').length,
        bars: bars.reduce((n, trace) => n + (trace.x || []).length, 0),
        invocations: new Set(bars.flatMap(trace => Array.from(trace.customdata || []))).size,
        title: (plot.layout && plot.layout.title && plot.layout.title.text) || '',
        axis: (full.xaxis && full.xaxis.type) || '',
        notes: (full.annotations || []).length,
    };
}""".replace("BAR_SHAPES", BAR_SHAPES)
INVOCATIONS_IN_TITLE = re.compile(r"Timeline · (\d+) invocations?")


@dataclass(frozen=True)
class PlotState:
    drawn: int  # bar shapes in the SVG
    bars: int  # bars in the figure data
    invocations: int  # distinct invocation ids behind the bars
    title: str
    axis: str  # the x axis type plotly.js uses: "date" (epoch ms read as plain numbers otherwise)
    notes: int  # annotations drawn ("no invocation in this window yet" while empty)

    @classmethod
    def of(cls, plot: Locator) -> PlotState:
        state: dict[str, Any] = plot.evaluate(PLOT_STATE_JS)
        return cls(**state)


def cell_with(page: Page, source: str) -> Locator:
    """The code cell whose text holds ``source`` (exactly one)."""
    cell = code_cells(page).filter(has_text=source)
    assert cell.count() == 1, f"expected one code cell with {source!r}, found {cell.count()}"
    return cell


def prompt(cell: Locator) -> str:
    return cell.locator(".jp-InputArea-prompt").inner_text().strip().rstrip(":")


def show_top(element: Locator) -> None:
    """Scroll the notebook so ``element`` starts at the top of the viewport (for screenshots)."""
    element.evaluate("element => element.scrollIntoView({block: 'start'})")


def test_live_timeline_updates_in_jupyterlab_then_stays_static(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given the monitoring notebook open in JupyterLab, its kernel idle
    open_notebook(page, jupyter_lab, MONITORING)
    wait_for_kernel_idle(jupyter_lab, MONITORING)
    timeline_cell = cell_with(page, "Timeline(app")
    survey_cell = cell_with(page, "root = survey(")
    join_cell = cell_with(page, "timeline.join(")

    # Given the cells above the survey's run: the runner started, the timeline displayed live and
    # drawn (under load the page may draw it seconds after its cell ran; the survey must not be
    # nearly over by then, or there is nothing left to see it follow)
    run_cells_above(page, survey_cell)
    live_plot = timeline_cell.locator(LIVE_PLOT).first
    live_plot.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
    poll(lambda: PlotState.of(live_plot).axis != "", TIMEOUT_S, "the live timeline to be drawn", interval_s=0.2)
    show_top(live_plot)

    # When the survey's cell and the ones below run
    run_cell_and_below(page, survey_cell)
    poll(
        lambda: prompt(survey_cell) == BUSY_PROMPT or EXECUTED_PROMPT.search(prompt(survey_cell)) is not None,
        TIMEOUT_S,
        "the survey's cell to run",
        interval_s=0.1,
    )

    # Then, sampled while the survey's cell still runs, the live figure draws bars and follows the
    # run: it gains bars, or at least its status counts move on
    samples: list[PlotState] = []

    def grown_or_done() -> bool:
        busy = prompt(survey_cell) == BUSY_PROMPT
        if busy:
            state = PlotState.of(live_plot)
            if state.bars and (not samples or state != samples[-1]):
                samples.append(state)
        return not busy or (len(samples) > 1 and samples[-1].drawn > samples[0].drawn)

    poll(grown_or_done, TIMEOUT_S, "the live timeline to gain bars while the survey runs", interval_s=0.2)
    screenshot("live")
    assert len(samples) > 1, f"the survey ended before the live timeline changed: {samples}"
    first, last = samples[0], samples[-1]
    assert all(state.drawn > 0 and state.axis == "date" and state.notes == 0 for state in samples), samples
    assert last.bars > first.bars or (last.bars == first.bars and last.title != first.title), samples

    # When the notebook has finished (the timeline's join waits for its switch to the static figure)
    wait_until_executed(page, RUN_TIMEOUT_S)
    wait_for_kernel_idle(jupyter_lab, MONITORING)
    static_plot = timeline_cell.locator(STATIC_PLOT).first
    static_plot.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
    show_top(static_plot)
    screenshot("final")

    # Then the cell shows the final timeline as a static Plotly figure, its widget gone
    assert timeline_cell.locator(".jupyter-widgets").count() == 0
    final = PlotState.of(static_plot)
    title = INVOCATIONS_IN_TITLE.search(final.title)
    assert title is not None, final
    assert final.drawn == final.bars >= last.bars and final.axis == "date" and final.notes == 0, (final, last)
    assert final.invocations == int(title[1]) == 31, final  # 1 survey, 4 batches, 24 measures, calibrate, download
    assert "1 failed" in final.title and "running" not in final.title, final
    assert "final after" in "\n".join(join_cell.locator(".jp-OutputArea-output").all_inner_texts())
    # and no cell shows an error, nor did the page raise one
    assert error_outputs(page) == []
    assert page_log.page_errors == []
