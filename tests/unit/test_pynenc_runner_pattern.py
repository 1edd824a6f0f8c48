"""pynenc's own pattern, import root changed: ``app.runner.run()`` blocking in a thread, then
``app.runner.stop_runner_loop()`` from the test's thread; nothing is left running."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pynenc_nb import Pynenc


def test_run_in_a_thread_then_stop_runner_loop(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    before = {t.ident for t in threading.enumerate()}
    thread = threading.Thread(target=app.runner.run, daemon=True)
    thread.start()
    assert add(1, 2).result == 3
    app.runner.stop_runner_loop()
    thread.join(10)
    assert not thread.is_alive()
    assert app.runner.stopped
    # the app's own backend threads (SQLite's checkpointer, pymongo's monitors and the MongoDB change
    # stream) live until app.close(); no runner thread is left
    backend_threads = ("sqlite", "pymongo", "pynenc-mongo")
    leftovers = [
        t.name
        for t in threading.enumerate()
        if t.ident not in before and not any(name in t.name for name in backend_threads)
    ]
    assert leftovers == []
    assert all(r.state == "stopped" for r in app.state_backend.runners(include_stopped=True) if r.state != "client")


def test_a_multithread_runner_sized_by_pynenc_variables_runs_a_nested_call_with_one_slot(
    tasks_module: object, shared_env: dict[str, str]
) -> None:
    from tests.support.processes import runner_process

    env = {
        **shared_env,
        "PYNENC__MIN_PROCESSES": "1",
        "PYNENC__MAX_PROCESSES": "1",
        "PYNENC__MAX_THREADS": "1",
    }
    app = tasks_module.app  # type: ignore[attr-defined]
    with runner_process(app, env, "--runner-cls", "MultiThreadRunner"):
        assert tasks_module.fibonacci(5).result == 5  # type: ignore[attr-defined]
        (runner,) = [r for r in app.state_backend.runners() if r.context.runner_cls == "MultiThreadRunner"]
        assert runner.slots == 1
