"""A real ``jupyter lab`` for browser tests: free port, isolated Jupyter state, stopped with its kernels.

Everything the server writes (config, runtime files, settings, workspaces, IPython profile) lives under
one temporary directory, so runs neither read nor change the user's or the venv's Jupyter state. The
only configuration written is in that directory:

- ``config/labconfig/page_config.json`` disables the announcements plugin (its "Jupyter news?" toast
  covers screenshots, and ``--LabApp.news_url=None`` does not stop it): what
  ``jupyter labextension disable --level=user`` writes, with "user" being the isolated config dir.
- ``settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings`` sets ``windowingMode`` to
  ``none`` so every cell of a long notebook is in the DOM, whatever the viewport shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
DISABLED_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]
USER_SETTINGS = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}

T = TypeVar("T")


def poll(predicate: Callable[[], T | None], timeout_s: float, message: str, interval_s: float = 0.1) -> T:
    """Wait for ``predicate()`` to be truthy (no fixed sleeps in tests); return its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {message}")
        time.sleep(interval_s)


@dataclass(frozen=True)
class JupyterLab:
    """A running server: where it listens, its token, the notebooks it serves and its log."""

    base_url: str  # http://127.0.0.1:PORT/ (with the trailing slash)
    token: str
    root_dir: Path  # a copy of notebooks/: tests may change it freely
    log_path: Path
    home: Path  # the isolated Jupyter state (config, runtime, data, settings, workspaces)
    process: subprocess.Popen[bytes]

    def url(self, path: str, **query: str) -> str:
        """``base_url + path`` with the token (and ``query``) in the query string."""
        params = "&".join(
            [*(f"{key}={value}" if value else key for key, value in query.items()), f"token={self.token}"]
        )
        return f"{self.base_url}{path.lstrip('/')}?{params}"

    def api(self, path: str, method: str = "GET", body: Any = None, timeout_s: float = 10.0) -> Any:
        """One REST call (``api/...``) authenticated by the token; the decoded JSON reply, or None."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}{path.lstrip('/')}", data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            content = reply.read()
        return json.loads(content) if content else None

    def kernels(self) -> list[dict[str, Any]]:
        """``GET /api/kernels``: id, name, ``execution_state`` of every kernel of the server."""
        return list(self.api("api/kernels"))

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.api("api/sessions"))

    def kernel_of(self, path: str) -> dict[str, Any] | None:
        """The kernel model of the notebook at ``path`` (relative to ``root_dir``), if it has one."""
        for session in self.sessions():
            if session.get("path") == path and session.get("kernel"):
                return dict(session["kernel"])
        return None

    def kernel_pids(self) -> list[int]:
        """Kernel processes of this server: their connection file is in its private runtime dir."""
        marker = str(self.home / "runtime").encode()
        return [pid for pid, cmdline in _processes() if b"ipykernel" in cmdline and marker in cmdline]

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_home(home: Path) -> dict[str, str]:
    """Create the isolated Jupyter directories and configuration; return the server's environment."""
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTERLAB_SETTINGS_DIR": home / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "workspaces",
        "IPYTHONDIR": home / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir()
    page_config = {"disabledExtensions": {name: True for name in DISABLED_PLUGINS}}
    (labconfig / "page_config.json").write_text(json.dumps(page_config, indent=2))
    for plugin, values in USER_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = dict(os.environ)
    env.update({key: str(path) for key, path in dirs.items()})
    # The venv's own kernelspecs first (sys.prefix/share/jupyter), so "python3" is this venv's Python.
    env["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [str(Path(sys.prefix) / "share" / "jupyter"), env.get("JUPYTER_PATH")])
    )
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_jupyter_lab(base: Path, notebooks: Path = NOTEBOOKS) -> JupyterLab:
    """Start ``jupyter lab`` on a copy of ``notebooks`` under ``base``; return once ``/api/status`` answers."""
    root_dir = base / "notebooks"
    shutil.copytree(notebooks, root_dir, ignore=shutil.ignore_patterns(".pynenc", ".ipynb_checkpoints"))
    home = base / "jupyter"
    env = prepare_home(home)
    token = secrets.token_hex(16)
    port = free_port()
    log_path = base / "jupyter-lab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")  # the server refuses to start as root otherwise
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    lab = JupyterLab(f"http://127.0.0.1:{port}/", token, root_dir, log_path, home, process)

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode}; log tail:\n{lab.log_tail()}")
        try:
            lab.api("api/status", timeout_s=2)
        except (OSError, urllib.error.URLError):
            return False
        return True

    try:
        poll(answers, START_TIMEOUT_S, "jupyter lab to answer /api/status", interval_s=0.1)
    except BaseException as error:
        stop_jupyter_lab(lab)
        if isinstance(error, AssertionError):
            raise AssertionError(f"{error}; log tail:\n{lab.log_tail()}") from None
        raise
    return lab


def stop_jupyter_lab(lab: JupyterLab) -> None:
    """Shut the server down with its kernels (``POST /api/shutdown``); kill whatever is left after that."""
    if lab.process.poll() is None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            lab.api("api/shutdown", method="POST", timeout_s=STOP_TIMEOUT_S)
        try:
            lab.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(lab.process.pid, signal.SIGKILL)
            lab.process.wait(5)
    for pid in lab.kernel_pids():  # kernels run in their own session: a killed server leaves them behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _end_leftovers(lab.root_dir)


def _processes() -> list[tuple[int, bytes]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                found.append((int(entry.name), (entry / "cmdline").read_bytes()))
    return found


def _end_leftovers(root_dir: Path, grace_s: float = 10.0) -> None:
    """Processes still working in the served directory (runners a notebook started) get ``grace_s`` to exit."""

    def working_there() -> list[int]:
        pids = []
        for pid, _ in _processes():
            with contextlib.suppress(OSError):
                if pid != os.getpid() and Path(f"/proc/{pid}/cwd").resolve().is_relative_to(root_dir):
                    pids.append(pid)
        return pids

    with contextlib.suppress(AssertionError):
        poll(lambda: not working_there(), grace_s, "runner processes to exit", interval_s=0.2)
    for pid in working_there():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
