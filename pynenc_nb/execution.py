"""Executing one claimed invocation: the same code for every runner type and for dev mode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

from pynenc_nb import context
from pynenc_nb.blocking import BlockingWaits
from pynenc_nb.call import decode_values
from pynenc_nb.context import Execution, WaitHandler
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.records import Delivery, InvocationRecord, RunnerContext, TransitionRequest, TransitionResult
from pynenc_nb.status import InvocationStatus

if TYPE_CHECKING:
    from pynenc_nb.host import EngineHost


def take_next(
    app: EngineHost,
    queues: Sequence[str],
    runner_id: str,
    timeout_s: float,
    endings: Sequence[Ending] = (),
    *,
    batch: int = 0,
    batch_tasks: Sequence[str] = (),
) -> list[InvocationRecord]:
    """Store ``endings`` (the runner's previous invocations), then receive, claim, ack and start
    the next invocation for ``runner_id``; on a backend that can, also a batch of up to ``batch``
    more of the short ``batch_tasks`` (``TakeAndStart``).

    While work is queued this is one transaction per take on backends that group operations (the
    endings and one non-blocking receive inside ``atomic()``); only when the queues are empty does
    it block in the broker for up to ``timeout_s``, the endings stored first. A backend that can do
    all of it in one server step (``Backends.take_and_start``) does: one round trip per take.
    Raises when the backend fails; the endings may then be stored or not, and are safe to send
    again (a change is applied once).
    """
    requests = [ending.request for ending in endings]
    fused = app.backends.take_and_start
    if fused is not None:
        ended, started = app.orchestrator.take_and_start(
            fused, queues, runner_id, timeout_s, requests, batch, batch_tasks
        )
        for ending, result in zip(endings, ended, strict=False):
            ending.report(app, result)
        return started
    results: list[TransitionResult | None] = []
    with app.backends.atomic():
        for request in requests:
            try:
                results.append(app.state_backend.transition(request))
            except InvocationNotFoundError:
                results.append(None)  # purged while it ran
        delivery = app.broker.receive(queues, runner_id, 0)
        record = take(app, delivery, runner_id) if delivery is not None else None
    for ending, result in zip(endings, results, strict=True):
        if result is not None:
            app.orchestrator.applied(ending.request, result)
        ending.report(app, result)
    if delivery is None:
        delivery = app.broker.receive(queues, runner_id, timeout_s)
        record = take(app, delivery, runner_id) if delivery is not None else None
    return [record] if record is not None else []


def leave(app: EngineHost, runner_id: str) -> None:
    """The calling worker takes no more: calls handed to it and not taken yet go back to a queue."""
    fused = app.backends.take_and_start
    if fused is None:
        return
    for invocation_id in fused.withdraw(runner_id):
        app.orchestrator.transition(
            invocation_id, InvocationStatus.REROUTED, runner_id, reason="handed to a worker that stopped"
        )


@dataclass(frozen=True, slots=True)
class Ending:
    """An executed invocation's final transition, not stored yet: the runner sends it with its
    next take, saving a round trip per invocation (``execute(..., defer=True)``)."""

    record: InvocationRecord
    request: TransitionRequest

    def store(self, app: EngineHost) -> TransitionResult:
        """Store it on its own (not with a take), saying so if it was refused."""
        result = app.orchestrator.apply(self.request)
        self.report(app, result)
        return result

    def report(self, app: EngineHost, result: TransitionResult | None) -> None:
        """Say so when the ending was refused: the invocation was taken from this runner meanwhile."""
        if result is None:
            app.logger.warning("result of %s discarded: the invocation was purged", self.record.invocation_id)
        elif not result.applied:
            app.logger.warning(
                "result discarded: the invocation is now %s (owner %s), it was recovered while running",
                result.record.status,
                result.record.owner_id,
            )


def take(app: EngineHost, delivery: Delivery, runner_id: str) -> InvocationRecord | None:
    """Claim a delivered invocation, ack its message and start it: one transaction where possible.

    Returns the RUNNING record, or None when another runner has it (a duplicate delivery) or
    running concurrency control kept it from starting (it was rerouted or ended).
    """
    orchestrator = app.orchestrator
    with app.backends.atomic():
        claimed = orchestrator.claim(delivery.invocation_id, runner_id)
        app.broker.ack(delivery)
        return orchestrator.start(claimed, runner_id) if claimed is not None else None


@overload
def execute(
    app: EngineHost,
    started: InvocationRecord,
    runner: RunnerContext,
    waits: WaitHandler | None = None,
    *,
    defer: Literal[False] = False,
) -> InvocationRecord: ...


@overload
def execute(
    app: EngineHost, started: InvocationRecord, runner: RunnerContext, waits: WaitHandler | None = None, *, defer: bool
) -> InvocationRecord | Ending: ...


def execute(
    app: EngineHost,
    started: InvocationRecord,
    runner: RunnerContext,
    waits: WaitHandler | None = None,
    *,
    defer: bool = False,
) -> InvocationRecord | Ending:
    """Run a RUNNING invocation owned by ``runner`` to SUCCESS, FAILED or RETRY.

    With ``defer`` a final ending (SUCCESS or FAILED) is returned unstored, for the runner to
    send with its next take (``take_next``); otherwise it is stored here and the stored record
    returned. A task whose code or arguments cannot be loaded ends FAILED with the reason; the
    runner keeps serving.
    """
    orchestrator = app.orchestrator
    runner_id = runner.runner_id

    def end(request: TransitionRequest) -> InvocationRecord | Ending:
        ending = Ending(started, request)
        return ending if defer else ending.store(app).record

    execution = Execution(app, started, runner, waits)
    with context.executing(execution):
        try:
            task = app.get_task(started.task_id, started.task_version)
            values = decode_values(started.arguments, app.serializer, app.arg_cache)
        except Exception as exc:
            app.logger.error("cannot start %s: %s", started.task_id, exc)
            return end(orchestrator.failure(started, runner_id, exc))
        try:
            value = task.run(values)
        except BaseException as exc:
            options = task.options
            if isinstance(exc, options.retry_for) and started.num_retries < options.max_retries:
                app.logger.info(
                    "retry %d/%d after %s: %s", started.num_retries + 1, options.max_retries, type(exc).__name__, exc
                )
                return orchestrator.retry(started, runner_id, exc).record
            app.logger.warning("failed with %s: %s", type(exc).__name__, exc)
            if not isinstance(exc, Exception):
                orchestrator.fail(started, runner_id, exc)
                raise  # KeyboardInterrupt / SystemExit still stop the worker after the record is stored
            return end(orchestrator.failure(started, runner_id, exc))
        try:
            request = orchestrator.success(started, runner_id, value)
        except Exception as exc:  # the result itself cannot be serialized
            app.logger.warning("result of %s cannot be stored: %s", started.task_id, exc)
            return end(orchestrator.failure(started, runner_id, exc))
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
