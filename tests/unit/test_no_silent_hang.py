"""Waiting on a call nobody will run says so: a warning after a few seconds, once per queue."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator

import pytest

from pynenc_nb import Pynenc, waiting
from pynenc_nb.exceptions import InvocationTimeoutError, NoRunnerWarning
from pynenc_nb.runners.thread import ThreadRunner
from tests.support.processes import poll


@contextlib.contextmanager
def serving(app: Pynenc, queues: tuple[str, ...] | None = None) -> Iterator[None]:
    runner = ThreadRunner(app, max_threads=1, queues=queues)
    runner.start_in_thread()
    try:
        poll(lambda: bool(app.state_backend.runners()), timeout_s=10, message="the runner to register")
        yield
    finally:
        runner.stop(timeout=10)


@pytest.fixture(autouse=True)
def _soon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "SLOW_AFTER_S", 0.2)
    waiting.forget_warnings()


def test_waiting_with_no_runner_warns_once_and_keeps_waiting(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task(queue="reports")
    def report(x: int) -> int:
        return x

    call = report(1)
    with pytest.warns(NoRunnerWarning) as caught, pytest.raises(InvocationTimeoutError):
        call.wait(timeout=0.6)  # still waits until its own timeout
    (warning,) = caught
    message = str(warning.message)
    assert "queue 'reports'" in message and repr(app.app_id) in message
    assert "%pynenc runner start" in message and "pynenc runner start" in message
    # Once: a second wait on the same queue does not warn again
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoRunnerWarning)
        with pytest.raises(InvocationTimeoutError):
            report(2).wait(timeout=0.5)


def test_a_runner_serving_the_queue_means_no_warning(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task
    def slow(x: int) -> int:
        import time

        time.sleep(0.6)
        return x

    with serving(app), warnings.catch_warnings():
        warnings.simplefilter("error", NoRunnerWarning)
        assert slow(3).result_or(10) == 3


def test_a_runner_of_other_queues_does_not_count(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task(queue="gpu")
    def train(x: int) -> int:
        return x

    with (
        serving(app, ("default",)),
        pytest.warns(NoRunnerWarning, match="queue 'gpu'"),
        pytest.raises(InvocationTimeoutError),
    ):
        train(1).wait(timeout=0.6)


@pytest.mark.parametrize("with_tqdm", [False, True])
def test_wait_interactive_outside_a_notebook_draws_a_text_bar(
    make_app: Callable[..., Pynenc],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    with_tqdm: bool,
) -> None:
    from pynenc_nb.invocation import handle as invocation

    if not with_tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # as if it were not installed
    app = make_app()

    @app.task
    def inc(x: int) -> int:
        return x + 1

    group = inc.parallelize([(i,) for i in range(8)])
    shown, invocation._show_progress = invocation._show_progress, None
    try:
        with serving(app):
            group.wait_interactive(timeout=30)
    finally:
        invocation._show_progress = shown
    err = capsys.readouterr().err
    if with_tqdm:
        assert "100%" in err and "8/8" in err and "inc" in err, err  # tqdm's own bar
    else:
        assert "[" in err and "8/8" in err.splitlines()[-1] and "done 8" in err
    assert all(inv.status.is_final for inv in group)


def test_a_wait_on_invocations_the_backend_lost_ends_with_a_typed_error(
    make_app: Callable[..., Pynenc], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynenc_nb import waiting
    from pynenc_nb.exceptions import InvocationNotFoundError

    monkeypatch.setattr(waiting, "VANISHED_CHECK_S", 0.3)
    app = make_app()

    @app.task
    def never_run(x: int) -> int:
        return x

    single, group = never_run(1), never_run.parallelize([(2,), (3,)])
    # When the backend loses them (purged; a Redis restarted without persistence looks the same)
    app.state_backend.purge()
    # Then the waits end with an error that says so instead of waiting forever
    with pytest.raises(InvocationNotFoundError, match="no longer exists"):
        single.result_or(30)
    with pytest.raises(InvocationNotFoundError, match="no longer exists"):
        list(group.iter_results(timeout=30))
