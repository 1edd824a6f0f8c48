"""The work source each backend chooses (``WorkSource``) behaves the same on every backend.

On "memory-broker" (state in SQLite, queues from ``memory:``) this is the generic source over the
plain ports, the path a broker-only backend takes; Redis runs its own source (one script a take).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.records import InvocationRecord
from pynenc_nb.task_options import ConcurrencyControlType
from tests.conformance.builders import S
from tests.conftest import BROKER_BACKENDS


@pytest.fixture(params=BROKER_BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Every backend, and RabbitMQ beside SQLite and Redis state (only broker-facing tests run on those)."""
    return str(request.param)


def _statuses(app: Pynenc, invocation_id: str) -> list[S]:
    return [change.status for change in app.state_backend.history(invocation_id)]


@pytest.fixture
def add(app: Pynenc) -> Any:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    return add


def _ending(app: Pynenc, record: InvocationRecord, runner_id: str, value: Any) -> Any:
    return app.orchestrator.result_ending(record, runner_id, value)


def test_a_source_starts_queued_calls_in_order_and_stores_endings_with_the_next_take(app: Pynenc, add: Any) -> None:
    # Given two queued calls and a worker's source
    first, second = add(1, 2), add(3, 4)
    source = app.orchestrator.work_source(["default"], "r1")
    # When the worker takes one, finishes it, and takes again
    taken = source.next(5.0)
    assert taken is not None and taken.invocation_id == first.invocation_id
    assert (taken.status, taken.owner_id) == (S.RUNNING, "r1")
    source.finish(_ending(app, taken, "r1", 3))
    assert app.orchestrator.get(first.invocation_id).status is S.RUNNING  # held until the next take
    again = source.next(5.0)
    # Then the first ended SUCCESS with its value when the second was taken
    assert again is not None and again.invocation_id == second.invocation_id
    assert first.result_or(5) == 3
    assert _statuses(app, first.invocation_id) == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]
    # And with the queue empty, the held ending is stored before the take waits, which comes back empty
    source.finish(_ending(app, again, "r1", 7))
    started = time.monotonic()
    assert source.next(0.3) is None
    assert time.monotonic() - started >= 0.2
    assert second.result_or(5) == 7
    source.close()


def _one_finished(app: Pynenc, add: Any) -> tuple[Any, Any]:
    """A worker's source that ran a call of add(1, 1) and holds its ending: (the call, the source)."""
    call = add(1, 1)
    source = app.orchestrator.work_source(["default"], "r1")
    taken = source.next(5.0)
    assert taken is not None
    source.finish(_ending(app, taken, "r1", 2))
    return call, source


def test_flush_stores_held_endings_at_once(app: Pynenc, add: Any) -> None:
    call, source = _one_finished(app, add)
    source.flush()
    assert app.orchestrator.get(call.invocation_id).status is S.SUCCESS
    source.close()


def test_a_second_message_for_the_same_call_runs_it_once(app: Pynenc, add: Any) -> None:
    # Given a queued call whose id was sent twice (a priority boost, or a resend after a lost message)
    call = add(2, 2)
    record = app.orchestrator.get(call.invocation_id)
    app.broker.send(record.queue, record.invocation_id, 5)
    source = app.orchestrator.work_source(["default"], "r1")
    # When a worker takes everything there is
    taken = source.next(5.0)
    assert taken is not None and taken.invocation_id == call.invocation_id
    source.finish(_ending(app, taken, "r1", 4))
    # Then the other message finds it claimed: nothing more is started, and it ran once
    assert source.next(0.2) is None
    assert app.broker.depth() == 0
    assert _statuses(app, call.invocation_id).count(S.RUNNING) == 1 and call.result_or(5) == 4
    source.close()


def test_running_concurrency_keeps_a_second_call_waiting_until_the_first_ends(app: Pynenc) -> None:
    @app.task(running_concurrency=ConcurrencyControlType.TASK)
    def single(x: int) -> int:
        return x

    first, second = single(1), single(2)
    one, two = app.orchestrator.work_source(["default"], "r1"), app.orchestrator.work_source(["default"], "r2")
    running = one.next(5.0)
    assert running is not None and running.invocation_id == first.invocation_id
    # The second worker's take finds the key held: the call waits, concurrency controlled
    assert two.next(0.2) is None
    assert _statuses(app, second.invocation_id)[-1] is S.CONCURRENCY_CONTROLLED
    # When the first ends, the second goes back to the queue and the second worker runs it
    one.finish(_ending(app, running, "r1", 1))
    one.flush()
    assert _statuses(app, second.invocation_id)[-1] is S.REROUTED
    later = two.next(5.0)
    assert later is not None and later.invocation_id == second.invocation_id and later.owner_id == "r2"
    one.close()
    two.close()


def test_a_call_purged_while_queued_is_skipped(app: Pynenc, add: Any) -> None:
    # Given a queued call whose state was deleted, and a real one behind it
    gone = add(0, 0)
    app.state_backend.purge()
    kept = add(5, 5)
    source = app.orchestrator.work_source(["default"], "r1")
    # When a worker takes, it gets the real call; the orphan message is consumed
    taken = source.next(5.0)
    if taken is not None and taken.invocation_id == gone.invocation_id:  # pragma: no cover - never expected
        pytest.fail("a purged invocation was started")
    if taken is None:
        taken = source.next(5.0)
    assert taken is not None and taken.invocation_id == kept.invocation_id
    source.close()


def test_close_gives_back_nothing_it_did_not_take_and_stores_its_endings(app: Pynenc, add: Any) -> None:
    call, source = _one_finished(app, add)
    source.close()
    assert call.result_or(5) == 2
    # And a later call waits in its queue for another worker
    waiting = add(1, 0)
    assert app.orchestrator.get(waiting.invocation_id).status is S.REGISTERED
    assert app.broker.depth() == 1


def test_the_generic_source_is_the_fallback_of_every_backend_without_its_own(app: Pynenc, backend_kind: str) -> None:
    # Optional for a backend: its own paths (``CombinedBackend``: register_and_send, work_source)
    # and ``atomic()`` grouping. Without them, the generic source over the plain ports is used, and
    # every test of this suite runs on it (memory, SQLite, and the broker-only memory-broker double).
    source = app.orchestrator.work_source(["default"], "r1")
    has_own = backend_kind == "redis"
    assert (app.backends.combined is not None) is has_own
    assert type(source).__name__ == ("RedisWorkSource" if has_own else "BrokerWorkSource")
    source.close()
