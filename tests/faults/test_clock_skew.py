"""Clocks that disagree: a runner whose clock is 90 s behind or ahead of the services holder's is
never declared dead while it heartbeats; one that stops is, after ``runner_dead_after_s`` measured
on the holder's own clock; and (Redis) two holders never share the lease (tests/backends). Once for
real: a runner process under ``faketime`` 90 s ahead."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.records import RunnerContext, RunnerInfo
from pynenc_nb.services import CLOCK_SKEW_TOLERANCE_S, Services
from tests.conftest import skip_or_fail
from tests.guarantees.support import runner_processes

DEAD_AFTER_S = 2.0


class Clock:
    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


def _runner(app: Pynenc, skew_s: float) -> str:
    context = RunnerContext.current("ThreadRunner")
    app.state_backend.put_runner(RunnerInfo(context, time.time() + skew_s, "running", 1, 0, "{}"))
    return context.runner_id


def _state_of(app: Pynenc, runner_id: str) -> str:
    return {r.context.runner_id: r.state for r in app.state_backend.runners(include_stopped=True)}[runner_id]


@pytest.mark.parametrize("skew_s", [-90.0, 90.0])
def test_a_heartbeating_runner_with_a_skewed_clock_is_never_declared_dead(
    make_app: Callable[..., Pynenc], skew_s: float
) -> None:
    app = make_app(runner_dead_after_s=DEAD_AFTER_S)
    clock = Clock()
    services = Services(app, RunnerContext.current("Holder"), monotonic=clock)
    runner_id = _runner(app, skew_s)
    for step in range(6):  # 6 ticks over 3 × runner_dead_after_s, the runner beating each time
        clock.at = step * DEAD_AFTER_S / 2
        app.state_backend.heartbeat(runner_id, time.time() + skew_s, 0, "running")
        assert services.recover_dead_runners(time.time()) == 0
        assert _state_of(app, runner_id) == "running"


def test_a_runner_that_stops_heartbeating_is_declared_dead_on_the_holders_clock(
    make_app: Callable[..., Pynenc],
) -> None:
    app = make_app(runner_dead_after_s=DEAD_AFTER_S)
    clock = Clock()
    services = Services(app, RunnerContext.current("Holder"), monotonic=clock)
    runner_id = _runner(app, -90.0)  # its last beat looks 90 s old to the holder: not evidence
    services.recover_dead_runners(time.time())
    assert _state_of(app, runner_id) == "running"
    clock.at = DEAD_AFTER_S - 0.1
    services.recover_dead_runners(time.time())
    assert _state_of(app, runner_id) == "running"
    clock.at = DEAD_AFTER_S + 0.1  # silent for longer than runner_dead_after_s by the holder's clock
    services.recover_dead_runners(time.time())
    assert _state_of(app, runner_id) == "lost"


def test_a_runner_silent_far_beyond_any_clock_skew_is_declared_dead_at_once(
    make_app: Callable[..., Pynenc],
) -> None:
    app = make_app(runner_dead_after_s=DEAD_AFTER_S)
    services = Services(app, RunnerContext.current("Holder"), monotonic=Clock())
    runner_id = _runner(app, -(CLOCK_SKEW_TOLERANCE_S + DEAD_AFTER_S + 60))
    services.recover_dead_runners(time.time())
    assert _state_of(app, runner_id) == "lost"


FAKETIME_LIVENESS = {
    "PYNENC__RUNNER_HEARTBEAT_INTERVAL_S": "0.5",
    "PYNENC__RUNNER_DEAD_AFTER_S": "2",
    "PYNENC__SERVICES_INTERVAL_S": "0.5",
}


@pytest.mark.slow
def test_a_runner_process_under_faketime_90_s_ahead_shares_the_work_and_is_never_declared_dead(
    tasks_module: Any, shared_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The injectable clocks above, checked once for real: Debian's libfaketime moves the wall
    clock of one runner process 90 s ahead."""
    libraries = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not libraries:
        skip_or_fail("libfaketime is not installed", "apt-get install -y faketime")
    # libfaketime preloaded straight into the runner (``env`` execs it: the pid is the runner's, as
    # the test's stop signals need), wall clock only: two machines' monotonic clocks are unrelated
    # anyway, and a faked monotonic clock makes every timed wait of the process last 90 s longer.
    ahead = ("env", f"LD_PRELOAD={libraries[0]}", "FAKETIME=+90s", "FAKETIME_DONT_FAKE_MONOTONIC=1")
    for key, value in FAKETIME_LIVENESS.items():
        monkeypatch.setenv(key, value)
    app = tasks_module.app
    env = {**shared_env, **FAKETIME_LIVENESS}
    one_slot = ("--runner-cls", "ThreadRunner", "--max-threads", "1")
    # Given a runner on the machine's clock and one whose clocks are 90 s ahead
    with (
        runner_processes(app, env, 1, *one_slot),
        runner_processes(app, env, 1, *one_slot, prefix=ahead),
    ):
        skews = sorted(r.last_heartbeat - time.time() for r in app.state_backend.runners())
        assert len(skews) == 2 and abs(skews[0]) < 5 and skews[1] > 80, f"faketime moved one clock: {skews}"
        # When they share a run of 40 calls and go on heartbeating for three times runner_dead_after_s
        # (not sleep_then: under libfaketime 0.9.10, Python's time.sleep fails with EINVAL)
        group = tasks_module.wait_then.parallelize([(0.02, i) for i in range(40)])
        assert sorted(group.iter_results(timeout=60.0)) == list(range(40))
        time.sleep(6.0)
        # Then both ran calls, neither was declared dead, and no call was recovered or run twice
        states = {r.context.runner_id: r.state for r in app.state_backend.runners(include_stopped=True) if r.slots}
        assert list(states.values()) == ["running", "running"], states
        owners = set()
        for invocation in group:
            history = app.state_backend.history(invocation.invocation_id)
            statuses = [c.status for c in history]
            assert statuses.count(InvocationStatus.RUNNING) == 1 and InvocationStatus.RUNNING_RECOVERY not in statuses
            owners.update(c.owner_id for c in history if c.status is InvocationStatus.RUNNING)
        assert owners == set(states), "each runner ran some of the calls"
