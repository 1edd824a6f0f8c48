"""The state file outlives the kernel that launched runners; ``--detach`` decides who outlives it.

A "kernel" here is a Python script run as ``__main__`` that defines the app, launches runners with
``kernel_magics.launchers.start_runner`` and then ends: with ``os._exit`` (a killed or restarted
kernel: no exit hooks run) or normally (a clean shutdown: exit hooks run).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kernel_magics import launchers
from pynenc_nb import Pynenc
from pynenc_nb.launched_runners import LaunchedRunners
from tests.notebook_layer.support import TIMEOUT_S, alive, cell_task, run_script
from tests.support.processes import poll

LAUNCHER = """
import json, os, sys
from pynenc_nb import Pynenc
from kernel_magics import launchers

app = Pynenc(config_values=json.loads(sys.argv[1]))
kept = launchers.start_runner(app, sys.argv[3], name="kept", detach=True)
tied = launchers.start_runner(app, sys.argv[3], name="tied")
print(json.dumps({"kept": kept.pid, "tied": tied.pid}), flush=True)
if sys.argv[2] == "crash":
    os._exit(0)  # like a killed kernel: no exit hooks
"""


def launch(app: Pynenc, tmp_path: Path, ending: str, kind: str = "process") -> dict[str, int]:
    values = {"app_id": app.app_id, "backend_url": app.conf.backend_url, "logging_level": "info"}
    result = run_script(LAUNCHER, json.dumps(values), ending, kind, cwd=tmp_path)
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def launcher_pid(tmp_path: Path) -> int:
    (entry,) = [e for e in LaunchedRunners(tmp_path).all() if e.name == "tied"]
    return entry.launcher_pid


def states(app: Pynenc) -> dict[str, Any]:
    return {row["name"]: row for row in launchers.list_runners(app)}


def backend_state(app: Pynenc, name: str) -> str:
    entry = LaunchedRunners().get(name)
    assert entry is not None
    info = launchers.backend_runner(app, entry)
    assert info is not None
    return str(info.state)


def assert_still_serving(app: Pynenc, pid: int) -> None:
    def whose_pid() -> int:
        import os

        return os.getpid()

    assert cell_task(app, whose_pid)().result_or(TIMEOUT_S) == pid


@pytest.mark.slow
def test_after_the_launching_kernel_dies_the_state_file_still_lists_and_stops_a_detached_runner(
    make_app: Callable[..., Pynenc], tmp_path: Path
) -> None:
    # Given a kernel that launched a detached and an attached runner, then died without exit hooks
    app = make_app()
    pids = launch(app, tmp_path, "crash")
    # Then the attached one stops by itself (it watched its launcher's pid)
    poll(lambda: states(app)["tied"]["state"] == "stopped", timeout_s=TIMEOUT_S, message="the tied runner to stop")
    poll(lambda: not alive(pids["tied"]), timeout_s=TIMEOUT_S, message="the tied runner's process to end")
    assert (
        f"process {launcher_pid(tmp_path)} is gone, stopping"
        in (LaunchedRunners().runners_dir() / "tied.log").read_text()
    )
    # And a new app object (the restarted kernel's), with no in-memory record of either, still
    # lists the detached one as running, with its pid, runner id and a fresh heartbeat
    assert "kept" not in launchers.default_launchers().process.popens
    row = states(app)["kept"]
    assert row["state"] == "running" and row["pid"] == pids["kept"] and row["detach"] is True
    assert row["runner_id"] and row["heartbeat_age_s"] is not None
    assert row["heartbeat_age_s"] < app.conf.runner_dead_after_s
    assert alive(pids["kept"])
    assert_still_serving(app, pids["kept"])
    # When it is stopped by name
    assert launchers.stop_runner(app, "kept") == "stopped"
    # Then its process is gone, the backend says stopped and the state file forgets it
    assert not alive(pids["kept"])
    assert {info.context.pid: info.state for info in app.state_backend.runners(include_stopped=True)}[
        pids["kept"]
    ] == "stopped"
    assert [entry.name for entry in LaunchedRunners().all()] == ["tied"]


@pytest.mark.slow
def test_on_a_clean_kernel_shutdown_attached_runners_stop_and_detached_ones_keep_running(
    make_app: Callable[..., Pynenc], tmp_path: Path
) -> None:
    # Given a kernel that launched a detached and an attached runner, then shut down cleanly
    app = make_app()
    pids = launch(app, tmp_path, "exit")
    # Then the attached one is stopped by the exit hook (a SIGTERM, at once)
    poll(lambda: not alive(pids["tied"]), timeout_s=TIMEOUT_S, message="the tied runner's process to end")
    assert backend_state(app, "tied") == "stopped"
    log = (LaunchedRunners().runners_dir() / "tied.log").read_text()
    assert "received signal 15, stopping" in log
    # And the detached one keeps running and serving
    assert alive(pids["kept"])
    assert states(app)["kept"]["state"] == "running"
    assert_still_serving(app, pids["kept"])
    assert "received signal" not in (LaunchedRunners().runners_dir() / "kept.log").read_text()
    assert launchers.stop_runner(app, "kept") == "stopped"
    assert not alive(pids["kept"])


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["crash", "exit"])
def test_a_detached_kernel_runner_outlives_its_launcher_and_an_attached_one_does_not(
    make_app: Callable[..., Pynenc], tmp_path: Path, ending: str
) -> None:
    # Given a kernel that launched a detached and an attached runner kernel (with jupyter_client),
    # then ended
    app = make_app()
    pids = launch(app, tmp_path, ending, "kernel")
    # Then the attached runner's kernel ends too
    poll(lambda: not alive(pids["tied"]), timeout_s=TIMEOUT_S, message="the tied runner's kernel to end")
    assert states(app)["tied"]["state"] != "running"
    # And the detached one keeps running and serving, listed with its kernel id
    row = states(app)["kept"]
    kept = LaunchedRunners().get("kept")
    assert kept is not None
    assert row["state"] == "running" and row["kernel_id"] == kept.kernel["kernel_id"] and row["pid"] == pids["kept"]
    assert_still_serving(app, pids["kept"])
    assert alive(pids["kept"]) and states(app)["kept"]["state"] == "running"
    # And it is stopped gracefully by name from here
    assert launchers.stop_runner(app, "kept") == "stopped"
    assert not alive(pids["kept"])
    assert {info.context.pid: info.state for info in app.state_backend.runners(include_stopped=True)}[
        pids["kept"]
    ] == "stopped"
    assert not Path(kept.kernel["connection_file"]).exists()
    # And the ended attached one is forgotten on request (without waiting on its dead kernel)
    tied = LaunchedRunners().get("tied")
    assert tied is not None
    # (gone: ipykernel's own parent check may end its kernel before the runner records its stop)
    assert launchers.stop_runner(app, "tied", timeout_s=TIMEOUT_S) in ("stopped", "lost", "gone")
    assert LaunchedRunners().all() == [] and not Path(tied.kernel["connection_file"]).exists()
