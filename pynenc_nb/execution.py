"""Executing one claimed invocation: the same code for every runner type and for dev mode."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

from pynenc_nb import context
from pynenc_nb.blocking import BlockingWaits
from pynenc_nb.call import decode_values
from pynenc_nb.context import Execution, WaitHandler
from pynenc_nb.interrupt import Interrupted, TaskGuard
from pynenc_nb.records import InvocationRecord, RunnerContext, TransitionRequest, TransitionResult

if TYPE_CHECKING:
    from pynenc_nb.host import EngineHost


@dataclass(frozen=True, slots=True)
class Ending:
    """An executed invocation's final transition, not stored yet: the runner gives it to its work
    source, which stores it with the next take (``execute(..., defer=True)``)."""

    record: InvocationRecord
    request: TransitionRequest

    def store(self, app: EngineHost) -> TransitionResult:
        """Store it on its own (not with a take), saying so if it was refused."""
        result = app.orchestrator.store(self.request)
        app.orchestrator.report(self.request, result)
        return result


@overload
def execute(
    app: EngineHost,
    started: InvocationRecord,
    runner: RunnerContext,
    waits: WaitHandler | None = None,
    *,
    defer: Literal[False] = False,
    guard: TaskGuard | None = None,
) -> InvocationRecord: ...


@overload
def execute(
    app: EngineHost,
    started: InvocationRecord,
    runner: RunnerContext,
    waits: WaitHandler | None = None,
    *,
    defer: bool,
    guard: TaskGuard | None = None,
) -> InvocationRecord | Ending: ...


def execute(
    app: EngineHost,
    started: InvocationRecord,
    runner: RunnerContext,
    waits: WaitHandler | None = None,
    *,
    defer: bool = False,
    guard: TaskGuard | None = None,
) -> InvocationRecord | Ending:
    """Run a RUNNING invocation owned by ``runner`` to SUCCESS, FAILED or RETRY.

    With ``defer`` a final ending (SUCCESS or FAILED) is returned unstored, for the runner to
    give to its work source (``WorkSource.finish``); otherwise it is stored here and the stored record
    returned. A task whose code or arguments cannot be loaded ends FAILED with the reason; the
    runner keeps serving. ``guard`` lets the runner interrupt the task's code once the invocation
    is killed: the stored KILLED record is then returned, with no ending.
    """
    orchestrator = app.orchestrator
    runner_id = runner.runner_id

    def end(request: TransitionRequest) -> InvocationRecord | Ending:
        ending = Ending(started, request)
        return ending if defer else ending.store(app).record

    def killed() -> InvocationRecord:
        app.logger.info("interrupted: the invocation was killed")
        return orchestrator.get(started.invocation_id)

    execution = Execution(app, started, runner, waits)
    with context.executing(execution):
        try:
            task = app.get_task(started.task_id, started.task_version)
            values = decode_values(started.arguments, app.serializer, app.arg_cache)
        except Exception as exc:
            app.logger.error("cannot start %s: %s", started.task_id, exc)
            return end(orchestrator.error_ending(started, runner_id, exc))
        span = guard.running() if guard is not None else contextlib.nullcontext()
        try:
            with span:
                value = task.run(values)
        except Interrupted:
            return killed()
        except BaseException as exc:
            if guard is not None and guard.interrupted:
                return killed()
            options = task.options
            if isinstance(exc, options.retry_for) and started.num_retries < options.max_retries:
                app.logger.info(
                    "retry %d/%d after %s: %s", started.num_retries + 1, options.max_retries, type(exc).__name__, exc
                )
                return orchestrator.retry(started, runner_id, exc).record
            app.logger.warning("failed with %s: %s", type(exc).__name__, exc)
            if not isinstance(exc, Exception):
                orchestrator.store(orchestrator.error_ending(started, runner_id, exc))
                raise  # KeyboardInterrupt / SystemExit still stop the worker after the record is stored
            return end(orchestrator.error_ending(started, runner_id, exc))
        if guard is not None and guard.interrupted:  # it swallowed the interruption
            return killed()
        try:
            request = orchestrator.result_ending(started, runner_id, value)
        except Exception as exc:  # the result itself cannot be serialized
            app.logger.warning("result of %s cannot be stored: %s", started.task_id, exc)
            return end(orchestrator.error_ending(started, runner_id, exc))
        return end(request)


def run_inline(app: EngineHost, record: InvocationRecord) -> InvocationRecord:
    """Dev mode: claim and execute right here, in the calling thread (or its event loop's thread)."""
    runner = app.client_context("DevModeRunner")
    while True:
        claimed = app.orchestrator.claim(record.invocation_id, runner.runner_id)
        started = app.orchestrator.start(claimed, runner.runner_id) if claimed is not None else None
        if started is None:
            return app.orchestrator.get(record.invocation_id)
        ended = execute(app, started, runner, BlockingWaits(app.orchestrator, runner, None))
        if ended.status.is_final:
            return ended
