"""Executing one claimed invocation: the same code for every runner type and for dev mode."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from pynenc_nb import context
from pynenc_nb.call import decode_values
from pynenc_nb.context import Execution, WaitHandler
from pynenc_nb.records import InvocationRecord, RunnerContext

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

log = logging.getLogger("pynenc.runner")


def execute(
    app: Pynenc, record: InvocationRecord, runner: RunnerContext, waits: WaitHandler | None = None
) -> InvocationRecord | None:
    """Run a PENDING invocation owned by ``runner`` to SUCCESS, FAILED or RETRY.

    Returns the record as it ended, or None when running concurrency control kept it from
    starting. A task whose code or arguments cannot be loaded ends FAILED with the reason; the
    runner keeps serving.
    """
    orchestrator = app.orchestrator
    started = orchestrator.start(record, runner.runner_id)
    if started is None:
        return None
    execution = Execution(app, started, runner, waits)
    with context.executing(execution):
        try:
            task = app.get_task(started.task_id)
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
            return orchestrator.succeed(started, runner.runner_id, value).record
        except Exception as exc:  # the result itself cannot be serialized
            app.logger.warning("result of %s cannot be stored: %s", started.task_id, exc)
            return orchestrator.fail(started, runner.runner_id, exc).record


_dev_contexts = threading.local()


def run_inline(app: Pynenc, record: InvocationRecord) -> InvocationRecord:
    """Dev mode: claim and execute right here, in the calling thread (or its event loop's thread)."""
    runner: RunnerContext | None = getattr(_dev_contexts, "runner", None)
    if runner is None:
        runner = RunnerContext.current("DevModeRunner")
        _dev_contexts.runner = runner
    while True:
        claimed = app.orchestrator.claim(record.invocation_id, runner.runner_id)
        if claimed is None:
            return app.orchestrator.get(record.invocation_id)
        ended = execute(app, claimed, runner)
        if ended is None or ended.status.is_final:
            return app.orchestrator.get(record.invocation_id)
