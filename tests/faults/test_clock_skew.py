"""Clocks that disagree: a runner whose clock is 90 s behind or ahead of the services holder's is
never declared dead while it heartbeats; one that stops is, after ``runner_dead_after_s`` measured
on the holder's own clock; and (Redis) two holders never share the lease (tests/backends)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.records import RunnerContext, RunnerInfo
from pynenc_nb.services import CLOCK_SKEW_TOLERANCE_S, Services

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
