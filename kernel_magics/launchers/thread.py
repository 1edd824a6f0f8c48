"""A runner inside this kernel, in a thread: it lives and dies with the kernel, whatever ``--detach``
says. ``--runner`` picks its class (a ``ProcessRunner`` here forks its children from this kernel)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernel_magics.launchers.base import runner_arguments
from pynenc_nb.logs import add_runner_log_file, remove_handler
from pynenc_nb.runner_classes import runner_class
from pynenc_nb.runners.base import BaseRunner

if TYPE_CHECKING:
    from kernel_magics.launchers.base import LaunchOptions
    from pynenc_nb.app import Pynenc
    from pynenc_nb.launched_runners import LaunchedRunner


class ThreadLauncher:
    def __init__(self) -> None:
        self.runners: dict[str, BaseRunner] = {}
        self.log_handlers: dict[str, logging.Handler] = {}

    def start(self, app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> None:
        _, overrides = runner_arguments(options.runner_cls, options.workers)
        slots = {field: value for field, value in overrides.items() if field != "runner_cls"}
        build: Callable[..., Any] = runner_class(options.runner_cls)
        runner = build(app, **slots)
        assert isinstance(runner, BaseRunner)
        if runner.uses_other_processes:
            app.require_shared_backend(options.runner_cls)  # here, in the cell, not in the runner thread
        runner.name = entry.name
        if entry.log_file:
            self.log_handlers[entry.name] = add_runner_log_file(entry.log_file, runner.runner_id, app.conf)
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
        handler = self.log_handlers.pop(entry.name, None)
        if handler is not None:
            remove_handler(handler)

    def exit_code(self, entry: LaunchedRunner) -> int | None:
        return None

    def stop_all_now(self) -> None:
        """Ask every runner to stop without waiting (at kernel shutdown)."""
        for runner in list(self.runners.values()):
            runner.stop(wait=False)
