"""Helpers of the guarantee tests: runners for a ``with`` block, and reading stored histories."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence

from pynenc_nb import InvocationStatus, Pynenc, ThreadRunner
from pynenc_nb.conf.urls import scheme_of
from pynenc_nb.records import RunnerContext, StatusChange
from tests.support.processes import ROOT, poll

S = InvocationStatus
TIMEOUT_S = 30.0  # the longest any single wait may take (generous: the machine is shared)
APP_SPEC = ("--app", "tests.support.tasks_app:app", "runner", "start")


@contextlib.contextmanager
def running(app: Pynenc, max_threads: int = 1) -> Iterator[ThreadRunner]:
    """A ThreadRunner of this process for the duration of the block."""
    runner = ThreadRunner(app, max_threads=max_threads)
    thread = runner.start_in_thread()
    try:
        yield runner
    finally:
        runner.stop(timeout=TIMEOUT_S)
        assert not thread.is_alive(), "the runner did not stop"


def fibonacci_case(app: Pynenc) -> tuple[int, int, int]:
    """(n, fibonacci(n), calls of the recursion) for the recursive-blocking tests: fibonacci(10), 177
    calls, except on the MongoDB wire server of the test session (SecantusDB, written in Python),
    which serves a few hundred commands a second on two cores where mongod serves tens of
    thousands: there fibonacci(7), 41 calls, still seven levels deep against two slots."""
    if scheme_of(app.conf.backend_url) in ("mongodb", "mongodb+srv"):
        return 7, 13, 41
    return 10, 55, 177


def statuses(app: Pynenc, invocation_id: str) -> list[InvocationStatus]:
    return [change.status for change in app.state_backend.history(invocation_id)]


def first(history: Sequence[StatusChange], status: InvocationStatus) -> StatusChange:
    return next(change for change in history if change.status is status)


def running_intervals(app: Pynenc, invocation_ids: Iterable[str]) -> list[tuple[float, float, str]]:
    """Every RUNNING spell of these invocations as (start, end, invocation id), from their histories.

    A spell ends at the next status change; one still running ends at +inf.
    """
    spells: list[tuple[float, float, str]] = []
    for invocation_id in invocation_ids:
        history = app.state_backend.history(invocation_id)
        for index, change in enumerate(history):
            if change.status is S.RUNNING:
                end = history[index + 1].at if index + 1 < len(history) else float("inf")
                spells.append((change.at, end, invocation_id))
    return sorted(spells)


def overlapping(spells: Sequence[tuple[float, float, str]]) -> list[tuple[str, str]]:
    """Pairs of different invocations whose RUNNING spells overlap in time."""
    pairs = []
    for index, (start, end, first_id) in enumerate(spells):
        for other_start, other_end, other_id in spells[index + 1 :]:
            if other_id != first_id and other_start < end and start < other_end:
                pairs.append((first_id, other_id))
    return pairs


def pauses_resume_running(history: Sequence[InvocationStatus]) -> bool:
    """Every PAUSED in the history is followed by RUNNING (the waiter resumed)."""
    return all(
        history[index + 1] is S.RUNNING
        for index, status in enumerate(history)
        if status is S.PAUSED and index + 1 < len(history)
    ) and (not history or history[-1] is not S.PAUSED)


def runner_context(app: Pynenc, runner_id: str) -> RunnerContext:
    for info in app.state_backend.runners(include_stopped=True):
        if info.context.runner_id == runner_id:
            return info.context
    raise AssertionError(f"runner {runner_id} is not registered")


def top_level_runners(app: Pynenc) -> dict[str, RunnerContext]:
    """Runners started by a CLI process (not pool workers, not clients), by runner id."""
    return {
        info.context.runner_id: info.context
        for info in app.state_backend.runners()
        if info.state != "client" and info.context.parent_runner_id is None
    }


@contextlib.contextmanager
def runner_processes(
    app: Pynenc,
    env: Mapping[str, str],
    count: int,
    *args: str,
    registrations_each: int = 1,
    new_session: bool = False,
    prefix: Sequence[str] = (),
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` runner processes at once (``runner start ARGS``) and wait until all registered.

    ``new_session`` gives each its own process group, as a terminal does (Ctrl-C signals it all);
    ``prefix`` runs each under a wrapper command (``faketime -f +90s``).

    Leftovers are stopped with SIGTERM (SIGKILL if they do not stop) when the block ends.
    """
    before = {r.context.runner_id for r in app.state_backend.runners(include_stopped=True)}
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [*prefix, sys.executable, "-m", "pynenc_nb", *APP_SPEC, *args],
            env=full_env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=new_session,
        )
        for _ in range(count)
    ]
    try:

        def registered() -> bool:
            if any(p.poll() is not None for p in processes):
                raise AssertionError(f"a runner exited early: {[p.returncode for p in processes]}")
            fresh = {r.context.runner_id for r in app.state_backend.runners()} - before
            return len(fresh) >= count * registrations_each

        poll(registered, timeout_s=TIMEOUT_S, message=f"{count} runner processes to register")
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
