"""JupyterLab serves our notebooks, and the quickstart runs clean in it, in the venv's kernel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.notebook import (
    code_cells,
    error_outputs,
    open_notebook,
    run_all_cells,
    wait_for,
    wait_for_kernel_idle,
    wait_until_executed,
)
from tests.browser.server import NOTEBOOKS, JupyterLab

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
QUICKSTART = "01_quickstart.ipynb"
RUN_TIMEOUT_S = 60.0  # two runner processes, 100 tasks, retries: ~10 s on an idle 2-core machine


def test_quickstart_runs_clean_in_jupyterlab(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given JupyterLab on a copy of notebooks/, with the quickstart open
    open_notebook(page, jupyter_lab, QUICKSTART)
    listed = page.locator(".jp-DirListing-item .jp-DirListing-itemText").all_inner_texts()
    assert {path.name for path in NOTEBOOKS.glob("*.ipynb")} <= set(listed), listed
    wait_for_kernel_idle(jupyter_lab, QUICKSTART)
    assert _kernel_executables(jupyter_lab) == [sys.executable], "the notebook must run on this venv's Python"

    # When every cell runs
    run_all_cells(page)
    wait_until_executed(page, RUN_TIMEOUT_S)
    wait_for(page, ".jp-NotebookPanel:visible .jp-CodeCell:last-child .jp-OutputArea-output")
    wait_for_kernel_idle(jupyter_lab, QUICKSTART)
    screenshot("quickstart")

    # Then no cell shows an error, the magics ran (runners listed and stopped), results came back
    assert error_outputs(page) == []
    outputs = "\n".join(code_cells(page).locator(".jp-OutputArea-output").all_inner_texts())
    assert "worker-a" in outputs and "worker-b" in outputs, outputs
    assert "4.0" in outputs, outputs  # score(15).result computed by a runner process
    assert (jupyter_lab.root_dir / ".pynenc").is_dir(), "the SQLite default lives next to the served copy"
    assert page.get_by_text("official Jupyter news").count() == 0, "the news toast must be disabled"
    assert page_log.page_errors == []


def _kernel_executables(lab: JupyterLab) -> list[str]:
    executables = []
    for pid in lab.kernel_pids():
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        executables.append(argv[0].decode())
    return executables
