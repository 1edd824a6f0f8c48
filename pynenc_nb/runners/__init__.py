"""Runner types, chosen by the ``runner_cls`` setting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynenc_nb.runners.base import BaseRunner
from pynenc_nb.runners.process import MultiThreadRunner, PersistentProcessRunner, ProcessRunner
from pynenc_nb.runners.thread import ThreadRunner

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

RUNNERS: dict[str, type[BaseRunner]] = {
    "ThreadRunner": ThreadRunner,
    "MultiThreadRunner": MultiThreadRunner,
    "ProcessRunner": ProcessRunner,
    "PersistentProcessRunner": PersistentProcessRunner,
}


def make_runner(app: Pynenc, runner_cls: str | None = None) -> BaseRunner:
    name = runner_cls or app.conf.runner_cls
    from pynenc_nb.exceptions import ConfigError

    cls = RUNNERS.get(name)
    if cls is None:
        raise ConfigError(
            f"runner_cls={name!r} is not valid: expected one of {', '.join(RUNNERS)}", variable="runner_cls", value=name
        )
    return cls(app)


__all__ = [
    "RUNNERS",
    "BaseRunner",
    "MultiThreadRunner",
    "PersistentProcessRunner",
    "ProcessRunner",
    "ThreadRunner",
    "make_runner",
]
