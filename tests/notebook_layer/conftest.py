"""Every notebook-layer test runs in its own working directory (state file, SQLite files, logs) and
leaves no runner behind: whatever it launched in this process, or recorded in its state file, is
stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel_magics import launchers
from kernel_magics.launchers import kernels
from kernel_magics.launchers.registry import RunnerRegistry
from tests.notebook_layer.support import alive


@pytest.fixture
def backend_kind() -> str:
    """``make_app`` builds apps on a SQLite file of the test: runners in other processes share it."""
    return "sqlite"


@pytest.fixture(autouse=True)
def private_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    threads, processes, managers = set(launchers._threads), set(launchers._processes), set(kernels._managers)
    yield tmp_path
    for name in set(launchers._threads) - threads:
        launchers._threads.pop(name).stop(wait=True, timeout=15)
    for name in set(launchers._processes) - processes:
        _end(launchers._processes.pop(name))
        launchers._detached.discard(name)
    for kernel_id in set(kernels._managers) - managers:
        with contextlib.suppress(Exception):
            kernels._managers.pop(kernel_id).shutdown_kernel(now=True)
    for entry in RunnerRegistry(tmp_path).all():  # launched by scripts that exited (detached runners)
        if entry.kind != "thread" and entry.pid and entry.pid != os.getpid() and _ours(entry.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(entry.pid, signal.SIGKILL)


def _ours(pid: int) -> bool:
    """A live runner or kernel process (not an unrelated process that reused the pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return alive(pid) and (b"pynenc_nb" in cmdline or b"ipykernel" in cmdline)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
