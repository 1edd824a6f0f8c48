"""The sidebar opens on the app of the notebook in focus (its kernel made it), not the newest app."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

import pytest

from pynenc_nb.app_registry import record
from tests.browser.notebook import (
    open_notebook,
    run_all_cells,
    wait_for,
    wait_for_kernel_idle,
    wait_until_executed,
    write_notebook,
)
from tests.browser.server import JupyterLab, poll

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
NOTEBOOK = "kernel_app.ipynb"
SIDEBAR_TAB = '.jp-SideBar li[data-id="pynenc-sidebar"]'
SELECTED = "#pynenc-sidebar select.pynenc-app-select option:checked"


def test_the_sidebar_opens_on_the_app_of_the_notebook_in_focus(
    jupyter_lab: JupyterLab, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    root = jupyter_lab.root_dir
    write_notebook(root / NOTEBOOK, ["from pynenc_nb import Pynenc\n\napp = Pynenc(app_id='kernel-app')\napp.purge()"])
    # Given a notebook whose kernel made app kernel-app
    open_notebook(page, jupyter_lab, NOTEBOOK)
    wait_for_kernel_idle(jupyter_lab, NOTEBOOK)
    run_all_cells(page)
    wait_until_executed(page)
    # and another app of the folder seen more recently (listed first)
    other_db = root / ".pynenc" / "newer-app.db"
    other_db.parent.mkdir(exist_ok=True)
    sqlite3.connect(other_db).close()
    record("newer-app", f"sqlite://{other_db}", working_dir=str(root), now=time.time() + 3600)
    # When the Pynenc sidebar opens with the notebook in focus
    wait_for(page, SIDEBAR_TAB).click()
    # Then it shows the notebook's app
    poll(
        lambda: page.locator(SELECTED).count() == 1 and page.locator(SELECTED).inner_text().startswith("kernel-app"),
        30,
        "the sidebar to select the notebook's app",
    )
    screenshot("kernel-app")
    options = page.locator("#pynenc-sidebar select.pynenc-app-select option").all_inner_texts()
    assert options[0].startswith("newer-app"), options  # the newest is first in the list, yet not chosen
    assert page_log.page_errors == []
