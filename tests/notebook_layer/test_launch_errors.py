"""Launching runners fails with clear errors, and remote command templates run as argument lists."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from kernel_magics import launchers
from pynenc_nb import Pynenc
from pynenc_nb.exceptions import ConfigError, RunnerError
from pynenc_nb.launched_runners import LaunchedRunners
from tests.notebook_layer.support import TIMEOUT_S, alive, cell_task

FAILING_COMMAND = '{python} -c "import sys; sys.stderr.write(\\"boom-xyz\\"); sys.exit(3)"'


def test_unknown_kind_names_the_kinds(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    with pytest.raises(ConfigError, match=r"unknown runner kind 'k8s': use one of thread, process, kernel, remote"):
        launchers.start_runner(app, "k8s")
    assert LaunchedRunners().all() == []


def test_unknown_runner_class_names_the_classes(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    with pytest.raises(ConfigError, match=r"unknown runner class 'FastRunner': use one of ThreadRunner"):
        launchers.start_runner(app, "process", runner_cls="FastRunner")
    assert LaunchedRunners().all() == []


def test_remote_without_command_says_how_to_give_one(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    with pytest.raises(ConfigError, match=r"a remote runner needs --command, e.g. --command 'ssh HOST"):
        launchers.start_runner(app, "remote")
    assert LaunchedRunners().all() == []


def test_remote_command_with_an_unknown_placeholder_names_the_known_ones(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    with pytest.raises(ConfigError, match=r"unknown placeholder 'host' in --command; use \{python\}, \{app_id\}"):
        launchers.start_runner(app, "remote", command="ssh {host} {python} -m pynenc_nb {runner_args}")


def test_remote_command_that_exits_at_once_reports_its_exit_code_and_stderr(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    with pytest.raises(RunnerError) as caught:
        launchers.start_runner(app, "remote", command=FAILING_COMMAND, name="doomed")
    message = str(caught.value)
    assert "runner 'doomed' exited at once with code 3" in message
    assert "boom-xyz" in message
    # It is not listed as running, and the name is free again
    assert [(row["name"], row["state"]) for row in launchers.list_runners(app)] == [("doomed", "gone")]
    with pytest.raises(RunnerError, match=r"exited at once with code 3"):
        launchers.start_runner(app, "remote", command=FAILING_COMMAND, name="doomed")


def test_remote_command_template_runs_a_real_runner(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    def where() -> int:
        return os.getpid()

    task = cell_task(app, where)
    # Given a command template (here a local one; over ssh it is `ssh HOST {python} ...`)
    entry = launchers.start_runner(app, "remote", command="{python} -m pynenc_nb {runner_args}", name="far")
    assert entry.command[1:3] == ["-m", "pynenc_nb"] and "--stop-with-pid" in entry.command
    # Then it runs the notebook's tasks and is listed and stopped like any runner
    assert task().result_or(TIMEOUT_S) == entry.pid
    assert [(row["name"], row["kind"], row["state"]) for row in launchers.list_runners(app)] == [
        ("far", "remote", "running")
    ]
    assert launchers.stop_runner(app, "far") == "stopped"
    assert not alive(entry.pid)


def test_a_running_name_cannot_be_reused_until_it_stops(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    first = launchers.start_runner(app, "thread", name="dup")
    with pytest.raises(RunnerError, match=r"a runner named 'dup' is already running; stop it or choose another --name"):
        launchers.start_runner(app, "process", name="dup")
    # the first one is untouched
    assert [(row["name"], row["kind"], row["state"]) for row in launchers.list_runners(app)] == [
        ("dup", "thread", "running")
    ]
    assert launchers.stop_runner(app, "dup") == "stopped"
    again = launchers.start_runner(app, "thread", name="dup")
    assert again.started_at >= first.started_at
    assert launchers.stop_runner(app, "dup") == "stopped"


def test_stopping_an_unknown_name_lists_the_known_ones(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    launchers.start_runner(app, "thread", name="known")
    with pytest.raises(RunnerError, match=r"no launched runner named 'ghost' \(known: known\)"):
        launchers.stop_runner(app, "ghost")
    launchers.stop_all(app)


def test_tail_returns_the_last_lines_of_a_runner_log(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    entry = launchers.start_runner(app, "thread", name="t")
    assert entry.log_file is not None
    with open(entry.log_file, "a") as log:
        log.writelines(f"row {i}\n" for i in range(100))
    assert launchers.tail(entry, 4) == "row 96\nrow 97\nrow 98\nrow 99\n"
    os.remove(entry.log_file)
    assert launchers.tail(entry, 4) == "(no log)"
    launchers.stop_all(app)


def test_a_remote_runner_with_no_local_process_is_listed_and_stopped_through_its_backend(
    make_app: Callable[..., Pynenc],
) -> None:
    from pynenc_nb.launched_runners import LaunchedRunners

    app = make_app(runner_heartbeat_interval_s=0.2)
    entry = launchers.start_runner(
        app, "remote", command="{python} -m pynenc_nb {runner_args}", name="elsewhere", detach=True
    )
    # Given a kernel that has no process of it to watch or signal (its ssh is gone, another kernel)
    remote = launchers.default_launchers().remote
    process = remote.popens.pop("elsewhere")
    remote.detached.discard("elsewhere")
    state_file = LaunchedRunners()
    stored = state_file.get("elsewhere")
    assert stored is not None
    stored.pid = 2**22 + 12345  # no such local process
    state_file.put(stored)
    try:
        # Then it is listed from its heartbeats
        (row,) = [r for r in launchers.list_runners(app) if r["name"] == "elsewhere"]
        assert row["state"] == "running"
        # And a stop reaches it through its backend record, within a heartbeat or two
        assert launchers.stop_runner(app, "elsewhere", timeout_s=20) == "stopped"
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert entry.name == "elsewhere"
