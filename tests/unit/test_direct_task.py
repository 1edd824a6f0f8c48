"""``@app.direct_task``: called like a function, returns the value or raises."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from pynenc_nb import DirectTask, InvalidTaskOptionsError, Invocation, InvocationStatus, Pynenc
from tests.unit.runner_support import running

TIMEOUT_S = 60.0


class Rejected(Exception):
    """Importable, so it comes back as itself."""


def split_items(values: Mapping[str, Any]) -> Iterable[tuple[list[int]]]:
    items = values["items"]
    return [(items[i : i + 2],) for i in range(0, len(items), 2)]


def total(results: list[int]) -> int:
    return sum(results)


def define(app: Pynenc) -> dict[str, Any]:
    @app.direct_task
    def add(a: int, b: int) -> int:
        return a + b

    @app.direct_task(max_retries=0)
    def reject(reason: str) -> None:
        raise Rejected(reason)

    @app.direct_task(parallel_func=split_items, aggregate_func=total)
    def sum_squares(items: list[int]) -> int:
        return sum(i * i for i in items)

    return {"add": add, "reject": reject, "sum_squares": sum_squares}


def check(app: Pynenc, tasks: dict[str, Any]) -> None:
    assert tasks["add"](1, 2) == 3
    assert tasks["add"](a=5, b=-1) == 4
    with pytest.raises(Rejected, match="nope"):
        tasks["reject"]("nope")
    assert tasks["sum_squares"]([1, 2, 3, 4, 5]) == 55
    invocation = tasks["add"].invoke(2, 2)
    assert isinstance(invocation, Invocation)
    assert invocation.result_or(TIMEOUT_S) == 4


def test_direct_task_in_dev_mode(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(dev_mode_force_sync_tasks=True)
    tasks = define(app)
    assert isinstance(tasks["add"], DirectTask)
    check(app, tasks)
    assert app._runner is None


def test_direct_task_with_a_thread_runner(app: Pynenc) -> None:
    tasks = define(app)
    with running(app):
        check(app, tasks)
    counts = app.state_backend.count_by_status()
    # add x2, reject, 3 parts of sum_squares, invoke
    assert counts == {InvocationStatus.SUCCESS: 6, InvocationStatus.FAILED: 1}


def test_parallel_direct_task_aggregates_in_call_order(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(dev_mode_force_sync_tasks=True)
    seen: list[list[str]] = []

    def chunks(values: Mapping[str, Any]) -> list[tuple[list[str]]]:
        return [([word],) for word in values["words"]]

    def collect(results: list[str]) -> str:
        seen.append(results)
        return " ".join(results)

    @app.direct_task(parallel_func=chunks, aggregate_func=collect)
    def upper(words: list[str]) -> str:
        return words[0].upper()

    assert upper(["a", "b", "c"]) == "A B C"
    assert seen == [["A", "B", "C"]]


@pytest.mark.parametrize("given", ["parallel_func", "aggregate_func"])
def test_parallel_and_aggregate_funcs_go_together(memory_app: Pynenc, given: str) -> None:
    funcs: dict[str, Any] = {"parallel_func": split_items, "aggregate_func": total}

    def job(items: list[int]) -> int:
        return len(items)

    with pytest.raises(InvalidTaskOptionsError, match="parallel_func and aggregate_func"):
        memory_app.direct_task(**{given: funcs[given]})(job)
