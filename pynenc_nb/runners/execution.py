"""Executing one claimed invocation: the same code for every runner type and for dev mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pynenc_nb import context
from pynenc_nb.blocking import BlockingWaits
from pynenc_nb.call import decode_values
from pynenc_nb.context import Execution, WaitHandler
from pynenc_nb.records import Delivery, InvocationRecord, RunnerContext

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc


def take_next(app: Pynenc, queues: Sequence[str], runner_id: str, timeout_s: float) -> InvocationRecord | None:
    """Receive, claim, ack and start the next invocation for ``runner_id``.

    While work is queued this is one transaction per invocation on backends that group
    operations (one non-blocking receive inside ``atomic()``); only when the queues are empty does
    it block in the broker for up to ``timeout_s``. A backend that can do all of it in one server
    step (``Backends.take_and_start``) does.
    """
    fused = app.backends.take_and_start
    if fused is not None:
        return app.orchestrator.take_and_start(fused, queues, runner_id, timeout_s)
    with app.backends.atomic():
        delivery = app.broker.receive(queues, runner_id, 0)
        if delivery is not None:
            return take(app, delivery, runner_id)
    delivery = app.broker.receive(queues, runner_id, timeout_s)
    return take(app, delivery, runner_id) if delivery is not None else None


def take(app: Pynenc, delivery: Delivery, runner_id: str) -> InvocationRecord | None:
    """Claim a delivered invocation, ack its message and start it: one transaction where possible.

    Returns the RUNNING record, or None when another runner has it (a duplicate delivery) or
    running concurrency control kept it from starting (it was rerouted or ended).
    """
    orchestrator = app.orchestrator
    with app.backends.atomic():
        claimed = orchestrator.claim(delivery.invocation_id, runner_id)
        app.broker.ack(delivery)
        return orchestrator.start(claimed, runner_id) if claimed is not None else None


def execute(
    app: Pynenc, started: InvocationRecord, runner: RunnerContext, waits: WaitHandler | None = None
) -> InvocationRecord:
    """Run a RUNNING invocation owned by ``runner`` to SUCCESS, FAILED or RETRY.

    A task whose code or arguments cannot be loaded ends FAILED with the reason; the runner
    keeps serving.
    """
    orchestrator = app.orchestrator
    execution = Execution(app, started, runner, waits)
    with context.executing(execution):
        try:
            task = app.get_task(started.task_id, started.task_version)
            values = decode_values(started.arguments, app.serializer, app.arg_cache)
        except Exception as exc:
            app.logger.error("cannot start %s: %s", started.task_id, exc)
            return orchestrator.fail(started, runner.runner_id, exc).record
        try:
            value = task.run(values)
        except BaseException as exc:
            options = task.options
            if isinstance(exc, options.retry_for) and started.num_retries < options.max_retries:
                app.logger.info(
                    "retry %d/%d after %s: %s", started.num_retries + 1, options.max_retries, type(exc).__name__, exc
                )
                return orchestrator.retry(started, runner.runner_id, exc).record
            app.logger.warning("failed with %s: %s", type(exc).__name__, exc)
            ended = orchestrator.fail(started, runner.runner_id, exc).record
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt / SystemExit still stop the worker after the record is stored
            return ended
        try:
            stored = orchestrator.succeed(started, runner.runner_id, value)
        except Exception as exc:  # the result itself cannot be serialized
            app.logger.warning("result of %s cannot be stored: %s", started.task_id, exc)
            return orchestrator.fail(started, runner.runner_id, exc).record
        if not stored.applied:
            app.logger.warning(
                "result discarded: the invocation is now %s (owner %s), it was recovered while running",
                stored.record.status,
                stored.record.owner_id,
            )
        return stored.record


def run_inline(app: Pynenc, record: InvocationRecord) -> InvocationRecord:
    """Dev mode: claim and execute right here, in the calling thread (or its event loop's thread)."""
    runner = app.client_context("DevModeRunner")
    while True:
        claimed = app.orchestrator.claim(record.invocation_id, runner.runner_id)
        started = app.orchestrator.start(claimed, runner.runner_id) if claimed is not None else None
        if started is None:
            return app.orchestrator.get(record.invocation_id)
        ended = execute(app, started, runner, BlockingWaits(app, runner, None))
        if ended.status.is_final:
            return ended
