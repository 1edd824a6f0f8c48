"""Launching runners from a notebook: in this kernel, as processes, as kernels, or by a command.

Every launched runner is recorded in the state file (``registry.py``) so it can be listed and
stopped after a kernel restart. Non-detached runners stop when the launching kernel ends: they
watch its pid, and an exit hook stops them at once on a clean shutdown.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel_magics.launchers import kernels
from kernel_magics.launchers.environment import child_environment
from kernel_magics.launchers.registry import LaunchedRunner, RunnerRegistry
from pynenc_nb.exceptions import ConfigError, RunnerError
from pynenc_nb.runners import RUNNERS
from pynenc_nb.runners.thread import ThreadRunner

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

KINDS = ("thread", "process", "kernel", "remote")
REGISTER_TIMEOUT_S = 60.0
_threads: dict[str, ThreadRunner] = {}
_processes: dict[str, subprocess.Popen[bytes]] = {}
_detached: set[str] = set()


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


def start_runner(
    app: Pynenc,
    kind: str = "thread",
    *,
    workers: int | None = None,
    runner_cls: str = "ThreadRunner",
    command: str | None = None,
    name: str | None = None,
    detach: bool = False,
    registry: RunnerRegistry | None = None,
) -> LaunchedRunner:
    registry = registry or RunnerRegistry()
    if kind not in KINDS:
        raise ConfigError(f"unknown runner kind {kind!r}: use one of {', '.join(KINDS)}", variable="--kind")
    if kind != "thread":
        app.require_shared_backend(f"a {kind} runner")
    elif runner_cls != "ThreadRunner":
        raise ConfigError(
            f"--kind thread runs a ThreadRunner inside this kernel; for {runner_cls} use --kind process or kernel",
            variable="--runner",
        )
    if kind == "remote" and not command:
        raise ConfigError(
            "a remote runner needs --command, e.g. --command 'ssh HOST {python} -m pynenc_nb {runner_args}'",
            variable="--command",
        )
    name = name or registry.next_name(kind)
    if (existing := registry.get(name)) is not None and runner_state(app, existing) == "running":
        raise RunnerError(f"a runner named {name!r} is already running; stop it or choose another --name")
    args, overrides = runner_arguments(runner_cls, workers)
    log_file = str(registry.runners_dir() / f"{name}.log")
    entry = LaunchedRunner(name, kind, app.app_id, os.getpid(), time.time(), detach, log_file, os.getpid())
    if kind == "thread":
        runner = ThreadRunner(app, max_threads=workers)
        runner.name = name
        runner.start_in_thread()
        _threads[name] = runner
    elif kind == "kernel":
        entry.kernel = kernels.start_kernel_runner(app, name, runner_cls, overrides, detach, log_file)
        entry.pid = int(entry.kernel["pid"])
    else:
        cli = ["--app-id", app.app_id, "runner", "start", "--name", name, *args]
        if not detach:
            cli += ["--stop-with-pid", str(os.getpid())]
        entry.command = (
            _remote_command(command, app, name, cli) if kind == "remote" else [sys.executable, "-m", "pynenc_nb", *cli]
        )
        entry.pid = _spawn(entry, app).pid
    registry.put(entry)
    _wait_registered(app, entry)
    return entry


def _remote_command(template: str | None, app: Pynenc, name: str, cli: list[str]) -> list[str]:
    """The template as an argument list (never a shell string), placeholders filled per argument."""
    values = {"python": sys.executable, "app_id": app.app_id, "app": app.app_id, "name": name}
    out: list[str] = []
    for part in shlex.split(template or ""):
        if part == "{runner_args}":
            out.extend(cli)
            continue
        try:
            out.append(part.format(**values))
        except (KeyError, IndexError) as exc:
            raise ConfigError(
                f"unknown placeholder {exc} in --command; use {{python}}, {{app_id}}, {{name}}, {{runner_args}}",
                variable="--command",
            ) from None
    if not out:
        raise ConfigError("--command is empty", variable="--command")
    return out


def _spawn(entry: LaunchedRunner, app: Pynenc) -> subprocess.Popen[bytes]:
    with open(entry.log_file or os.devnull, "ab") as log:
        try:
            process = subprocess.Popen(
                entry.command,
                env=child_environment(app),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=str(Path.cwd()),
            )
        except OSError as exc:
            raise RunnerError(f"cannot start runner {entry.name!r}: {exc}") from exc
    _processes[entry.name] = process
    if entry.detach:
        _detached.add(entry.name)
    return process


def _wait_registered(app: Pynenc, entry: LaunchedRunner) -> None:
    deadline = time.monotonic() + REGISTER_TIMEOUT_S
    while time.monotonic() < deadline:
        if runner_state(app, entry) == "running":
            return
        process = _processes.get(entry.name)
        if process is not None and process.poll() is not None:
            raise RunnerError(
                f"runner {entry.name!r} exited at once with code {process.returncode}:\n{tail(entry, 20)}"
            )
        time.sleep(0.05)
    raise RunnerError(f"runner {entry.name!r} did not register within {REGISTER_TIMEOUT_S:.0f} s:\n{tail(entry, 20)}")


def backend_runner(app: Pynenc, entry: LaunchedRunner) -> Any:
    """The backend's record of a launched runner (matched by name), or None."""
    for info in app.state_backend.runners(include_stopped=True):
        named = info.state != "client" and json.loads(info.details or "{}").get("name") == entry.name
        if named and (info.context.pid == entry.pid or entry.kind in ("remote", "kernel")):
            return info
    return None


