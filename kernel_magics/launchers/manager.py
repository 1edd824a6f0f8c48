"""Start, list and stop the runners launched from this kernel, one launcher per kind.

Every launched runner is recorded in the state file (``pynenc_nb.launched_runners``) so it can be
listed and stopped after a kernel restart. Non-detached runners stop when the launching kernel
ends: they watch its pid, and an exit hook (registered when the first runner starts) stops them at
once on a clean shutdown.
"""

from __future__ import annotations

import atexit
import functools
import os
import time
from typing import TYPE_CHECKING, Any

from kernel_magics.launchers.base import Launcher, LaunchOptions, runner_arguments
from kernel_magics.launchers.kernel import KernelLauncher
from kernel_magics.launchers.process import ProcessLauncher
from kernel_magics.launchers.remote import RemoteLauncher
from kernel_magics.launchers.thread import ThreadLauncher
from pynenc_nb.exceptions import ConfigError, RunnerError
from pynenc_nb.launched_runners import KINDS, LaunchedRunner, LaunchedRunners, backend_record, launched_state
from pynenc_nb.records import RUNNER_REQUESTS_NAMESPACE

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.records import RunnerInfo

REGISTER_TIMEOUT_S = 60.0


class Launchers:
    """The launchers of this process, holding the handles of the runners it started."""

    def __init__(self) -> None:
        self.thread = ThreadLauncher()
        self.process = ProcessLauncher()
        self.kernel = KernelLauncher()
        self.remote = RemoteLauncher()
        self._by_kind: dict[str, Launcher] = {
            "thread": self.thread,
            "process": self.process,
            "kernel": self.kernel,
            "remote": self.remote,
        }
        self._exit_hook = False

    def launcher(self, kind: str) -> Launcher:
        return self._by_kind.get(kind, self.process)  # an unknown kind in the file: treat its pid as a process

    def start(
        self,
        app: Pynenc,
        kind: str = "thread",
        *,
        workers: int | None = None,
        runner_cls: str = "ThreadRunner",
        command: str | None = None,
        name: str | None = None,
        detach: bool = False,
        launched: LaunchedRunners | None = None,
    ) -> LaunchedRunner:
        launched = launched or LaunchedRunners()
        if kind not in KINDS:
            raise ConfigError(f"unknown runner kind {kind!r}: use one of {', '.join(KINDS)}", variable="--kind")
        if kind != "thread":
            app.require_shared_backend(f"a {kind} runner")
        else:
            runner_arguments(runner_cls, workers)  # an unknown class is refused here, in the cell
        if kind == "remote" and not command:
            raise ConfigError(
                "a remote runner needs --command, e.g. --command 'ssh HOST {python} -m pynenc_nb {runner_args}'",
                variable="--command",
            )
        name = name or launched.next_name(kind)
        if (existing := launched.get(name)) is not None and self.state(app, existing) == "running":
            raise RunnerError(f"a runner named {name!r} is already running; stop it or choose another --name")
        runner_arguments(runner_cls, workers)  # an unknown runner class fails before anything starts
        log_file = str(launched.runners_dir() / f"{name}.log")
        entry = LaunchedRunner(name, kind, app.app_id, os.getpid(), time.time(), detach, log_file, os.getpid())
        self._register_exit_hook()
        launcher = self.launcher(kind)
        launcher.start(app, entry, LaunchOptions(runner_cls, workers, command))
        launched.put(entry)
        self._wait_registered(app, entry, launcher)
        return entry

    def _register_exit_hook(self) -> None:
        if not self._exit_hook:
            atexit.register(self.stop_attached)
            self._exit_hook = True

    def _wait_registered(self, app: Pynenc, entry: LaunchedRunner, launcher: Launcher) -> None:
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.state(app, entry) == "running":
                return
            if (code := launcher.exit_code(entry)) is not None:
                raise RunnerError(f"runner {entry.name!r} exited at once with code {code}:\n{tail(entry, 20)}")
            time.sleep(0.05)
        raise RunnerError(
            f"runner {entry.name!r} did not register within {REGISTER_TIMEOUT_S:.0f} s:\n{tail(entry, 20)}"
        )

    def state(self, app: Pynenc, entry: LaunchedRunner) -> str:
        """running | stopping | stopped | lost (stopped heartbeating) | starting | gone (its process is not there)."""
        records = app.state_backend.runners(include_stopped=True)
        alive = self.launcher(entry.kind).alive(entry)
        if entry.kind == "remote" and backend_record(entry, records) is not None:
            alive = True  # on another host: its heartbeats tell, not a local process (ssh may be gone)
        return launched_state(entry, records, alive, app.conf.runner_dead_after_s)

    def list(self, app: Pynenc, launched: LaunchedRunners | None = None) -> list[dict[str, Any]]:
        rows = []
        now = time.time()
        for entry in (launched or LaunchedRunners()).all():
            if entry.app_id != app.app_id:
                continue
            info = backend_runner(app, entry)
            rows.append(
                {
                    "name": entry.name,
                    "kind": entry.kind,
                    "pid": entry.pid,
                    "kernel_id": entry.kernel.get("kernel_id", ""),
                    "runner_id": info.context.runner_id if info else "",
                    "heartbeat_age_s": round(now - info.last_heartbeat, 1) if info else None,
                    "state": self.state(app, entry),
                    "detach": entry.detach,
                }
            )
        return rows

    def stop(
        self, app: Pynenc, name: str, launched: LaunchedRunners | None = None, timeout_s: float | None = None
    ) -> str:
        """Stop one launched runner gracefully; returns its final state."""
        launched = launched or LaunchedRunners()
        entry = launched.get(name)
        if entry is None:
            known = ", ".join(r.name for r in launched.all()) or "none"
            raise RunnerError(f"no launched runner named {name!r} (known: {known})")
        timeout_s = timeout_s if timeout_s is not None else app.conf.graceful_stop_timeout_s + 5
        if entry.kind == "remote":
            timeout_s = self._stop_through_backend(app, entry, timeout_s)
        self.launcher(entry.kind).stop(entry, timeout_s)
        launched.remove(name)
        return self.state(app, entry)

    def _stop_through_backend(self, app: Pynenc, entry: LaunchedRunner, timeout_s: float) -> float:
        """A remote runner is asked through its backend record (there may be no local process to
        signal: another host, another kernel); returns what is left of ``timeout_s`` for the local
        command (``ssh``), which is then ended too."""
        deadline = time.monotonic() + timeout_s
        info = backend_runner(app, entry)
        if info is None or info.state not in ("running", "stopping"):
            return timeout_s
        app.state_backend.kv_put(RUNNER_REQUESTS_NAMESPACE, info.context.runner_id, "stop")
        while time.monotonic() < deadline:
            current = backend_runner(app, entry)
            if current is None or current.state not in ("running", "stopping"):
                break
            time.sleep(0.1)
        return max(1.0, deadline - time.monotonic())

    def stop_all(self, app: Pynenc, launched: LaunchedRunners | None = None) -> dict[str, str]:
        launched = launched or LaunchedRunners()
        return {
            entry.name: self.stop(app, entry.name, launched) for entry in launched.all() if entry.app_id == app.app_id
        }

    def stop_attached(self) -> None:
        """A clean kernel shutdown stops the runners it launched without --detach."""
        self.thread.stop_all_now()
        self.process.terminate_attached()
        self.remote.terminate_attached()


