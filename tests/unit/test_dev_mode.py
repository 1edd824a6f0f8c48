"""Dev mode (``dev_mode_force_sync_tasks``): calls run eagerly in the caller, with full bookkeeping."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from pynenc_nb import InvocationStatus, Pynenc, RetryError

S = InvocationStatus


class ScoreError(Exception):
    """Importable, so it must come back as itself."""


@pytest.fixture
def dev_app(make_app: Callable[..., Pynenc]) -> Pynenc:
    return make_app(dev_mode_force_sync_tasks=True)


def test_call_runs_eagerly_without_a_runner(dev_app: Pynenc) -> None:
    calls: list[int] = []

    @dev_app.task
    def add(a: int, b: int) -> int:
        calls.append(threading.get_ident())
        return a + b

    invocation = add(1, 2)
    assert calls == [threading.get_ident()]  # ran already, in this thread
    assert invocation.record.status is S.SUCCESS  # the handle is final without waiting
    assert invocation.result == 3
    assert dev_app._runner is None
    assert dev_app.broker.depth() == 0
    assert dev_app.state_backend.count_by_status() == {S.SUCCESS: 1}
    assert [c.status for c in invocation.history()] == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]


def test_failures_reraise_with_their_original_type(dev_app: Pynenc) -> None:
    @dev_app.task
    def fail_builtin(key: str) -> None:
        raise KeyError(key)

    @dev_app.task
    def fail_custom(code: int) -> None:
        raise ScoreError("bad score", code)

    builtin = fail_builtin("k")
    assert builtin.status is S.FAILED
    with pytest.raises(KeyError) as key_info:
        _ = builtin.result
    assert key_info.value.args == ("k",)
    with pytest.raises(ScoreError) as custom_info:
        _ = fail_custom(7).result
    assert custom_info.value.args == ("bad score", 7)


def test_retry_error_retries_up_to_max_retries(dev_app: Pynenc) -> None:
    attempts: list[int] = []

    @dev_app.task(max_retries=2)
    def always_retry() -> None:
        attempts.append(1)
        raise RetryError("again")

    invocation = always_retry()
    assert len(attempts) == 3
    assert invocation.status is S.FAILED
    assert invocation.num_retries == 2
    with pytest.raises(RetryError, match="again"):
        _ = invocation.result
    assert [c.status for c in invocation.history()].count(S.RETRY) == 2


def test_retry_for_retries_until_success(dev_app: Pynenc) -> None:
    attempts: list[int] = []

    @dev_app.task(max_retries=3, retry_for=(ConnectionError,))
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("down")
        return "up"

    invocation = flaky()
    assert invocation.result == "up"
    assert (invocation.num_retries, len(attempts)) == (2, 3)


def test_exception_not_in_retry_for_fails_at_once(dev_app: Pynenc) -> None:
    attempts: list[int] = []

    @dev_app.task(max_retries=3, retry_for=(ConnectionError,))
    def broken() -> None:
        attempts.append(1)
        raise ValueError("no retry")

    assert broken().status is S.FAILED
    assert attempts == [1]


def test_nested_calls_record_the_parent(dev_app: Pynenc) -> None:
    @dev_app.task
    def child(x: int) -> int:
        return x * 10

    @dev_app.task
    def parent(x: int) -> tuple[str, int]:
        inner = child(x)
        return inner.invocation_id, inner.result

    outer = parent(4)
    child_id, value = outer.result
    assert value == 40
    assert dev_app.invocation(child_id).parent_invocation_id == outer.invocation_id
    assert outer.parent_invocation_id is None


def test_workflow_identity_is_inherited_by_child_tasks(dev_app: Pynenc) -> None:
    @dev_app.task
    def step(x: int) -> int:
        return x

    @dev_app.task
    def leaf() -> int:
        return 1

    @dev_app.workflow
    def inner_flow() -> str:
        return leaf().invocation_id

    @dev_app.workflow
    def flow() -> tuple[str, str, str]:
        return step(1).invocation_id, inner_flow().invocation_id, leaf().invocation_id

    root = flow()
    step_id, inner_id, leaf_id = root.result
    identity = root.workflow
    assert identity is not None
    assert (identity.workflow_id, identity.workflow_type) == (root.invocation_id, flow.task_id)
    assert identity.parent_workflow_id is None
    assert dev_app.invocation(step_id).workflow == identity
    assert dev_app.invocation(leaf_id).workflow == identity
    sub = dev_app.invocation(inner_id)
    assert sub.workflow is not None
    assert (sub.workflow.workflow_id, sub.workflow.parent_workflow_id) == (inner_id, root.invocation_id)
    assert dev_app.invocation(sub.result).workflow == sub.workflow
    assert leaf().workflow is None  # outside any workflow


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def test_async_task_without_an_event_loop(dev_app: Pynenc) -> None:
    double = dev_app.task(_double)
    assert double(2).result == 4


def test_async_task_called_inside_a_running_event_loop(dev_app: Pynenc) -> None:
    double = dev_app.task(_double)

    async def main() -> int:
        asyncio.get_running_loop()  # we are inside a loop, as in a Jupyter kernel
        return double(3).result

    assert asyncio.run(main()) == 6


def test_await_async_result(dev_app: Pynenc) -> None:
    double = dev_app.task(_double)

    async def main() -> int:
        return await double(4).async_result()

    assert asyncio.run(main()) == 8


def test_async_task_failure_reraises(dev_app: Pynenc) -> None:
    @dev_app.task
    async def broken() -> None:
        await asyncio.sleep(0)
        raise ScoreError("async")

    async def main() -> None:
        await broken().async_result()

    with pytest.raises(ScoreError, match="async"):
        asyncio.run(main())


def test_async_parent_records_children_inside_a_running_loop(dev_app: Pynenc) -> None:
    @dev_app.task
    def child() -> int:
        return 5

    @dev_app.task
    async def parent() -> str:
        await asyncio.sleep(0)
        return child().invocation_id

    async def main() -> tuple[str, str]:
        outer = parent()
        return outer.invocation_id, await outer.async_result()

    outer_id, child_id = asyncio.run(main())
    assert dev_app.invocation(child_id).parent_invocation_id == outer_id
