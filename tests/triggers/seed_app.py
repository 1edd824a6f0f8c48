"""The seed description's trigger example, with only the import root changed (``pynenc`` ->
``pynenc_nb``). Configured by ``PYNENC__*`` variables: tests reload it with :func:`load`."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

from pynenc_nb import Pynenc
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.trigger.conditions.event import EventContext
from pynenc_nb.trigger.trigger_builder import TriggerBuilder

app = Pynenc()  # configure trigger_cls and trigger_task_modules for runners


def args_from_feed_event(ctx: EventContext) -> dict[str, Any]:
    return {
        "source": ctx.payload.get("source", "default"),
        "count": ctx.payload.get("count", 3),
    }


@app.task(
    triggers=[
        TriggerBuilder().on_cron("*/15 * * * *").with_args_static({"source": "scheduled", "count": 3}),
        TriggerBuilder().on_event("feed_updated").with_args_from_event(args_from_feed_event),
    ]
)
def ingest_feed(source: str, count: int) -> dict[str, Any]:
    return {"source": source, "count": count}


@app.task
def enrich_article(article_id: str, kind: str) -> dict[str, str]:
    return {"article_id": article_id, "kind": kind, "status": "enriched"}


def args_from_enrich_status(ctx: Any) -> dict[str, Any]:
    return {"article_id": ctx.arguments.kwargs["article_id"]}


@app.task(
    triggers=TriggerBuilder()
    .on_status(
        enrich_article,
        statuses=[InvocationStatus.SUCCESS],
        call_arguments={"kind": "breaking_news"},
    )
    .with_args_from_status(args_from_enrich_status)
)
def notify_subscribers(article_id: str) -> str:
    return f"notified:{article_id}"


def load() -> ModuleType:
    """This module rebuilt on the current ``PYNENC__*`` settings."""
    return importlib.reload(sys.modules[__name__])
