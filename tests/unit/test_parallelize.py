"""``task.parallelize``: every input form, results in completion order, group status counts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from pynenc_nb import InvocationGroup, InvocationStatus, Pynenc
from tests.unit.runner_support import running

S = InvocationStatus
TIMEOUT_S = 60.0


def test_every_input_form(app: Pynenc) -> None:
    @app.task
    def add(a: int, b: int = 0) -> int:
        return a + b

    with running(app):
        assert sorted(add.parallelize([(1, 2), (3, 4)]).iter_results(TIMEOUT_S)) == [3, 7]
        assert sorted(add.parallelize([{"a": 1, "b": 5}, {"a": 2}]).iter_results(TIMEOUT_S)) == [2, 6]
        assert sorted(add.parallelize([add.args(1, b=1), add.args(a=10)]).iter_results(TIMEOUT_S)) == [2, 10]
        mixed = add.parallelize([(1,), {"a": 2}, add.args(3)], common_args={"b": 100})
        assert sorted(mixed.iter_results(TIMEOUT_S)) == [101, 102, 103]
        scalars = add.parallelize([1, 2], common_args={"b": 1})
        assert sorted(scalars.iter_results(TIMEOUT_S)) == [2, 3]


def test_common_args_do_not_override_item_keywords_from_dicts(app: Pynenc) -> None:
    @app.task
    def pair(a: int, b: int) -> tuple[int, int]:
        return a, b

    with running(app):
        group = pair.parallelize([{"a": 1, "b": 2}], common_args={"b": 9})
        assert list(group.iter_results(TIMEOUT_S)) == [(1, 2)]


def test_results_yield_every_result_once(app: Pynenc) -> None:
    @app.task(parallel_batch_size=7)
    def square(x: int) -> int:
        return x * x

    with running(app):
        group = square.parallelize((i,) for i in range(30))
        assert isinstance(group, InvocationGroup)
        assert len(group) == 30 and len({inv.invocation_id for inv in group}) == 30
        assert sorted(group.results) == sorted(i * i for i in range(30))
        assert group.status_counts() == {S.SUCCESS: 30}


def test_a_slow_first_item_comes_last(app: Pynenc) -> None:
    gate = threading.Event()

    @app.task
    def item(i: int) -> int:
        if i == 0 and not gate.wait(TIMEOUT_S):
            raise TimeoutError("gate never opened")
        return i

    with running(app, max_threads=2):
        group = item.parallelize([(i,) for i in range(4)])
        results = group.iter_results(TIMEOUT_S)
        first_three = [next(results) for _ in range(3)]
        assert sorted(first_three) == [1, 2, 3]
        assert group.invocations[0].status is not S.SUCCESS
        gate.set()
        assert list(results) == [0]


def test_status_counts(app: Pynenc) -> None:
    @app.task
    def maybe_fail(x: int) -> int:
        if x < 0:
            raise ValueError(x)
        return x

    group = maybe_fail.parallelize([(1,), (2,), (-1,)])
    assert group.status_counts() == {S.REGISTERED: 3}
    with running(app):
        for invocation in group:
            invocation.wait(TIMEOUT_S)
    assert group.status_counts() == {S.SUCCESS: 2, S.FAILED: 1}
    with pytest.raises(ValueError):
        list(group.results)


def test_async_results(app: Pynenc) -> None:
    @app.task
    def triple(x: int) -> int:
        return 3 * x

    async def collect(group: InvocationGroup[int]) -> list[int]:
        return [value async for value in group.async_results(TIMEOUT_S)]

    with running(app):
        group = triple.parallelize([(i,) for i in range(5)])
        assert sorted(asyncio.run(collect(group))) == [0, 3, 6, 9, 12]


def test_parallelize_in_dev_mode_runs_every_item(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(dev_mode_force_sync_tasks=True)

    @app.task
    def inc(x: int) -> int:
        return x + 1

    group = inc.parallelize([(i,) for i in range(5)])
    assert group.status_counts() == {S.SUCCESS: 5}
    assert sorted(group.results) == [1, 2, 3, 4, 5]
