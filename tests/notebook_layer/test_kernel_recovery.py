"""A kernel hosting a thread runner is killed mid-task: another runner recovers the task.

The kernel is a real ipykernel started with ``jupyter_client``; the runner is started in it with
``%pynenc runner start --kind thread``, as a user would in a notebook.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from pynenc_nb import InvocationStatus
from tests.notebook_layer.support import TIMEOUT_S, alive
from tests.support.processes import ROOT, poll, runner_process

S = InvocationStatus
FAST_LIVENESS = {
    "PYNENC__RUNNER_HEARTBEAT_INTERVAL_S": "0.5",
    "PYNENC__RUNNER_DEAD_AFTER_S": "2",
    "PYNENC__SERVICES_INTERVAL_S": "0.5",
}


@pytest.fixture
def recovery_env(shared_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The shared SQLite app of ``shared_env`` with a runner declared dead after 2 s of silence."""
    for key, value in FAST_LIVENESS.items():
        monkeypatch.setenv(key, value)
    return {**shared_env, **FAST_LIVENESS}


@pytest.fixture
def kernel(recovery_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[KernelManager, Any]]:
    """A python3 kernel in the test's folder, configured by ``recovery_env``; shut down afterwards."""
    manager = KernelManager(kernel_name="python3")
    log = open(tmp_path / "kernel.log", "ab")  # noqa: SIM115 - closed below
    manager.start_kernel(
        cwd=str(tmp_path), env={**os.environ, **recovery_env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log
    )
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=TIMEOUT_S)
        yield manager, client
    finally:
        client.stop_channels()
        try:
            manager.shutdown_kernel(now=True)
        finally:
            log.close()


def run(client: Any, code: str) -> str:
    """Execute ``code`` in the kernel; return its stream output, fail with its error."""
    output: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["header"]["msg_type"] == "stream":
            output.append(msg["content"]["text"])
        elif msg["header"]["msg_type"] == "error":
            output.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, timeout=TIMEOUT_S, output_hook=hook)
    assert reply["content"]["status"] == "ok", "".join(output)
    return "".join(output)


@pytest.mark.slow
def test_task_of_a_killed_kernels_thread_runner_is_recovered_by_a_cli_runner(
    recovery_env: dict[str, str], tasks_module: Any, kernel: tuple[KernelManager, Any], tmp_path: Path
) -> None:
    app = tasks_module.app
    manager, client = kernel
    kernel_pid = manager.provisioner.process.pid  # type: ignore[union-attr]
    release = tmp_path / "release"
    # Given a notebook kernel running a thread runner started with the magic
    run(client, "%load_ext pynenc_nb\nfrom tests.support.tasks_app import app")
    listed = run(
        client, "started = %pynenc runner start --kind thread --workers 1 --name in-kernel\nprint(repr(started))"
    )
    assert "in-kernel" in listed and "running" in listed
    # And a task running on it
    invocation = tasks_module.until_file_exists(str(release), 7)
    poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to run in the kernel")
    lost = invocation.record.owner_id
    assert lost is not None
    assert {r.context.runner_id: r.context.pid for r in app.state_backend.runners()}[lost] == kernel_pid

    # When the kernel is killed mid-task
    killed_at = time.time()
    os.kill(kernel_pid, signal.SIGKILL)
    manager.provisioner.process.wait(TIMEOUT_S)  # type: ignore[union-attr]
    assert not alive(kernel_pid)
    release.touch()

    # Then a runner started elsewhere recovers it, and it ends SUCCESS
    with runner_process(app, recovery_env, "--runner-cls", "ThreadRunner", "--max-threads", "1"):
        assert invocation.result_or(TIMEOUT_S) == 7
    history = invocation.history()
    assert [change.status for change in history] == [
        S.REGISTERED,
        S.PENDING,
        S.RUNNING,
        S.RUNNING_RECOVERY,
        S.REROUTED,
        S.PENDING,
        S.RUNNING,
        S.SUCCESS,
    ]
    recovered = next(change for change in history if change.status is S.RUNNING_RECOVERY)
    assert recovered.at > killed_at
    assert history[-2].owner_id not in (None, lost)
    states = {r.context.runner_id: r.state for r in app.state_backend.runners(include_stopped=True)}
    assert states[lost] == "lost"


@pytest.mark.slow
def test_cell_defined_task_of_a_killed_kernel_is_recovered_from_its_shipped_code(
    recovery_env: dict[str, str], tasks_module: Any, kernel: tuple[KernelManager, Any], tmp_path: Path
) -> None:
    app = tasks_module.app
    manager, client = kernel
    kernel_pid = manager.provisioner.process.pid  # type: ignore[union-attr]
    release = tmp_path / "release"
    # Given a notebook whose task is defined in a cell, running on a thread runner of its kernel
    run(
        client,
        "%load_ext pynenc_nb\n"
        "import os, time\n"
        "from pynenc_nb import Pynenc\n"
        "app = Pynenc()\n"
        "@app.task\n"
        "def wait_for(path, value):\n"
        "    while not os.path.exists(path):\n"
        "        time.sleep(0.02)\n"
        "    return (value, os.getpid())\n"
        "%pynenc runner start --kind thread --workers 1\n",
    )
    invocation_id = run(client, f"print(wait_for({str(release)!r}, 'cell').invocation_id)").strip()
    invocation = app.invocation(invocation_id)
    assert invocation.task_id == "__main__.wait_for" and invocation.record.task_version
    poll(lambda: invocation.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the task to run in the kernel")
    # When the kernel is killed mid-task
    os.kill(kernel_pid, signal.SIGKILL)
    manager.provisioner.process.wait(TIMEOUT_S)  # type: ignore[union-attr]
    release.touch()
    # Then a runner that never saw the notebook runs it again from the stored code, and it ends SUCCESS
    with runner_process(app, recovery_env, "--runner-cls", "ThreadRunner", "--max-threads", "1") as process:
        assert invocation.result_or(TIMEOUT_S) == ("cell", process.pid)
    statuses = [change.status for change in invocation.history()]
    assert statuses[3:5] == [S.RUNNING_RECOVERY, S.REROUTED] and statuses[-1] is S.SUCCESS
