"""Runner types, chosen by the ``runner_cls`` setting (names in ``pynenc_nb.runner_classes``)."""

from __future__ import annotations

from pynenc_nb.runner_classes import RUNNER_CLASSES as RUNNERS
from pynenc_nb.runners.base import BaseRunner, make_runner
from pynenc_nb.runners.process import MultiThreadRunner, PersistentProcessRunner, ProcessRunner
from pynenc_nb.runners.thread import ThreadRunner

__all__ = [
    "RUNNERS",
    "BaseRunner",
    "MultiThreadRunner",
    "PersistentProcessRunner",
    "ProcessRunner",
    "ThreadRunner",
    "make_runner",
]
