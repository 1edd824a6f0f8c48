"""Runners as background Jupyter kernels.

Under a Jupyter server the kernel is started through the server's REST API, so it appears in
JupyterLab's running-kernels panel (with a session named after the runner); otherwise through
``jupyter_client``. Either way we then talk to it over its connection file: ``serve(...)`` starts
the runner, ``stop()`` stops it gracefully before the kernel is shut down.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel_magics.launchers.environment import app_environment, write_private_file
from pynenc_nb.exceptions import RunnerError

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

_managers: dict[str, Any] = {}  # kernel id -> KernelManager we own (jupyter_client path)
KERNEL_READY_TIMEOUT_S = 60.0


def _own_kernel_id() -> str | None:
    try:
        from ipykernel.connect import get_connection_file

        return Path(get_connection_file()).stem.removeprefix("kernel-")
    except Exception:  # not inside a kernel
        return None


def _server_request(server: dict[str, Any], method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    url = server["url"].rstrip("/") + "/" + path
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"token {server.get('token', '')}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback only: the local server
        text = response.read().decode()
    return json.loads(text) if text else None


def _find_server(kernel_id: str | None, server_url: str | None = None) -> dict[str, Any] | None:
    """The Jupyter server that runs ``kernel_id`` (our notebook's kernel), or the one at ``server_url``."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    for server in list_running_servers():
        if server_url is not None:
            if server["url"] == server_url:
                return dict(server)
            continue
        try:
            kernels = _server_request(server, "GET", "api/kernels")
        except OSError:
            continue
        if kernel_id and any(k.get("id") == kernel_id for k in kernels):
            return dict(server)
    return None


def _client(connection_file: str) -> Any:
    from jupyter_client.blocking.client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=KERNEL_READY_TIMEOUT_S)
    return client


def _execute(connection_file: str, code: str, timeout_s: float) -> str:
    """Run ``code`` in the kernel; return its text result, raise its error as a RunnerError."""
    client = _client(connection_file)
    try:
        reply = client.execute_interactive(code, timeout=timeout_s, output_hook=lambda msg: None, store_history=False)
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            raise RunnerError(f"the runner kernel failed: {content.get('ename')}: {content.get('evalue')}")
        return str(reply["content"].get("user_expressions", {}))
    finally:
        client.stop_channels()


def start_kernel_runner(
    app: Pynenc, name: str, runner_cls: str, overrides: dict[str, Any], detach: bool, log_file: str
) -> dict[str, Any]:
    """Start a kernel running the runner; returns what is needed to find and stop it later."""
    own = _own_kernel_id()
    server = _find_server(own) if own else None
    env = app_environment(app)
    cwd = str(Path.cwd())
    if server is not None:
        model = _server_request(server, "POST", "api/kernels", {"name": "python3"})
        kernel_id = model["id"]
        try:
            _server_request(
                server,
                "POST",
                "api/sessions",
                {"path": f"pynenc-runners/{name}", "name": name, "type": "console", "kernel": {"id": kernel_id}},
            )
        except OSError:
            pass  # the kernel works without a named session
        from jupyter_client import find_connection_file

        connection_file = find_connection_file(f"kernel-{kernel_id}.json")
        pid = 0
        info: dict[str, Any] = {"kernel_id": kernel_id, "server_url": server["url"]}
    else:
        from jupyter_client.manager import KernelManager

        manager = KernelManager(kernel_name="python3")
        log = open(log_file, "ab")  # noqa: SIM115 - kept open for the kernel's lifetime
        # ipykernel ends a kernel whose parent (JPY_PARENT_PID, or ours when inherited) exits: right
        # for attached runners, wrong for detached ones, which must outlive this process.
        kernel_env = {k: v for k, v in os.environ.items() if not (detach and k == "JPY_PARENT_PID")}
        manager.start_kernel(cwd=cwd, stdout=log, stderr=log, env=kernel_env, independent=detach)
        kernel_id = manager.kernel_id or name
        _managers[kernel_id] = manager
        connection_file = manager.connection_file
        process = getattr(manager.provisioner, "process", None)
        pid = process.pid if process is not None else 0
        info = {"kernel_id": kernel_id}
    settings = write_private_file(Path(cwd) / ".pynenc" / "runners", f"{name}.settings.json", env)
    stop_with = None if detach else os.getpid()
    code = (
        "import sys, os\n"
        f"os.chdir({cwd!r})\n"
        f"sys.path.insert(0, {cwd!r})\n"
        "from kernel_magics.kernel_entry import serve as _pynenc_serve\n"
        f"_pynenc_serve({str(settings)!r}, {name!r}, {runner_cls!r}, {overrides!r}, {stop_with!r}, {log_file!r})\n"
        "print(os.getpid())"
    )
    _execute(connection_file, code, KERNEL_READY_TIMEOUT_S)
    if not pid:
        pid = _kernel_pid(connection_file)
    return {**info, "connection_file": connection_file, "pid": pid}


def _kernel_pid(connection_file: str) -> int:
    client = _client(connection_file)
    try:
        captured: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["header"]["msg_type"] == "stream":
                captured.append(msg["content"]["text"])

        client.execute_interactive("import os; print(os.getpid())", timeout=30, output_hook=hook, store_history=False)
        return int("".join(captured).strip().splitlines()[-1])
    finally:
        client.stop_channels()


def stop_kernel_runner(kernel: dict[str, Any], timeout_s: float) -> None:
    """Graceful: stop the runner inside the kernel, then shut the kernel down."""
    connection_file = kernel.get("connection_file", "")
    if connection_file and os.path.exists(connection_file):
        try:
            _execute(connection_file, "from kernel_magics.kernel_entry import stop as _s; _s()", timeout_s)
        except Exception:
            pass  # the kernel may already be gone; shut it down below regardless
    server = _find_server(None, kernel.get("server_url")) if kernel.get("server_url") else None
    if server is not None:
        try:
            _server_request(server, "DELETE", f"api/kernels/{kernel['kernel_id']}")
            return
        except OSError:
            pass
    manager = _managers.pop(kernel.get("kernel_id", ""), None)
    if manager is not None:
        manager.shutdown_kernel(now=False)
        return
    if connection_file and os.path.exists(connection_file):
        try:
            client = _client(connection_file)
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
