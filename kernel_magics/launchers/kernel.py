"""Runners as background Jupyter kernels.

Under a Jupyter server the kernel is started through the server's REST API, so it appears in
JupyterLab's running-kernels panel (with a session named after the runner); otherwise through
``jupyter_client``. Either way we then talk to it over its connection file: ``serve(...)`` starts
the runner, the ``stop_code`` recorded in the state file stops it gracefully before the kernel is
shut down (by whoever stops it: this launcher or the monitor's API).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel_magics.launchers.base import runner_arguments
from kernel_magics.launchers.environment import app_environment, write_private_file
from pynenc_nb.launched_runners import (
    KERNEL_READY_TIMEOUT_S,
    execute_in_kernel,
    jupyter_servers,
    kernel_client,
    process_alive,
    server_request,
    stop_kernel,
)
from pynenc_nb.records import new_id

if TYPE_CHECKING:
    from kernel_magics.launchers.base import LaunchOptions
    from pynenc_nb.app import Pynenc
    from pynenc_nb.launched_runners import LaunchedRunner

STOP_CODE = "from kernel_magics.kernel_entry import stop as _s; _s()"


def _own_kernel_id() -> str | None:
    try:
        from ipykernel.connect import get_connection_file

        return Path(get_connection_file()).stem.removeprefix("kernel-")
    except Exception:  # not inside a kernel
        return None


def _server_of(kernel_id: str) -> dict[str, Any] | None:
    """The Jupyter server that runs ``kernel_id`` (our notebook's kernel)."""
    for server in jupyter_servers():
        try:
            kernels = server_request(server, "GET", "api/kernels")
        except OSError:
            continue
        if any(k.get("id") == kernel_id for k in kernels):
            return server
    return None


def _kernel_pid(connection_file: str) -> int:
    client = kernel_client(connection_file)
    try:
        captured: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["header"]["msg_type"] == "stream":
                captured.append(msg["content"]["text"])

        client.execute_interactive("import os; print(os.getpid())", timeout=30, output_hook=hook, store_history=False)
        return int("".join(captured).strip().splitlines()[-1])
    finally:
        client.stop_channels()


def _ipc_prefix() -> str:
    """Where the kernel's IPC sockets go: Jupyter's runtime folder (private to the user), not the
    notebook's folder, where ``kernel-ipc-N`` files would show in the file browser."""
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(runtime / f"pynenc-{new_id()[:12]}")


class KernelLauncher:
    def __init__(self) -> None:
        self.managers: dict[str, Any] = {}  # kernel id -> KernelManager we own (jupyter_client path)

    def start(self, app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> None:
        """Start a kernel running the runner; records what is needed to find and stop it later."""
        _, overrides = runner_arguments(options.runner_cls, options.workers)
        name, detach, log_file = entry.name, entry.detach, entry.log_file or os.devnull
        own = _own_kernel_id()
        server = _server_of(own) if own else None
        env = app_environment(app)
        cwd = str(Path.cwd())
        if server is not None:
            model = server_request(server, "POST", "api/kernels", {"name": "python3"})
            kernel_id = model["id"]
            try:
                server_request(
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

            # IPC sockets (in Jupyter's runtime folder), not TCP on loopback: only this user can
            # reach the kernel, and it has no cause to warn in the runner's log about plain TCP.
            manager = KernelManager(kernel_name="python3", transport="ipc", ip=_ipc_prefix())
            log = open(log_file, "ab")  # noqa: SIM115 - kept open for the kernel's lifetime
            # ipykernel ends a kernel whose parent (JPY_PARENT_PID, or ours when inherited) exits: right
            # for attached runners, wrong for detached ones, which must outlive this process.
            kernel_env = {k: v for k, v in os.environ.items() if not (detach and k == "JPY_PARENT_PID")}
            manager.start_kernel(cwd=cwd, stdout=log, stderr=log, env=kernel_env, independent=detach)
            kernel_id = manager.kernel_id or name
            self.managers[kernel_id] = manager
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
            f"_pynenc_serve({str(settings)!r}, {name!r}, {options.runner_cls!r}, {overrides!r}, {stop_with!r}, "
            f"{log_file!r})\n"
            "print(os.getpid())"
        )
        execute_in_kernel(connection_file, code, KERNEL_READY_TIMEOUT_S)
        if not pid:
            pid = _kernel_pid(connection_file)
        entry.kernel = {**info, "connection_file": connection_file, "pid": pid, "stop_code": STOP_CODE}
        entry.pid = pid

    def alive(self, entry: LaunchedRunner) -> bool:
        return process_alive(entry.pid)

    def stop(self, entry: LaunchedRunner, timeout_s: float) -> None:
        """Graceful: stop the runner inside the kernel, then shut the kernel down."""
        manager = self.managers.pop(entry.kernel.get("kernel_id", ""), None)
        shutdown = (lambda: manager.shutdown_kernel(now=False)) if manager is not None else None
        stop_kernel(entry.kernel, timeout_s, shutdown)

    def exit_code(self, entry: LaunchedRunner) -> int | None:
        return None
