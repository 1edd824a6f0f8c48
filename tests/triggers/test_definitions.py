"""Triggers are checked where they are written: typed errors at definition time, pynenc's paths."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

from pynenc_nb import InvalidCronError, InvalidTaskOptionsError, Pynenc, TriggerBuilder, TriggerError
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.trigger.definition import TriggerDefinition, trigger_id_of


def provider(ctx: Any) -> dict[str, Any]:
    return {}


@pytest.fixture
def app(make_app: Callable[..., Pynenc]) -> Pynenc:
    return make_app(backend_url="memory:")


def test_pynenc_import_paths_resolve() -> None:
    for module, name in [
        ("pynenc_nb.trigger.trigger_builder", "TriggerBuilder"),
        ("pynenc_nb.trigger.conditions.event", "EventContext"),
        ("pynenc_nb.trigger.conditions.status", "StatusContext"),
        ("pynenc_nb.trigger.conditions.result", "ResultContext"),
        ("pynenc_nb.trigger.conditions.exception", "ExceptionContext"),
        ("pynenc_nb.trigger.conditions.cron", "CronContext"),
        ("pynenc_nb.trigger.conditions", "CompositeLogic"),
        ("pynenc_nb.invocation.status", "InvocationStatus"),
    ]:
        assert getattr(importlib.import_module(module), name) is not None
    assert InvocationStatus("success") is InvocationStatus.SUCCESS


@pytest.mark.parametrize("expression", ["61 * * * *", "* * *", "every minute", "* * * * * *"])
def test_an_invalid_cron_is_refused_where_it_is_written(expression: str) -> None:
    with pytest.raises(InvalidCronError, match="is not valid"):
        TriggerBuilder().on_cron(expression)


def test_a_lambda_provider_is_refused_with_the_rule() -> None:
    with pytest.raises(TriggerError, match="module-level named function"):
        TriggerBuilder().on_event("a").with_args_from_event(lambda ctx: {})


def test_a_nested_function_filter_is_refused() -> None:
    def inner(payload: dict[str, Any]) -> bool:
        return True

    with pytest.raises(TriggerError, match="defined inside another function"):
        TriggerBuilder().on_event("a", payload_filter=inner)


def test_anything_but_trigger_builders_in_triggers_is_refused(app: Pynenc) -> None:
    with pytest.raises(InvalidTaskOptionsError, match="TriggerBuilder"):

        @app.task(triggers=[TriggerBuilder().on_event("a"), "on_event a"])
        def react() -> None:
            return None


def test_a_builder_without_a_condition_is_refused(app: Pynenc) -> None:
    with pytest.raises(TriggerError, match="no condition"):

        @app.task(triggers=TriggerBuilder().with_args_static({"x": 1}))
        def react(x: int) -> None:
            return None


def test_unknown_status_and_logic_are_refused(app: Pynenc) -> None:
    @app.task
    def upstream() -> None:
        return None

    with pytest.raises(TriggerError, match="is not a status"):
        TriggerBuilder().on_status(upstream, statuses=["DONE"])
    with pytest.raises(TriggerError, match="'and' or 'or'"):
        TriggerBuilder().with_logic("xor")


def test_a_definition_round_trips_and_keeps_its_id(app: Pynenc) -> None:
    @app.task
    def upstream(kind: str) -> None:
        return None

    builder = (
        TriggerBuilder()
        .on_status(upstream, InvocationStatus.SUCCESS, {"kind": "breaking_news"})
        .on_result(upstream, 3)
        .on_exception(upstream, [ValueError, "mymodule.PaymentError"])
        .on_cron("*/15 * * * *")
        .on_event("feed", {"source": "rss"})
        .with_logic("or")
        .with_args_static({"n": 1})
        .with_args_from_status(provider)
    )
    definition = builder.build("tests.react")
    text = definition.to_text(app.serializer.dumps)
    again = TriggerDefinition.from_text(text, app.serializer.loads)
    assert again == definition
    assert again.to_text(app.serializer.dumps) == text
    assert trigger_id_of(text) == trigger_id_of(builder.build("tests.react").to_text(app.serializer.dumps))


def test_redefining_a_task_replaces_its_stored_triggers(app: Pynenc) -> None:
    def define(code: str | None) -> None:
        @app.task(triggers=TriggerBuilder().on_event(code) if code else None)
        def react() -> None:
            return None

    assert app.state_backend is not None  # the backends are open: a live session, as in a notebook re-running a cell
    define("first")
    define("second")
    stored = [text for _, text in app.trigger_store.triggers().values()]
    assert len(stored) == 1 and '"second"' in stored[0]
    define(None)  # the cell re-run without triggers
    assert app.trigger_store.triggers() == {}
