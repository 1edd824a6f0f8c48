"""Starting ``pynenc runner start`` in a separate process, as a user would."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from pynenc_nb.app import Pynenc

ROOT = Path(__file__).resolve().parents[2]


def poll(predicate, timeout_s: float = 20.0, interval_s: float = 0.02, message: str = "condition"):  # type: ignore[no-untyped-def]
    """Wait for ``predicate()`` to be truthy (no fixed sleeps in tests); return its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {message}")
        time.sleep(interval_s)


@contextlib.contextmanager
def runner_process(
    app: Pynenc,
    env: Mapping[str, str],
    *args: str,
    app_spec: str = "tests.support.tasks_app:app",
    expected_runners: int = 1,
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m pynenc_nb --app … runner start ARGS`` with ``env``; waits until it heartbeats."""

    def runner_ids() -> set[str]:
        return {r.context.runner_id for r in app.state_backend.runners() if r.state != "client"}

    before = runner_ids()
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pynenc_nb", "--app", app_spec, "runner", "start", *args],
        env=full_env,
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        poll(
            lambda: process.poll() is not None or len(runner_ids() - before) >= expected_runners,
            message="the runner process to register",
        )
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"runner exited with {process.returncode}:\n{output}")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