def runner_state(app: Pynenc, entry: LaunchedRunner) -> str:
    """running | stopped | lost (stopped heartbeating) | starting | gone (its process is not there)."""
    info = backend_runner(app, entry)
    alive = _alive(entry)
    if info is None:
        return "starting" if alive else "gone"
    if info.state == "running" and time.time() - info.last_heartbeat > app.conf.runner_dead_after_s:
        return "lost"
    if info.state == "running" and not alive:
        return "gone"
    return str(info.state)


def _alive(entry: LaunchedRunner) -> bool:
    if entry.kind == "thread":
        runner = _threads.get(entry.name)
        return runner is not None and not runner._stopped.is_set() and entry.pid == os.getpid()
    if entry.kind == "remote" and entry.name in _processes:
        return _processes[entry.name].poll() is None
    try:
        os.kill(entry.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(entry.pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def list_runners(app: Pynenc, registry: RunnerRegistry | None = None) -> list[dict[str, Any]]:
    rows = []
    now = time.time()
    for entry in (registry or RunnerRegistry()).all():
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
                "state": runner_state(app, entry),
                "detach": entry.detach,
            }
        )
    return rows


def stop_runner(app: Pynenc, name: str, registry: RunnerRegistry | None = None, timeout_s: float | None = None) -> str:
    """Stop one launched runner gracefully; returns its final state."""
    registry = registry or RunnerRegistry()
    entry = registry.get(name)
    if entry is None:
        known = ", ".join(r.name for r in registry.all()) or "none"
        raise RunnerError(f"no launched runner named {name!r} (known: {known})")
    timeout_s = timeout_s if timeout_s is not None else app.conf.graceful_stop_timeout_s + 5
    if entry.kind == "thread":
        runner = _threads.pop(name, None)
        if runner is not None:
            runner.stop(wait=True, timeout=timeout_s)
    elif entry.kind == "kernel":
        kernels.stop_kernel_runner(entry.kernel, timeout_s)
    else:
        _terminate(entry, timeout_s)
    registry.remove(name)
    return runner_state(app, entry)


def _terminate(entry: LaunchedRunner, timeout_s: float) -> None:
    process = _processes.pop(entry.name, None)
    try:
        os.kill(entry.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return
        if process is None and (not _alive(entry)):
            return
        time.sleep(0.05)
    os.kill(entry.pid, signal.SIGKILL)


def stop_all(app: Pynenc, registry: RunnerRegistry | None = None) -> dict[str, str]:
    registry = registry or RunnerRegistry()
    return {
        entry.name: stop_runner(app, entry.name, registry) for entry in registry.all() if entry.app_id == app.app_id
    }


def tail(entry: LaunchedRunner, lines: int = 50) -> str:
    if not entry.log_file or not os.path.exists(entry.log_file):
        return "(no log)"
    with open(entry.log_file, errors="replace") as fh:
        return "".join(fh.readlines()[-lines:])


def _stop_attached_at_exit() -> None:
    """A clean kernel shutdown stops the runners it launched without --detach."""
    for runner in list(_threads.values()):
        runner.stop(wait=False)
    for name, process in list(_processes.items()):
        if name not in _detached and process.poll() is None:
            process.terminate()


atexit.register(_stop_attached_at_exit)
