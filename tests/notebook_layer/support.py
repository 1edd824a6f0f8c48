"""Helpers of the notebook-layer tests: cell-defined tasks, process liveness, launch scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynenc_nb import Pynenc
from pynenc_nb.task import Task
from tests.support.processes import ROOT

TIMEOUT_S = 30.0  # the longest any single wait may take (generous: the machine is shared)


def cell_task(app: Pynenc, func: Callable[..., Any], **options: Any) -> Task[Any, Any]:
    """Decorate ``func`` as if it were defined in a notebook cell (module ``__main__``)."""
    func.__module__ = "__main__"
    return app.task(**options)(func) if options else app.task(func)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a reparented child nobody reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def run_script(code: str, *args: str, cwd: Path, timeout_s: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as ``__main__`` of a fresh interpreter (a notebook kernel's stand-in)."""
    script = cwd / "launcher_script.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=str(cwd),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert result.returncode == 0, f"the launcher script failed ({result.returncode}):\n{result.stderr}"
    return result
