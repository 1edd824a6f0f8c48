"""Runner classes by the names ``runner_cls`` takes, imported only when one is built.

The app builds ``app.runner`` by name without importing the runners (they sit above it): like the
backends' URL schemes, each name maps to the module that defines the class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from pynenc_nb.exceptions import ConfigError

RUNNER_CLASSES: Mapping[str, str] = {
    "ThreadRunner": "pynenc_nb.runners.thread",
    "MultiThreadRunner": "pynenc_nb.runners.process",
    "ProcessRunner": "pynenc_nb.runners.process",
    "PersistentProcessRunner": "pynenc_nb.runners.process",
}


class Runner(Protocol):
    """What ``app.runner`` offers without naming a class."""

    @property
    def runner_id(self) -> str: ...

    @property
    def slots(self) -> int: ...

    @property
    def stopped(self) -> bool: ...

    def run(self) -> None: ...

    def stop(self, wait: bool = True, timeout: float | None = None) -> None: ...


def runner_class(name: str) -> Callable[[Any], Runner]:
    """The class for ``runner_cls=name``; a clear error for a name that is not one."""
    module = RUNNER_CLASSES.get(name)
    if module is None:
        raise ConfigError(
            f"runner_cls={name!r} is not valid: expected one of {', '.join(RUNNER_CLASSES)}",
            variable="runner_cls",
            value=name,
        )
    return cast("Callable[[Any], Runner]", getattr(importlib.import_module(module), name))
