"""Runners launched from a notebook, as recorded in ``.pynenc/runners.json`` of the app's folder.

Only those may be stopped through the API: the state file says how each was started, so the
stop goes the way the launcher would do it (SIGTERM and wait for a process or a remote command,
a graceful stop and shutdown for a kernel). A ``thread`` runner lives inside the kernel that
launched it and can only be stopped from there.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pynenc_nb.exceptions import RunnerError
from pynenc_nb.launched_runners import LaunchedRunner, LaunchedRunners, launched_state, process_alive, stop_launched

if TYPE_CHECKING:
    from pynenc_nb.app_registry import AppEntry
    from pynenc_nb.web.reader import AppReader

STOPPABLE_STATES = ("running", "stopping")
_log = logging.getLogger("pynenc.web")


class UnknownRunnerError(RunnerError):
    """No runner of that name was launched from a notebook for this app."""


def _launched(entry: AppEntry) -> LaunchedRunners:
    return LaunchedRunners(Path(entry.working_dir))


def launched_kinds(entry: AppEntry) -> dict[str, str]:
    """Runner name -> launcher kind, for the runners of this app in its state file."""
    if not entry.working_dir or not (Path(entry.working_dir) / ".pynenc" / "runners.json").is_file():
        return {}  # never create the state file (or its folder) just by looking
    return {r.name: r.kind for r in _launched(entry).all() if r.app_id == entry.app_id}


def launched_kinds_or_none(entry: AppEntry) -> dict[str, str]:
    """:func:`launched_kinds`, or nothing when the state file cannot be read (listing runners
    must not fail because of it)."""
    try:
        return launched_kinds(entry)
    except Exception as exc:
        _log.debug("state file of app %s not read: %s", entry.app_id, exc)
        return {}


def _state(app: AppReader, record: LaunchedRunner) -> str:
    """Its state as seen from outside the launching kernel: the backend's record and its pid."""
    records = app.state_backend.runners(include_stopped=True)
    return launched_state(record, records, process_alive(record.pid), app.conf.runner_dead_after_s)


def stop(app: AppReader, entry: AppEntry, name: str) -> dict[str, Any]:
    """Stop runner ``name`` gracefully (blocking, up to ``graceful_stop_timeout_s`` + 5 s)."""
    launched = launched_kinds(entry)
    if name not in launched:
        raise UnknownRunnerError(
            f"no runner named {name!r} was launched from a notebook for app {entry.app_id!r}; only runners in "
            "its .pynenc/runners.json can be stopped here"
        )
    if launched[name] == "thread":
        raise RunnerError(
            f"runner {name!r} is a thread inside the kernel that launched it: stop it there with "
            f"%pynenc runner stop {name}"
        )
    runners = _launched(entry)
    record = runners.get(name)
    state = _state(app, record) if record is not None else "gone"
    if record is None or state not in STOPPABLE_STATES:
        # its pid may belong to another process by now: never signal a runner that is not running
        raise RunnerError(f"runner {name!r} is {state}: there is nothing to stop")
    stop_launched(record, app.conf.graceful_stop_timeout_s + 5)
    runners.remove(name)
    return {"name": name, "state": _state(app, record)}