@functools.cache
def default_launchers() -> Launchers:
    """The launchers of this kernel, created with the first runner it starts or lists."""
    return Launchers()


def start_runner(
    app: Pynenc,
    kind: str = "thread",
    *,
    workers: int | None = None,
    runner_cls: str = "ThreadRunner",
    command: str | None = None,
    name: str | None = None,
    detach: bool = False,
    launched: LaunchedRunners | None = None,
) -> LaunchedRunner:
    return default_launchers().start(
        app,
        kind,
        workers=workers,
        runner_cls=runner_cls,
        command=command,
        name=name,
        detach=detach,
        launched=launched,
    )


def list_runners(app: Pynenc, launched: LaunchedRunners | None = None) -> list[dict[str, Any]]:
    return default_launchers().list(app, launched)


def stop_runner(app: Pynenc, name: str, launched: LaunchedRunners | None = None, timeout_s: float | None = None) -> str:
    return default_launchers().stop(app, name, launched, timeout_s)


def stop_all(app: Pynenc, launched: LaunchedRunners | None = None) -> dict[str, str]:
    return default_launchers().stop_all(app, launched)


def runner_state(app: Pynenc, entry: LaunchedRunner) -> str:
    return default_launchers().state(app, entry)


def backend_runner(app: Pynenc, entry: LaunchedRunner) -> RunnerInfo | None:
    """The backend's record of a launched runner (matched by name), or None."""
    return backend_record(entry, app.state_backend.runners(include_stopped=True))


def tail(entry: LaunchedRunner, lines: int = 50) -> str:
    if not entry.log_file or not os.path.exists(entry.log_file):
        return "(no log)"
    with open(entry.log_file, errors="replace") as fh:
        return "".join(fh.readlines()[-lines:])
