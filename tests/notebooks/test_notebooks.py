"""Every notebook under notebooks/ runs clean, headless, in a fresh kernel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ must hold the example notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_clean(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, errors
    assert (tmp_path / ".pynenc").is_dir(), "the embedded SQLite default lives next to the notebook"


def test_tracked_notebooks_carry_no_outputs() -> None:
    """The examples are stored clean (written by tools/make_notebooks.py); JupyterLab opens copies."""
    for path in NOTEBOOKS:
        data = json.loads(path.read_text())
        dirty = [i for i, cell in enumerate(data["cells"]) if cell.get("outputs") or cell.get("execution_count")]
        assert not dirty, f"{path.name}: cells {dirty} hold outputs; run tools/make_notebooks.py"


def test_lab_opens_copies_that_are_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "workspace"
    env = {**os.environ, "PYNENC_NB_WORKSPACE": str(folder)}
    script = [str(ROOT / "scripts" / "workspace.sh")]
    # When the workspace is made, every example is copied there
    out = subprocess.run(["bash", *script], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(folder)
    assert sorted(p.name for p in folder.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    # And a copy the user ran (changed) is kept as it is the next time, a deleted one comes back
    mine = folder / NOTEBOOKS[0].name
    mine.write_text("{}")
    (folder / NOTEBOOKS[-1].name).unlink()
    subprocess.run(["bash", *script], env=env, check=True, capture_output=True)
    assert mine.read_text() == "{}" and (folder / NOTEBOOKS[-1].name).exists()
    assert "workspace/" in (ROOT / ".gitignore").read_text().split()
