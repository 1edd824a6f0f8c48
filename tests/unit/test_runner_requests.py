"""A stop asked through the backend (a remote runner's only way to be stopped) is obeyed within a
heartbeat and its request removed: no key is left behind per stopped runner."""

from __future__ import annotations

from collections.abc import Callable

from pynenc_nb import Pynenc
from pynenc_nb.records import RUNNER_REQUESTS_NAMESPACE


def test_a_stop_request_is_obeyed_and_then_deleted(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(runner_heartbeat_interval_s=0.1)
    runner = app.runner
    runner.start_in_thread()
    app.state_backend.kv_put(RUNNER_REQUESTS_NAMESPACE, runner.runner_id, "stop")

    assert runner.wait_stopped(10), "the runner obeys a stop asked through the backend"
    assert app.state_backend.kv_get(RUNNER_REQUESTS_NAMESPACE, runner.runner_id) is None
    assert runner.runner_id not in app.state_backend.kv_keys(RUNNER_REQUESTS_NAMESPACE)
