"""A ``ThreadRunner`` inside this kernel: it lives and dies with the kernel, whatever ``--detach`` says."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pynenc_nb.runners.thread import ThreadRunner

if TYPE_CHECKING:
    from kernel_magics.launchers.base import LaunchOptions
    from pynenc_nb.app import Pynenc
    from pynenc_nb.launched_runners import LaunchedRunner


class ThreadLauncher:
    def __init__(self) -> None:
        self.runners: dict[str, ThreadRunner] = {}

    def start(self, app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> None:
        runner = ThreadRunner(app, max_threads=options.workers)
        runner.name = entry.name
        runner.start_in_thread()
        self.runners[entry.name] = runner

    def alive(self, entry: LaunchedRunner) -> bool:
        """Only the kernel that launched it can tell: from any other process it is not alive."""
        runner = self.runners.get(entry.name)
        return runner is not None and not runner.stopped and entry.pid == os.getpid()

    def stop(self, entry: LaunchedRunner, timeout_s: float) -> None:
        runner = self.runners.pop(entry.name, None)
        if runner is not None:
            runner.stop(wait=True, timeout=timeout_s)

    def exit_code(self, entry: LaunchedRunner) -> int | None:
        return None

    def stop_all_now(self) -> None:
        """Ask every runner to stop without waiting (at kernel shutdown)."""
        for runner in list(self.runners.values()):
            runner.stop(wait=False)
