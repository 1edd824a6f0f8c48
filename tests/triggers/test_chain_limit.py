"""A trigger chain that re-triggers itself (a task triggered by its own success) stops at
``trigger_chain_max_depth`` with a ``TriggerError`` in the log, instead of running forever."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pynenc_nb import InvocationStatus, Pynenc, TriggerBuilder
from pynenc_nb.records import InvocationFilter
from pynenc_nb.task import task_id_of
from pynenc_nb.trigger.conditions import StatusContext
from tests.support.log_lines import LogLines
from tests.support.processes import poll

LIMIT = 5


def next_step(ctx: StatusContext) -> dict[str, Any]:
    return {"n": ctx.arguments.kwargs["n"] + 1}


def test_a_self_triggering_chain_stops_at_the_limit(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(trigger_chain_max_depth=LIMIT, services_interval_s=0.1)

    def loop(n: int) -> int:
        return n

    self_id = task_id_of(loop)
    loop = app.task(  # type: ignore[assignment]
        triggers=TriggerBuilder()
        .on_status(self_id, statuses=[InvocationStatus.SUCCESS])
        .with_args_from_status(next_step)
    )(loop)

    errors = LogLines(logging.ERROR)
    logging.getLogger("pynenc").addHandler(errors)  # the runner's own handler does not propagate
    try:
        app.runner.start_in_thread()
        try:
            assert loop(0).result_or(30) == 0

            def count() -> int:
                records, _ = app.state_backend.query(InvocationFilter(task_id=loop.task_id), limit=100)
                return len(records)

            poll(
                lambda: any("trigger_chain_max_depth=5" in line for line in errors.lines),
                timeout_s=30,
                message="the chain to be stopped",
            )
            stopped_at = count()
        finally:
            app.runner.stop()
    finally:
        logging.getLogger("pynenc").removeHandler(errors)
    assert stopped_at == 1 + LIMIT, "the call, then one run per level up to the limit"
    assert any(line.startswith("TriggerError: ") for line in errors.lines)
