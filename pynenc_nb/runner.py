"""pynenc's import path for runners: ``from pynenc_nb.runner import ThreadRunner``.

The runners live in :mod:`pynenc_nb.runners`; this module only gives them pynenc's names, plus a
``DummyRunner`` that says what replaces it here instead of failing at import time.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb.exceptions import RunnerNotExecutableError
from pynenc_nb.runners import BaseRunner, MultiThreadRunner, PersistentProcessRunner, ProcessRunner, ThreadRunner


class DummyRunner:
    """pynenc's placeholder runner. pynenc_nb has none: ``dev_mode()`` runs calls in the caller."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        raise RunnerNotExecutableError(
            "pynenc_nb has no DummyRunner: set dev_mode_force_sync_tasks=True (PynencBuilder().dev_mode()) to run "
            "every call synchronously in the caller, or use ThreadRunner for a runner in this process"
        )


__all__ = [
    "BaseRunner",
    "DummyRunner",
    "MultiThreadRunner",
    "PersistentProcessRunner",
    "ProcessRunner",
    "ThreadRunner",
]
