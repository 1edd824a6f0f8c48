"""Payload limits: an argument over ``payload_max_bytes`` is refused at call time with nothing
stored; one over ``payload_warn_bytes`` warns; a result over the limit ends the invocation FAILED
with the error, never stuck RUNNING."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.exceptions import PayloadTooLargeError, PynencWarning
from pynenc_nb.records import InvocationFilter


def test_an_argument_over_the_hard_limit_is_refused_and_nothing_is_stored(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(payload_max_bytes=10_000, payload_warn_bytes=5_000, arg_cache_min_bytes=1_000)

    @app.task
    def take(blob: str) -> int:
        return len(blob)

    with pytest.raises(
        PayloadTooLargeError, match=r"argument 'blob' of task .*take.* payload_max_bytes=10000"
    ) as raised:
        take("x" * 20_000)
    assert raised.value.size > 10_000 and raised.value.limit == 10_000
    records, _ = app.state_backend.query(InvocationFilter())
    assert records == [], "nothing registered"


def test_an_argument_over_the_soft_limit_warns_and_runs(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(payload_max_bytes=100_000, payload_warn_bytes=5_000, dev_mode_force_sync_tasks=True)

    @app.task
    def take(blob: str) -> int:
        return len(blob)

    with pytest.warns(PynencWarning, match=r"argument 'blob' .* payload_warn_bytes=5000"):
        invocation = take("y" * 8_000)
    assert invocation.result == 8_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert take("small").result == 5


def test_a_result_over_the_hard_limit_ends_failed(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(payload_max_bytes=10_000)

    @app.task
    def make(n: int) -> str:
        return "z" * n

    app.runner.start_in_thread()
    try:
        invocation = make(50_000)
        with pytest.raises(PayloadTooLargeError, match="result"):
            invocation.result_or(30)
        assert invocation.status is InvocationStatus.FAILED
        assert make(10).result_or(30) == "z" * 10
    finally:
        app.runner.stop()
