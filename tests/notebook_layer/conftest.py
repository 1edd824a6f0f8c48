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
from pynenc_nb.launched_runners import LaunchedRunners
from tests.notebook_layer.support import alive


@pytest.fixture
def backend_kind() -> str:
    """``make_app`` builds apps on a SQLite file of the test: runners in other processes share it."""
    return "sqlite"


@pytest.fixture(autouse=True)
def private_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    launched = launchers.default_launchers()
    spawners = (launched.process, launched.remote)
    threads, managers = set(launched.thread.runners), set(launched.kernel.managers)
    processes = [set(spawner.popens) for spawner in spawners]
    yield tmp_path
    for name in set(launched.thread.runners) - threads:
        launched.thread.runners.pop(name).stop(wait=True, timeout=15)
    for spawner, before in zip(spawners, processes, strict=True):
        for name in set(spawner.popens) - before:
            _end(spawner.popens.pop(name))
            spawner.detached.discard(name)
    for kernel_id in set(launched.kernel.managers) - managers:
        with contextlib.suppress(Exception):
            launched.kernel.managers.pop(kernel_id).shutdown_kernel(now=True)
    for entry in LaunchedRunners(tmp_path).all():  # launched by scripts that exited (detached runners)
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
