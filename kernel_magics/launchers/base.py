"""What every launcher does: start a runner for a state-file entry, tell whether it is alive, stop it.

One implementation per kind (``thread.py``, ``process.py``, ``kernel.py``, ``remote.py``); each
keeps the in-memory handles of the runners it started in this process (thread runners, ``Popen``
objects, kernel managers), and falls back to the entry alone for runners started elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pynenc_nb.exceptions import ConfigError
from pynenc_nb.runners import RUNNERS

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.launched_runners import LaunchedRunner


@dataclass(frozen=True)
class LaunchOptions:
    runner_cls: str = "ThreadRunner"
    workers: int | None = None
    command: str | None = None  # remote: the command template


class Launcher(Protocol):
    def start(self, app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> None:
        """Start the runner; fills in what finds it again (``entry.pid``, ``kernel``, ``command``)."""
        ...

    def alive(self, entry: LaunchedRunner) -> bool: ...

    def stop(self, entry: LaunchedRunner, timeout_s: float) -> None:
        """Graceful: running invocations get the grace period, forced after ``timeout_s``."""
        ...

    def exit_code(self, entry: LaunchedRunner) -> int | None:
        """The exit code of a runner process that ended by itself; None while running or unknown."""
        ...


def runner_arguments(runner_cls: str, workers: int | None) -> tuple[list[str], dict[str, Any]]:
    """CLI arguments and config overrides for ``workers`` slots of ``runner_cls``."""
    if runner_cls not in RUNNERS:
        raise ConfigError(f"unknown runner class {runner_cls!r}: use one of {', '.join(RUNNERS)}", variable="--runner")
    args = ["--runner-cls", runner_cls]
    overrides: dict[str, Any] = {"runner_cls": runner_cls}
    if workers is not None:
        field = {"ThreadRunner": "max_threads", "ProcessRunner": "max_processes"}.get(runner_cls, "num_processes")
        args += [f"--{field.replace('_', '-')}", str(workers)]
        overrides[field] = workers
    return args, overrides
