"""Launching runners from a notebook: in this kernel, as processes, as kernels, or by a command."""

from __future__ import annotations

from kernel_magics.launchers.base import Launcher, LaunchOptions, runner_arguments
from kernel_magics.launchers.manager import (
    REGISTER_TIMEOUT_S,
    Launchers,
    backend_runner,
    default_launchers,
    list_runners,
    runner_state,
    start_runner,
    stop_all,
    stop_runner,
    tail,
)
from pynenc_nb.launched_runners import KINDS, LaunchedRunner, LaunchedRunners

__all__ = [
    "KINDS",
    "REGISTER_TIMEOUT_S",
    "LaunchOptions",
    "LaunchedRunner",
    "LaunchedRunners",
    "Launcher",
    "Launchers",
    "backend_runner",
    "default_launchers",
    "list_runners",
    "runner_arguments",
    "runner_state",
    "start_runner",
    "stop_all",
    "stop_runner",
    "tail",
]
