"""What runs inside a background runner kernel: start a runner in a thread, stop it on request.

The launching kernel sends ``serve(...)`` as code; the app's settings arrive in a private file
(deleted once read) so they never appear in the kernel's input history.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from pynenc_nb.runners.base import BaseRunner

_runner: BaseRunner | None = None
_stop_requested = threading.Event()  # stop() asked by the launcher: it shuts the kernel down itself


def serve(
    settings_file: str, name: str, runner_cls: str, overrides: dict[str, Any], stop_with_pid: int | None, log_file: str
) -> str:
    """Start the runner in this kernel's background and return its runner id."""
    global _runner
    from pynenc_nb.app import Pynenc
    from pynenc_nb.logs import configure_logging
    from pynenc_nb.runners import make_runner

    path = Path(settings_file)
    settings = json.loads(path.read_text())
    path.unlink(missing_ok=True)
    os.environ.update(settings)
    app = Pynenc(app_id=settings["PYNENC__APP_ID"])
    if overrides:
        app.conf = app.conf.replace(**overrides)
    configure_logging(app.conf)
    _log_to(log_file, logging.getLogger("pynenc").handlers[0].formatter)
    runner = make_runner(app, runner_cls)
    runner.name = name
    if stop_with_pid:
        runner.stop_when_process_ends(stop_with_pid)
        threading.Thread(target=_exit_after_stop, args=(runner,), daemon=True).start()
    runner.start_in_thread()
    _runner = runner
    return runner.runner_id


def _log_to(log_file: str, formatter: logging.Formatter | None) -> None:
    """Every line of this kernel in the runner's log, in the format of a process runner's log.

    pynenc's lines at the app's level; other libraries' warnings and errors (the root logger, and
    ``warnings.warn`` through it); and ipykernel's own lines, which it writes to the kernel's
    stderr (the same log file when the launcher started the kernel) with its handler, restyled.
    """
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(formatter)
    logging.getLogger("pynenc").addHandler(handler)
    logging.getLogger().addHandler(handler)  # the root stays at WARNING: only warnings and errors
    logging.captureWarnings(True)
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError:
        return
    if IPKernelApp.initialized():
        for kernel_handler in IPKernelApp.instance().log.handlers:
            kernel_handler.setFormatter(formatter)


def _exit_after_stop(runner: BaseRunner) -> None:
    """A runner tied to its launcher ends its kernel too once it stopped because the launcher is gone.

    Not when the launcher asked for the stop: it is waiting for the reply of ``stop()`` and then
    shuts the kernel down itself (killing the kernel first made every stop wait out the timeout).
    """
    runner.wait_stopped()
    if runner.stopping and not _stop_requested.is_set():
        os.kill(os.getpid(), signal.SIGTERM)


def stop() -> None:
    """Graceful stop (running invocations get the grace period); returns when stopped."""
    _stop_requested.set()
    if _runner is not None:
        _runner.stop(wait=True)
