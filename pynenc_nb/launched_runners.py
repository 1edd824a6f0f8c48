"""Runners launched from a notebook, as recorded in ``.pynenc/runners.json`` of the working directory.

The state file outlives the kernel that launched the runners, so they can be listed and stopped
after a kernel restart, by the notebook layer (``kernel_magics.launchers``) and by the monitor's
API (``web/launched.py``) alike. Writes take an exclusive lock; the file is private (mode 0600)
because it names processes and kernels, though never connection URLs or secrets.

What is here works from an entry alone, without the launcher's in-memory handles (thread runners,
``Popen`` objects, kernel managers): whether its process is alive, its state from the backend's
record, and a graceful stop. The Jupyter packages are imported only when a kernel is stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pynenc_nb.exceptions import RunnerError
from pynenc_nb.records import RunnerInfo

KINDS = ("thread", "process", "kernel", "remote")
KERNEL_READY_TIMEOUT_S = 60.0


@dataclass
class LaunchedRunner:
    name: str
    kind: str  # one of KINDS
    app_id: str
    pid: int  # the runner's process (the kernel process for "thread" and "kernel")
    started_at: float
    detach: bool = False
    log_file: str | None = None
    launcher_pid: int = 0  # the kernel that launched it
    kernel: dict[str, Any] = field(default_factory=dict)  # connection_file, kernel_id, server_url, pid, stop_code
    command: list[str] = field(default_factory=list)
    stopped: bool = False


class LaunchedRunners:
    """The state file of one working directory."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = (folder or Path.cwd()) / ".pynenc"
        self.path = self.folder / "runners.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            text = fh.read()
            data: dict[str, dict[str, Any]] = json.loads(text) if text.strip() else {}
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                fh.seek(0)
                fh.truncate()
                fh.write(json.dumps(data, indent=2, sort_keys=True))

    def all(self) -> list[LaunchedRunner]:
        if not self.path.exists():
            return []
        with self._locked() as data:
            return [LaunchedRunner(**entry) for entry in data.values()]

    def get(self, name: str) -> LaunchedRunner | None:
        return next((r for r in self.all() if r.name == name), None)

    def put(self, runner: LaunchedRunner) -> None:
        with self._locked() as data:
            data[runner.name] = asdict(runner)

    def remove(self, name: str) -> None:
        with self._locked() as data:
            data.pop(name, None)

    def next_name(self, kind: str) -> str:
        taken = {r.name for r in self.all()}
        index = 1
        while f"{kind}-{index}" in taken:
            index += 1
        return f"{kind}-{index}"

    def runners_dir(self) -> Path:
        folder = self.folder / "runners"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


# --- state ---------------------------------------------------------------------------------------


def backend_record(entry: LaunchedRunner, records: Iterable[RunnerInfo]) -> RunnerInfo | None:
    """The backend's record of a launched runner, matched by name (and by pid for local processes)."""
    for info in records:
        named = info.state != "client" and json.loads(info.details or "{}").get("name") == entry.name
        if named and (info.context.pid == entry.pid or entry.kind in ("remote", "kernel")):
            return info
    return None


def launched_state(entry: LaunchedRunner, records: Iterable[RunnerInfo], alive: bool, dead_after_s: float) -> str:
    """running | stopping | stopped | lost (stopped heartbeating) | starting | gone (its process is not there)."""
    info = backend_record(entry, records)
    if info is None:
        return "starting" if alive else "gone"
    if info.state == "running" and time.time() - info.last_heartbeat > dead_after_s:
        return "lost"
    if info.state == "running" and not alive:
        return "gone"
    return str(info.state)


def process_alive(pid: int) -> bool:
    """The process exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


# --- stopping ------------------------------------------------------------------------------------


def stop_launched(entry: LaunchedRunner, timeout_s: float) -> None:
    """Stop a process, remote or kernel runner the way its launcher would, from its entry alone."""
    if entry.kind == "thread":
        raise RunnerError(f"runner {entry.name!r} is a thread: only the kernel that launched it can stop it")
    if entry.kind == "kernel":
        stop_kernel(entry.kernel, timeout_s)
    else:
        terminate(entry.pid, timeout_s)


def terminate(pid: int, timeout_s: float, exited: Callable[[], bool] | None = None) -> None:
    """SIGTERM (a graceful stop), then SIGKILL once ``timeout_s`` passed without ``exited()``."""
    exited = exited or (lambda: not process_alive(pid))
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if exited():
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop_kernel(kernel: dict[str, Any], timeout_s: float, shutdown: Callable[[], None] | None = None) -> None:
    """Run the entry's ``stop_code`` in the kernel (a graceful stop of its runner), then shut it down.

    The kernel goes down through the Jupyter server that started it, else ``shutdown`` (the
    launcher's own kernel manager, when it still has it), else a shutdown request and a SIGTERM.
    """
    connection_file = kernel.get("connection_file", "")
    if connection_file and os.path.exists(connection_file) and kernel.get("stop_code"):
        try:
            execute_in_kernel(connection_file, kernel["stop_code"], timeout_s)
        except Exception:
            pass  # the kernel may already be gone; shut it down below regardless
    server = (
        next((s for s in jupyter_servers() if s["url"] == kernel["server_url"]), None)
        if kernel.get("server_url")
        else None
    )
    if server is not None:
        try:
            server_request(server, "DELETE", f"api/kernels/{kernel['kernel_id']}")
            return
        except OSError:
            pass
    if shutdown is not None:
        shutdown()
        return
    if connection_file and os.path.exists(connection_file):
        try:
            client = kernel_client(connection_file)
            client.shutdown()
            client.stop_channels()
        except Exception:
            pass
    if connection_file:  # its manager died with the launching kernel: nobody else removes the file
        with contextlib.suppress(OSError):
            os.remove(connection_file)
    pid = int(kernel.get("pid") or 0)
    deadline = time.monotonic() + 5
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


# --- talking to kernels and Jupyter servers ------------------------------------------------------


def jupyter_servers() -> list[dict[str, Any]]:
    """The Jupyter servers running on this machine (none when ``jupyter_server`` is not installed)."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return []
    return [dict(server) for server in list_running_servers()]


def server_request(server: dict[str, Any], method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    url = server["url"].rstrip("/") + "/" + path
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"token {server.get('token', '')}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback only: the local server
        text = response.read().decode()
    return json.loads(text) if text else None


def kernel_client(connection_file: str) -> Any:
    from jupyter_client.blocking.client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=KERNEL_READY_TIMEOUT_S)
    return client


def execute_in_kernel(connection_file: str, code: str, timeout_s: float) -> str:
    """Run ``code`` in the kernel; return its text result, raise its error as a RunnerError."""
    client = kernel_client(connection_file)
    try:
        reply = client.execute_interactive(code, timeout=timeout_s, output_hook=lambda msg: None, store_history=False)
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            raise RunnerError(f"the runner kernel failed: {content.get('ename')}: {content.get('evalue')}")
        return str(reply["content"].get("user_expressions", {}))
    finally:
        client.stop_channels()
