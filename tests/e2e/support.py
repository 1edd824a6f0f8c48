"""Running the ``pynenc`` CLI as a user does: in other processes, from a chosen folder."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from pynenc_nb.app import Pynenc
from pynenc_nb.records import RunnerInfo
from tests.support.processes import ROOT, poll

TIMEOUT_S = 15.0  # the longest any single wait in these tests may take
PYNENC_SCRIPT = Path(sys.executable).parent / "pynenc"
PYTHON_M = (sys.executable, "-m", "pynenc_nb")

# Small pools so that every runner class has two slots (four for MultiThreadRunner).
RUNNER_ARGS: dict[str, tuple[str, ...]] = {
    "ThreadRunner": ("--max-threads", "2"),
    "ProcessRunner": ("--max-processes", "2"),
    "PersistentProcessRunner": ("--num-processes", "2"),
    "MultiThreadRunner": ("--num-processes", "2", "--max-threads", "2"),
}
POOL_RUNNERS = ("PersistentProcessRunner", "MultiThreadRunner")


def runner_args(runner_cls: str) -> tuple[str, ...]:
    return ("--runner-cls", runner_cls, *RUNNER_ARGS[runner_cls])


def registrations(runner_cls: str) -> int:
    """How many runner records a started runner writes: pools add one per worker process."""
    return 3 if runner_cls in POOL_RUNNERS else 1


def cli_env(env: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, **env, "PYTHONPATH": str(ROOT)}


def run_cli(
    *args: str,
    env: Mapping[str, str],
    cwd: Path = ROOT,
    command: Sequence[str] = PYTHON_M,
) -> subprocess.CompletedProcess[str]:
    """One short CLI command (``status``, ``show_config``...) with its output captured."""
    return subprocess.run(
        [*command, *args], env=cli_env(env), cwd=str(cwd), capture_output=True, text=True, timeout=TIMEOUT_S
    )


@contextlib.contextmanager
def cli_runner(
    app: Pynenc,
    env: Mapping[str, str],
    *args: str,
    cwd: Path = ROOT,
    command: Sequence[str] = PYTHON_M,
    expected_runners: int = 1,
    new_session: bool = False,
) -> Iterator[subprocess.Popen[str]]:
    """``<command> ARGS`` (args include ``runner start``) until it registers; stopped with SIGTERM after.

    ``new_session`` gives the runner its own process group, as a terminal does (Ctrl-C signals it all).
    """
    before = {r.context.runner_id for r in app.state_backend.runners(include_stopped=True)}
    process = subprocess.Popen(
        [*command, *args],
        env=cli_env(env),
        cwd=str(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=new_session,
    )
    try:
        poll(
            lambda: (
                process.poll() is not None
                or len({r.context.runner_id for r in app.state_backend.runners()} - before) >= expected_runners
            ),
            timeout_s=TIMEOUT_S,
            message="the runner process to register",
        )
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"runner exited with {process.returncode}:\n{output}")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def runners_of(app: Pynenc, pid: int, *, include_stopped: bool = False) -> list[RunnerInfo]:
    """The runner records written by the runner process ``pid`` and by its worker processes."""
    infos = app.state_backend.runners(include_stopped=include_stopped)
    top = {r.context.runner_id for r in infos if r.context.pid == pid and r.context.parent_runner_id is None}
    return [r for r in infos if r.context.runner_id in top or r.context.parent_runner_id in top]


def top_runner(app: Pynenc, pid: int) -> RunnerInfo:
    """The runner started by the CLI in process ``pid`` (not one of its workers)."""
    (top,) = [r for r in runners_of(app, pid) if r.context.parent_runner_id is None]
    return top
