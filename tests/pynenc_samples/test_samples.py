"""pynenc's public samples, re-told in our words with only the import root changed: the threaded
runner in a thread, auto-orchestration, concurrency control with NamedTuple results, the
direct_task demo (sync and distributed, every ``parallel_func`` form, async) and the unittest
pattern with a runner thread per test."""

from __future__ import annotations

import asyncio
import threading
import time
import unittest
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pynenc_nb import ConcurrencyControlType, InvocationStatus, Pynenc
from pynenc_nb.records import InvocationFilter, new_id
from tests.support.oracle import assert_histories_valid

S = InvocationStatus


class Reading(NamedTuple):
    sensor: str
    value: float


@pytest.fixture
def new_app(tmp_path: Path) -> Iterator[Callable[..., Pynenc]]:
    """Apps on a SQLite file of the test, closed and oracle-checked after it."""
    apps: list[Pynenc] = []

    def make(**values: Any) -> Pynenc:
        values = {
            "app_id": f"sample-{new_id()[:8]}",
            "backend_url": f"sqlite://{tmp_path / 'samples.db'}",
            "logging_level": "warning",
            **values,
        }
        app = Pynenc(config_values=values)
        apps.append(app)
        return app

    yield make
    for app in apps:
        try:
            assert_histories_valid(app)
        finally:
            app.close()


def _runner_thread(app: Pynenc) -> threading.Thread:
    """pynenc's pattern: ``app.runner.run()`` blocks in a thread of its own."""
    thread = threading.Thread(target=app.runner.run, daemon=True)
    thread.start()
    return thread


def _stop(app: Pynenc, thread: threading.Thread) -> None:
    app.runner.stop_runner_loop()
    thread.join(10)
    assert not thread.is_alive()


def test_auto_orchestration_fibonacci_pauses_parents_and_completes_on_two_threads(
    new_app: Callable[..., Pynenc],
) -> None:
    app = new_app(max_threads=2)

    @app.task
    def fibonacci(n: int) -> int:
        if n <= 1:
            return n
        return fibonacci(n - 1).result + fibonacci(n - 2).result

    thread = _runner_thread(app)
    try:
        root = fibonacci(8)
        assert root.result == 21
    finally:
        _stop(app, thread)
    assert S.PAUSED in [c.status for c in root.history()], "the parent waited without holding a thread"


def test_concurrency_control_runs_one_at_a_time_and_returns_named_tuples(new_app: Callable[..., Pynenc]) -> None:
    app = new_app(max_threads=4)
    running = 0
    most = 0
    lock = threading.Lock()

    @app.task(running_concurrency=ConcurrencyControlType.TASK)
    def read_sensor(sensor: str) -> Reading:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return Reading(sensor, float(len(sensor)))

    thread = _runner_thread(app)
    try:
        group = read_sensor.parallelize([("a",), ("bb",), ("ccc",)])
        readings = sorted(group.results, key=lambda r: r.sensor)
    finally:
        _stop(app, thread)
    assert most == 1, "running_concurrency=TASK: never two at once"
    assert readings == [Reading("a", 1.0), Reading("bb", 2.0), Reading("ccc", 3.0)]
    assert all(type(r) is Reading for r in readings), "a NamedTuple comes back as itself"


def _report_tasks(app: Pynenc) -> dict[str, Any]:
    """The direct_task demo: one report per period, a batch split over the periods three ways."""

    def build(period: str, currency: str = "EUR") -> dict[str, Any]:
        return {"period": period, "currency": currency, "orders": len(period) * 10}

    @app.direct_task
    def report(period: str) -> dict[str, Any]:
        return build(period)

    @app.direct_task(
        parallel_func=lambda args: [{"period": p} for p in args["periods"]],
        aggregate_func=sum,
    )
    def orders_by_list(periods: tuple[str, ...] = (), period: str = "") -> int:
        return int(build(period)["orders"])

    @app.direct_task(
        parallel_func=lambda args: ({"currency": args["currency"]}, [{"period": p} for p in args["periods"]]),
        aggregate_func=lambda results: [r["currency"] for r in results],
    )
    def currencies_by_pair(periods: tuple[str, ...] = (), currency: str = "EUR", period: str = "") -> dict[str, Any]:
        return build(period, currency)

    @app.direct_task(
        parallel_func=lambda args: {"common_args": {"currency": "USD"}, "param_iter": [{"period": "Q1"}]},
        aggregate_func=lambda results: results,
    )
    def by_mapping(currency: str = "EUR", period: str = "") -> dict[str, Any]:
        return build(period, currency)

    @app.direct_task
    async def report_async(period: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return build(period)

    return {
        "report": report,
        "orders_by_list": orders_by_list,
        "currencies_by_pair": currencies_by_pair,
        "by_mapping": by_mapping,
        "report_async": report_async,
    }


def _check_reports(tasks: dict[str, Any]) -> None:
    assert tasks["report"]("Q1-2025") == {"period": "Q1-2025", "currency": "EUR", "orders": 70}
    assert tasks["orders_by_list"](("Q1", "Q22")) == 50
    assert tasks["currencies_by_pair"](("Q1", "Q2", "Q3"), "GBP") == ["GBP", "GBP", "GBP"]
    assert tasks["by_mapping"]() == [{"period": "Q1", "currency": "USD", "orders": 20}]

    async def caller() -> tuple[dict[str, Any], int]:
        ticks = 0

        async def tick() -> None:  # the loop keeps running while the direct task is awaited
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.ensure_future(tick())
        value = await tasks["report_async"]("Q4")
        ticker.cancel()
        return value, ticks

    value, ticks = asyncio.run(caller())
    assert value == {"period": "Q4", "currency": "EUR", "orders": 20}
    assert ticks > 0


def test_direct_task_demo_in_sync_mode(new_app: Callable[..., Pynenc]) -> None:
    app = new_app(dev_mode_force_sync_tasks=True)
    tasks = _report_tasks(app)
    assert asyncio.iscoroutine(coroutine := tasks["report_async"]("Q1"))
    coroutine.close()
    _check_reports(tasks)


def test_direct_task_demo_distributed(new_app: Callable[..., Pynenc]) -> None:
    app = new_app(max_threads=4)
    tasks = _report_tasks(app)
    thread = _runner_thread(app)
    try:
        _check_reports(tasks)
    finally:
        _stop(app, thread)
    records, _ = app.state_backend.query(InvocationFilter(), limit=100)
    assert len(records) == 1 + 2 + 3 + 1 + 1, "each call and each part ran as its own invocation"


def test_the_unittest_pattern_with_a_runner_thread_per_test(new_app: Callable[..., Pynenc]) -> None:
    app = new_app()

    @app.task
    def double(x: int) -> int:
        return 2 * x

    class DoubleTests(unittest.TestCase):
        def setUp(self) -> None:
            self.thread = threading.Thread(target=app.runner.run, daemon=True)
            self.thread.start()

        def tearDown(self) -> None:
            app.runner.stop_runner_loop()
            self.thread.join(10)

        def test_one(self) -> None:
            self.assertEqual(double(2).result, 4)

        def test_many(self) -> None:
            self.assertEqual(sorted(double.parallelize([(1,), (2,), (3,)]).results), [2, 4, 6])

    outcome = unittest.TextTestRunner(stream=open("/dev/null", "w"), verbosity=0).run(  # noqa: SIM115
        unittest.defaultTestLoader.loadTestsFromTestCase(DoubleTests)
    )
    assert outcome.wasSuccessful(), outcome.failures + outcome.errors
    assert outcome.testsRun == 2
    assert app.runner.stopped
