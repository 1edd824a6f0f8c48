"""A runner process killed by the kernel's OOM killer is recovered like one killed with kill -9.

The runner runs in a memory cgroup of its own (cgroup v1 here, v2 where the machine has it) with a
limit below what its task allocates; the kernel, not the test, kills it. Another runner then finds
it dead by its heartbeats and runs its invocations again.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from pynenc_nb.records import new_id
from tests.conftest import skip_or_fail
from tests.guarantees.support import TIMEOUT_S, runner_context, runner_processes, statuses
from tests.support.processes import poll

pytestmark = pytest.mark.slow
S = InvocationStatus
LIMIT_MB = 256
HOG_MB = 512  # over the limit inside the cgroup; harmless for the runner that runs it again
RECOVERY_BUDGET_S = 15.0  # as for kill -9, with the default liveness settings


class MemoryCgroup:
    """A child of this process's memory cgroup, with a limit; processes are moved in by pid."""

    def __init__(self, path: Path, files: tuple[str, ...]) -> None:
        self.path = path
        self.limit_file, *self.other_limits = files

    @classmethod
    def create(cls, limit_bytes: int) -> MemoryCgroup:
        name = f"pynenc-oom-{new_id()[:8]}"
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        v1 = [where for _, controllers, where in (line.split(":", 2) for line in lines) if "memory" in controllers]
        files: tuple[str, ...]
        if v1:  # the memory controller's own hierarchy
            path = Path("/sys/fs/cgroup/memory") / v1[0].lstrip("/") / name
            files = ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
        else:  # the unified hierarchy: the "0::" line
            unified = next(line.split("::", 1)[1] for line in lines if line.startswith("0::"))
            path = Path("/sys/fs/cgroup") / unified.lstrip("/") / name
            files = ("memory.max", "memory.swap.max")
        path.mkdir()
        group = cls(path, files)
        (path / group.limit_file).write_text(str(limit_bytes))
        for other in group.other_limits:  # no swap to escape to (v1: after the memory limit)
            if (path / other).exists():
                (path / other).write_text(str(limit_bytes) if other.startswith("memory.memsw") else "0")
        return group

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer ended in this group."""
        for name in ("memory.oom_control", "memory.events"):
            events = self.path / name
            if events.exists():
                for line in events.read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0

    def remove(self) -> None:
        for _ in range(50):  # the killed process leaves the group once reaped
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


@pytest.fixture
def memory_cgroup() -> Iterator[MemoryCgroup]:
    try:
        group = MemoryCgroup.create(LIMIT_MB << 20)
    except OSError as exc:
        skip_or_fail(f"cannot create a memory cgroup: {exc}", "run the tests as root with cgroups mounted")
    try:
        yield group
    finally:
        group.remove()


def test_a_runner_killed_by_the_oom_killer_is_recovered_like_kill_9(
    tasks_module: Any, shared_env: dict[str, str], tmp_path: Path, memory_cgroup: MemoryCgroup
) -> None:
    app = tasks_module.app
    release = tmp_path / "release"
    # Given a runner process in a memory cgroup limited to 256 MB, running a task
    with runner_processes(app, shared_env, 1, "--runner-cls", "ThreadRunner", "--max-threads", "2") as (victim,):
        memory_cgroup.add(victim.pid)
        alongside = tasks_module.until_file_exists(str(release), 7)
        poll(lambda: alongside.status is S.RUNNING, timeout_s=TIMEOUT_S, message="the first task to start")
        lost = alongside.record.owner_id
        assert lost is not None and runner_context(app, lost).pid == victim.pid
        # When a second task of that runner allocates 512 MB: the kernel kills the runner process
        hog = tasks_module.hog(HOG_MB)
        victim.wait(TIMEOUT_S)
        killed_at = time.time()
        assert victim.returncode == -signal.SIGKILL
        assert memory_cgroup.oom_kills() >= 1, "killed by the OOM killer, not by anything else"
        assert hog.record.owner_id == lost, "the hog ran on the killed runner"
        # Then a runner started afterwards finds it dead and runs both invocations again
        release.touch()
        with runner_processes(app, shared_env, 1, "--runner-cls", "ThreadRunner", "--max-threads", "2"):
            assert alongside.result_or(TIMEOUT_S) == 7
            assert hog.result_or(TIMEOUT_S) == HOG_MB
    recovered_after_s = (
        max(c.at for inv in (alongside, hog) for c in inv.history() if c.status is S.RUNNING) - killed_at
    )
    print(f"\nOOM kill -> both invocations RUNNING again elsewhere after {recovered_after_s:.1f} s")
    assert recovered_after_s < RECOVERY_BUDGET_S + 5
    for invocation in (alongside, hog):
        history = statuses(app, invocation.invocation_id)
        assert history.count(S.RUNNING_RECOVERY) == 1 and history[-1] is S.SUCCESS, history
        assert history.count(S.SUCCESS) == 1
    states = {r.context.runner_id: r.state for r in app.state_backend.runners(include_stopped=True)}
    assert states[lost] == "lost"
