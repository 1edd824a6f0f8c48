"""Cell-defined tasks (module ``__main__``) on runners launched as processes and as kernels.

Their code is shipped by value under a content-hash version: a redefinition makes new calls use
the new code while an invocation already running finishes on the old one.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kernel_magics import launchers
from kernel_magics.session import NotebookSession
from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.launched_runners import LaunchedRunners
from tests.notebook_layer.support import TIMEOUT_S, alive, cell_task
from tests.support.processes import poll

S = InvocationStatus
KINDS = ["thread", "process", "kernel"]


@pytest.mark.parametrize("kind", KINDS)
def test_cell_task_runs_on_a_launched_runner_and_a_redefinition_applies_to_new_calls_only(
    make_app: Callable[..., Pynenc], kind: str, tmp_path: Path
) -> None:
    app = make_app()
    gate = tmp_path / "gate"

    def compute(x: int, gate_path: str = "") -> tuple[str, int, int]:
        deadline = time.monotonic() + 60
        while gate_path and not os.path.exists(gate_path) and time.monotonic() < deadline:
            time.sleep(0.02)
        return ("old", x * 2, os.getpid())

    task = cell_task(app, compute)
    # Given a runner launched from "the notebook" (this process), two slots
    entry = launchers.start_runner(app, kind, workers=2, name=f"{kind}-runner")
    assert alive(entry.pid) and (entry.pid == os.getpid()) is (kind == "thread")
    # Then a cell-defined task runs there, from its shipped code
    label, doubled, pid = task(21).result_or(TIMEOUT_S)
    assert (label, doubled, pid) == ("old", 42, entry.pid)

    # Given an invocation of the old code that is still running
    slow = task(5, str(gate))
    poll(lambda: slow.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the old invocation to run")

    # When the cell is re-run with a new body (same name)
    def compute(x: int, gate_path: str = "") -> tuple[str, int, int]:  # type: ignore[no-redef]  # noqa: F811
        return ("new", x * 3, os.getpid())

    new_task = cell_task(app, compute)
    assert new_task.task_id == task.task_id
    fresh = new_task(21)
    # Then new calls run the new code, while the old invocation is still running
    assert fresh.result_or(TIMEOUT_S) == ("new", 63, entry.pid)
    assert slow.status is S.RUNNING
    # And the old invocation finishes on its own version
    gate.touch()
    assert slow.result_or(TIMEOUT_S) == ("old", 10, entry.pid)
    assert slow.record.task_version is not None and fresh.record.task_version is not None
    assert slow.record.task_version != fresh.record.task_version

    assert launchers.stop_runner(app, entry.name) == "stopped"
    if kind != "thread":
        poll(lambda: not alive(entry.pid), timeout_s=TIMEOUT_S, message=f"the {kind} runner's process to end")


def test_kernel_runner_is_listed_with_its_kernel_id_and_stops(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    entry = launchers.start_runner(app, "kernel", name="bg")
    kernel_id = entry.kernel["kernel_id"]
    # Then the state file and the list show it by kernel id
    (row,) = launchers.list_runners(app)
    assert row["kind"] == "kernel" and row["kernel_id"] == kernel_id and row["state"] == "running"
    assert row["pid"] == entry.pid and alive(entry.pid)
    info = launchers.backend_runner(app, entry)
    assert info is not None and info.context.pid == entry.pid and row["runner_id"] == info.context.runner_id
    rendered = NotebookSession(lambda: {"app": app}).list_runners()
    assert rendered.grid[0][:3] == ["bg", "kernel", kernel_id[:8]]
    # When stopped: the runner stops gracefully, then the kernel is shut down
    started = time.monotonic()
    assert launchers.stop_runner(app, "bg") == "stopped"
    assert time.monotonic() - started < app.conf.graceful_stop_timeout_s, "stopping must not wait out a timeout"
    assert not alive(entry.pid)
    info = launchers.backend_runner(app, entry)
    assert info is not None and info.state == "stopped"
    assert LaunchedRunners().all() == []


# A line of a runner's log in the text format (pynenc_nb/logs.py): local time with offset, level, logger
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}(?:[+-]\d\d:\d\d)? [A-Z]+ +\S+ ")


def test_a_kernel_runners_log_has_every_line_in_the_process_runners_format(make_app: Callable[..., Pynenc]) -> None:
    from jupyter_client import BlockingKernelClient

    app = make_app()

    def noisy() -> str:
        import logging
        import warnings

        logging.getLogger("somelib").warning("a library's warning")
        warnings.warn("a warning from the task", UserWarning, stacklevel=1)
        return "done"

    task = cell_task(app, noisy)
    # Given a runner in a background kernel that ran a task logging through other loggers
    entry = launchers.start_runner(app, "kernel", name="loud")
    assert task().result_or(TIMEOUT_S) == "done"
    # And ipykernel itself logged (a comm opened to a target the kernel does not know)
    client = BlockingKernelClient(connection_file=entry.kernel["connection_file"])
    client.load_connection_file()
    client.start_channels()
    try:
        content = {"comm_id": "no-such-comm", "target_name": "no.such.target", "data": {}}
        client.shell_channel.send(client.session.msg("comm_open", content))
        assert entry.log_file is not None
        log = Path(entry.log_file)
        poll(lambda: "no.such.target" in log.read_text(), TIMEOUT_S, message="ipykernel's line in the runner's log")
    finally:
        client.stop_channels()
        launchers.stop_runner(app, "loud")
    # Then each of these lines is in pynenc's format, like a process runner's
    lines = Path(entry.log_file).read_text().splitlines()
    for needle, logger in [
        ("a library's warning", "somelib"),
        ("a warning from the task", "py.warnings"),
        ("no.such.target", "ipykernel"),
    ]:
        (line, *_) = [line for line in lines if needle in line] or [f"no line with {needle!r} in {lines}"]
        assert LOG_LINE.match(line) and f" {logger}" in line, line
    # And no line is in ipykernel's own format ("[IPKernelApp] WARNING | ...")
    assert [line for line in lines if re.match(r"^\[\w+\] [A-Z]+ \| ", line)] == []


def test_process_runner_uses_the_notebook_apps_settings(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(max_pending_seconds=33.0)

    def settings() -> dict[str, Any]:
        conf = app.conf  # the app travels by reference: this is the runner's own app of that id
        return {"pid": os.getpid(), "backend_url": conf.backend_url, "max_pending_seconds": conf.max_pending_seconds}

    task = cell_task(app, settings)
    entry = launchers.start_runner(app, "process")
    assert task().result_or(TIMEOUT_S) == {
        "pid": entry.pid,
        "backend_url": app.conf.backend_url,
        "max_pending_seconds": 33.0,
    }
    launchers.stop_all(app)


@pytest.mark.parametrize("kind", ["process", "kernel"])
def test_a_cell_task_calling_cell_tasks_runs_with_nothing_called_first_and_sees_their_redefinition(
    make_app: Callable[..., Pynenc], kind: str
) -> None:
    app = make_app()

    def square(x: int) -> int:
        return x * x

    square_task = cell_task(app, square)

    def cube(x: int) -> int:
        return x * x * x

    cube_task = cell_task(app, cube)

    def helper(n: int) -> int:  # a plain cell function between the two tasks
        return sum(cube_task.parallelize([(i,) for i in range(n)]).results)

    helper.__module__ = "__main__"

    def total(n: int) -> int:
        return sum(square_task(i).result for i in range(n)) + helper(n)

    total_task = cell_task(app, total)
    # Given a runner, and inner tasks never called from "the notebook"
    entry = launchers.start_runner(app, kind, workers=2, name=f"{kind}-nested")
    # Then the outer task runs, calling both (directly, and through a plain function and parallelize)
    assert total_task(4).result_or(TIMEOUT_S) == (0 + 1 + 4 + 9) + (0 + 1 + 8 + 27)

    # When an inner task's cell is re-run with a new body, and the outer task is called again
    def square(x: int) -> int:  # type: ignore[no-redef]  # noqa: F811
        return -x

    cell_task(app, square)
    # Then the runner uses the new inner code for the new calls, without a restart
    assert total_task(4).result_or(TIMEOUT_S) == -(0 + 1 + 2 + 3) + (0 + 1 + 8 + 27)
    assert launchers.stop_runner(app, entry.name) == "stopped"


def test_a_task_that_cannot_be_found_says_what_to_do_in_a_notebook(make_app: Callable[..., Pynenc]) -> None:
    from pynenc_nb.exceptions import TaskNotFoundError

    app = make_app()
    with pytest.raises(TaskNotFoundError) as raised:
        app.get_task("__main__.never_defined")
    message = str(raised.value)
    assert "re-run the cell that defines it" in message and "import the module" in message


def test_a_traceback_from_shipped_cell_code_shows_the_cell_lines(make_app: Callable[..., Pynenc]) -> None:
    import linecache

    app = make_app()
    # Given a function compiled from a "cell" whose source only this process knows (as IPython
    # keeps a cell's source in linecache under a made-up file name)
    source = "def explode(x):\n    total = x * 2\n    raise ValueError(f'cell says {total}')\n"
    filename = f"<cell-{os.getpid()}-{time.time_ns()}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)
    task = cell_task(app, namespace["explode"])
    entry = launchers.start_runner(app, "process", workers=1, name="tracer")
    # When it fails on a runner in another process
    with pytest.raises(ValueError, match="cell says 4") as raised:
        task(2).result_or(TIMEOUT_S)
    # Then the runner's traceback shows the cell's lines
    remote = "\n".join(getattr(raised.value, "__notes__", []))
    assert filename in remote and "raise ValueError(f'cell says {total}')" in remote
    assert launchers.stop_runner(app, entry.name) == "stopped"


def test_a_traceback_through_a_helper_of_another_cell_shows_that_cells_lines(
    make_app: Callable[..., Pynenc],
) -> None:
    import linecache

    app = make_app()
    namespace: dict[str, Any] = {"__name__": "__main__"}

    def cell(source: str) -> str:
        filename = f"<cell-{os.getpid()}-{time.time_ns()}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        exec(compile(source, filename, "exec"), namespace)
        return filename

    # Given a plain helper in one cell, and a task in another cell that calls it
    helper_cell = cell(
        "def check(x):\n    limit = 3\n    if x > limit:\n        raise ValueError(f'{x} over {limit}')\n"
    )
    cell("def guarded(x):\n    check(x)\n    return x\n")
    task = cell_task(app, namespace["guarded"])
    entry = launchers.start_runner(app, "process", workers=1, name="helper-tracer")
    # When the helper raises on a runner in another process
    with pytest.raises(ValueError, match="5 over 3") as raised:
        task(5).result_or(TIMEOUT_S)
    # Then the runner's traceback shows the helper's cell lines too
    remote = "\n".join(getattr(raised.value, "__notes__", []))
    assert helper_cell in remote and "raise ValueError(f'{x} over {limit}')" in remote
    assert launchers.stop_runner(app, entry.name) == "stopped"
