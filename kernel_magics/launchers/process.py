"""``python -m pynenc_nb runner start`` as a child process in its own session, output to its log file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kernel_magics.launchers.base import runner_arguments
from kernel_magics.launchers.environment import child_environment
from pynenc_nb.exceptions import RunnerError
from pynenc_nb.launched_runners import process_alive, terminate

if TYPE_CHECKING:
    from kernel_magics.launchers.base import LaunchOptions
    from pynenc_nb.app import Pynenc
    from pynenc_nb.launched_runners import LaunchedRunner


def runner_cli(app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> list[str]:
    """The ``pynenc_nb`` CLI arguments; unless detached, the runner stops once this kernel is gone."""
    args, _ = runner_arguments(options.runner_cls, options.workers)
    cli = ["--app-id", app.app_id, "runner", "start", "--name", entry.name, *args]
    if not entry.detach:
        cli += ["--stop-with-pid", str(os.getpid())]
    return cli


class ProcessLauncher:
    def __init__(self) -> None:
        self.popens: dict[str, subprocess.Popen[bytes]] = {}
        self.detached: set[str] = set()

    def command(self, app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> list[str]:
        return [sys.executable, "-m", "pynenc_nb", *runner_cli(app, entry, options)]

    def start(self, app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> None:
        entry.command = self.command(app, entry, options)
        with open(entry.log_file or os.devnull, "ab") as log:
            try:
                process = subprocess.Popen(
                    entry.command,
                    env=child_environment(app),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    cwd=str(Path.cwd()),
                )
            except OSError as exc:
                raise RunnerError(f"cannot start runner {entry.name!r}: {exc}") from exc
        self.popens[entry.name] = process
        if entry.detach:
            self.detached.add(entry.name)
        entry.pid = process.pid

    def alive(self, entry: LaunchedRunner) -> bool:
        return process_alive(entry.pid)

    def stop(self, entry: LaunchedRunner, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; a child of ours is reaped on the way."""
        process = self.popens.pop(entry.name, None)
        self.detached.discard(entry.name)
        if process is None:
            terminate(entry.pid, timeout_s)
        else:
            terminate(entry.pid, timeout_s, exited=lambda: process.poll() is not None)

    def exit_code(self, entry: LaunchedRunner) -> int | None:
        process = self.popens.get(entry.name)
        return process.poll() if process is not None else None

    def terminate_attached(self) -> None:
        """SIGTERM to every child not launched with ``--detach`` (at kernel shutdown)."""
        for name, process in list(self.popens.items()):
            if name not in self.detached and process.poll() is None:
                process.terminate()
