"""``pynenc status`` / ``%pynenc status``: queued messages per queue, read from the broker (RabbitMQ
included), with the broker named and its password redacted."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.conf.urls import redact_url
from pynenc_nb.summary import app_summary, format_summary
from tests.conftest import BROKER_BACKENDS


@pytest.mark.parametrize("backend_kind", BROKER_BACKENDS, indirect=True)
def test_the_summary_counts_queued_messages_per_queue_from_the_broker(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(queues=("default", "reports"))

    @app.task
    def plain() -> None:
        return None

    @app.task(queue="reports")
    def report() -> None:
        return None

    plain(), plain(), report()  # no runner: the messages wait in their queues
    summary = app_summary(app)
    assert summary["queues"] == {"default": 2, "reports": 1}
    assert summary["queued"] == 3
    text = format_summary(summary)
    assert "queued messages: 3 (default 2, reports 1)" in text
    broker = app.conf.broker_url or app.conf.backend_url
    assert f"broker {redact_url(broker)}" in text
    assert ":guest@" not in text, "a password in the broker URL is never printed"
