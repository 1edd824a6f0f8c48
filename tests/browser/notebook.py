"""Driving a notebook in JupyterLab from Playwright: open it, wait for its kernel, run all, read outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tests.browser.server import JupyterLab, poll

if TYPE_CHECKING:  # importable without playwright: the fixtures skip (or fail in CI) when it is missing
    from playwright.sync_api import Locator, Page

TIMEOUT_S = 30.0  # the longest a single wait may take (generous: the machine is shared)
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
EXECUTED_PROMPT = re.compile(r"\[\d+\]")
ERROR_TEXT = re.compile(r"Traceback|^\w*(Error|Exception)\b", re.MULTILINE)


def wait_for(
    page: Page,
    selector: str,
    timeout_s: float = TIMEOUT_S,
    state: Literal["attached", "detached", "hidden", "visible"] = "visible",
) -> Locator:
    """The first element matching ``selector`` once it is in ``state`` (visible, attached, hidden, detached)."""
    locator = page.locator(selector).first
    locator.wait_for(state=state, timeout=timeout_s * 1000)
    return locator


def open_notebook(page: Page, lab: JupyterLab, path: str, timeout_s: float = TIMEOUT_S) -> Locator:
    """Open ``path`` (relative to the server's root) in a clean workspace; the notebook panel once it shows."""
    page.goto(lab.url(f"lab/tree/{path}", reset=""))
    panel = wait_for(page, ".jp-NotebookPanel", timeout_s)
    wait_for(page, ".jp-NotebookPanel .jp-Cell", timeout_s)
    return panel


def wait_for_kernel_idle(lab: JupyterLab, path: str, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """The kernel of the notebook at ``path`` once ``GET /api/kernels`` reports it idle."""

    def idle() -> dict[str, Any] | None:
        kernel = lab.kernel_of(path)
        if kernel is None:
            return None
        states = {k["id"]: k.get("execution_state") for k in lab.kernels()}
        return kernel if states.get(kernel["id"]) == "idle" else None

    return poll(idle, timeout_s, f"the kernel of {path} to be idle", interval_s=0.2)


def run_all_cells(page: Page) -> None:
    """Run > Run All Cells through the menu bar (the menu's command id is ``runmenu:run-all``)."""
    _run_menu(page, "runmenu:run-all")


def run_cells_above(page: Page, cell: Locator) -> None:
    """Select ``cell``, then Run > Run All Above Selected Cell."""
    cell.locator(".jp-InputArea-prompt").click()
    _run_menu(page, "notebook:run-all-above")


def run_cell_and_below(page: Page, cell: Locator) -> None:
    """Select ``cell``, then Run > Run Selected Cell and All Below."""
    cell.locator(".jp-InputArea-prompt").click()
    _run_menu(page, "notebook:run-all-below")


def _run_menu(page: Page, command: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    wait_for(page, f".lm-Menu-item[data-command='{command}']").click()


def code_cells(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:visible .jp-CodeCell")


def wait_until_executed(page: Page, timeout_s: float = TIMEOUT_S) -> None:
    """Every code cell shows an execution count (``[n]``: run and finished, none queued as ``[*]``)."""

    def executed() -> bool:
        prompts = code_cells(page).locator(".jp-InputArea-prompt").all_inner_texts()
        return bool(prompts) and all(EXECUTED_PROMPT.search(text) for text in prompts)

    poll(executed, timeout_s, "every code cell to finish running", interval_s=0.25)


def error_outputs(page: Page) -> list[str]:
    """Texts of outputs that show an error: a traceback, or stderr with a line starting ``SomeError``."""
    texts = page.locator(f".jp-NotebookPanel:visible {ERROR_OUTPUT}").all_inner_texts()
    return [text for text in texts if ERROR_TEXT.search(text)]


def write_notebook(path: Path, sources: list[str]) -> None:
    """A notebook of code cells with these sources, unexecuted, for a test to open."""
    cells = [
        {"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {}, "outputs": [], "source": src}
        for i, src in enumerate(sources)
    ]
    metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    path.write_text(json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))
