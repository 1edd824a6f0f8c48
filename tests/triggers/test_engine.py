"""The trigger engine on every backend, driven step by step: each condition kind fires once on a
match and never on a non-match, AND/OR, filters and providers, cron ticks on a movable clock, and
exactly once when an evaluation dies half way and another replays it.

Calls run inline (dev mode) so statuses, results and exceptions are real; triggered invocations
are registered by the engine and counted (no runner runs them here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pynenc_nb import InvocationStatus, Pynenc, TriggerBuilder
from pynenc_nb.records import InvocationFilter, RunnerContext
from pynenc_nb.trigger.conditions import EventContext, ExceptionContext, ResultContext, StatusContext
from pynenc_nb.trigger.definition import TriggerContext
from pynenc_nb.trigger.engine import TriggerEngine

S = InvocationStatus
MINUTE = 60.0
T0 = 1_800_000_000.0  # a whole minute (2027-01-15T08:00:00Z)


class Clock:
    def __init__(self, at: float = T0 + 1) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def engine_of(app: Pynenc, clock: Callable[[], float] | None = None) -> TriggerEngine:
    holder = RunnerContext.current("TestServices")
    return TriggerEngine(app, holder, clock) if clock else TriggerEngine(app, holder)


def calls_of(app: Pynenc, task: Any) -> list[dict[str, str]]:
    """The arguments (as displayed) of every invocation of ``task``, oldest first."""
    import json

    records, _ = app.state_backend.query(InvocationFilter(task_id=task.task_id), limit=1000)
    return [json.loads(r.args_display) for r in sorted(records, key=lambda r: r.created_at)]


@pytest.fixture
def dev(make_app: Callable[..., Pynenc]) -> Pynenc:
    return make_app(dev_mode_force_sync_tasks=True)


# --- providers and filters: module-level named functions, as triggers require ---------------------


def from_event(ctx: EventContext) -> dict[str, Any]:
    return {"value": ctx.payload["n"] * 10}


def big_payload(payload: dict[str, Any]) -> bool:
    return payload.get("n", 0) > 1


def from_status(ctx: StatusContext) -> dict[str, Any]:
    return {"value": ctx.arguments.kwargs["x"]}


def from_result(ctx: ResultContext) -> dict[str, Any]:
    return {"value": ctx.result}


def from_exception(ctx: ExceptionContext) -> dict[str, Any]:
    return {"value": f"{ctx.exception_type}:{ctx.exception_message}"}


def from_everything(ctx: TriggerContext) -> dict[str, Any]:
    return {"value": "+".join(sorted(type(c).__name__ for c in ctx.contexts))}


def even_result(result: Any) -> bool:
    return result % 2 == 0


def first_provider_fails(ctx: EventContext) -> dict[str, Any]:
    raise RuntimeError("provider bug")


# --- events ----------------------------------------------------------------------------------------


def test_an_event_fires_its_trigger_once_with_the_providers_arguments(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("ping").with_args_from_event(from_event))
    def react(value: int) -> int:
        return value

    engine = engine_of(dev)
    dev.trigger.emit_event("ping", {"n": 4})
    dev.trigger.emit_event("other", {"n": 5})
    engine.evaluate()
    engine.evaluate()  # nothing new: nothing more
    assert calls_of(dev, react) == [{"value": "40"}]


def test_payload_filters_by_dict_and_by_function(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("ping", {"kind": "a"}).with_args_from_event(from_event))
    def by_dict(value: int) -> int:
        return value

    @dev.task(triggers=TriggerBuilder().on_event("ping", big_payload).with_args_from_event(from_event))
    def by_function(value: int) -> int:
        return value

    engine = engine_of(dev)
    for n, kind in [(1, "a"), (2, "b"), (3, "a")]:
        dev.trigger.emit_event("ping", {"n": n, "kind": kind})
    engine.evaluate()
    assert calls_of(dev, by_dict) == [{"value": "10"}, {"value": "30"}]
    assert calls_of(dev, by_function) == [{"value": "20"}, {"value": "30"}]


def test_an_event_emitted_before_any_evaluation_still_fires(dev: Pynenc) -> None:
    # Given a trigger defined, then an event, and only then an engine (a runner starting later)
    @dev.task(triggers=TriggerBuilder().on_event("early").with_args_static({"value": 1}))
    def react(value: int) -> int:
        return value

    dev.trigger.emit_event("early")
    engine_of(dev).evaluate()
    assert calls_of(dev, react) == [{"value": "1"}]


def test_events_from_before_the_trigger_existed_do_not_fire_it(dev: Pynenc) -> None:
    dev.trigger.emit_event("past")

    @dev.task(triggers=TriggerBuilder().on_event("past").with_args_static({"value": 1}))
    def react(value: int) -> int:
        return value

    engine_of(dev).evaluate()
    assert calls_of(dev, react) == []


# --- statuses, results, exceptions -----------------------------------------------------------------


def test_status_condition_with_call_arguments(dev: Pynenc) -> None:
    @dev.task
    def upstream(x: int, kind: str) -> int:
        return x

    @dev.task(
        triggers=TriggerBuilder()
        .on_status(upstream, statuses=[S.SUCCESS], call_arguments={"kind": "hot"})
        .with_args_from_status(from_status)
    )
    def react(value: int) -> int:
        return value

    engine = engine_of(dev)
    assert upstream(1, "hot").result == 1
    assert upstream(2, "cold").result == 2
    engine.evaluate()
    assert calls_of(dev, react) == [{"value": "1"}]


def test_status_names_in_pynenc_spelling_are_accepted(dev: Pynenc) -> None:
    @dev.task
    def upstream(x: int) -> int:
        raise ValueError(x)

    @dev.task(triggers=TriggerBuilder().on_status(upstream, statuses="failed").with_args_from_status(from_status))
    def react(value: int) -> int:
        return value

    engine = engine_of(dev)
    with pytest.raises(ValueError):
        upstream(7).result  # noqa: B018 - reading the result raises
    engine.evaluate()
    assert calls_of(dev, react) == [{"value": "7"}]


def test_result_conditions_by_value_by_function_and_any(dev: Pynenc) -> None:
    @dev.task
    def upstream(x: int) -> int:
        return x

    @dev.task(triggers=TriggerBuilder().on_result(upstream, 3).with_args_from_result(from_result))
    def on_three(value: int) -> int:
        return value

    @dev.task(triggers=TriggerBuilder().on_result(upstream, filter=even_result).with_args_from_result(from_result))
    def on_even(value: int) -> int:
        return value

    @dev.task(triggers=TriggerBuilder().on_any_result(upstream).with_args_from_result(from_result))
    def on_any(value: int) -> int:
        return value

    engine = engine_of(dev)
    for x in (2, 3, 4):
        assert upstream(x).result is not None
    engine.evaluate()
    assert calls_of(dev, on_three) == [{"value": "3"}]
    assert calls_of(dev, on_even) == [{"value": "2"}, {"value": "4"}]
    assert calls_of(dev, on_any) == [{"value": "2"}, {"value": "3"}, {"value": "4"}]


class PaymentError(ValueError):
    """A subclass: a condition on ValueError holds for it."""


def test_exception_conditions_match_subclasses_by_class_or_name(dev: Pynenc) -> None:
    @dev.task
    def pay(kind: str) -> None:
        if kind == "payment":
            raise PaymentError("card declined")
        if kind == "key":
            raise KeyError("missing")
        raise RuntimeError("down")

    @dev.task(triggers=TriggerBuilder().on_exception(pay, [ValueError]).with_args_from_exception(from_exception))
    def compensate(value: str) -> str:
        return value

    @dev.task(triggers=TriggerBuilder().on_exception(pay, "KeyError").with_args_from_exception(from_exception))
    def on_key(value: str) -> str:
        return value

    @dev.task(triggers=TriggerBuilder().on_exception(pay).with_args_from_exception(from_exception))
    def on_any(value: str) -> str:
        return value

    engine = engine_of(dev)
    for kind in ("payment", "key", "other"):
        with pytest.raises((PaymentError, KeyError, RuntimeError)):
            pay(kind).result  # noqa: B018 - reading the result raises
    engine.evaluate()
    assert calls_of(dev, compensate) == [{"value": "'PaymentError:card declined'"}]
    assert calls_of(dev, on_key) == [{"value": "\"KeyError:'missing'\""}]
    assert len(calls_of(dev, on_any)) == 3


def test_a_success_never_fires_an_exception_condition(dev: Pynenc) -> None:
    @dev.task
    def fine() -> int:
        return 1

    @dev.task(triggers=TriggerBuilder().on_exception(fine))
    def react() -> None:
        return None

    engine = engine_of(dev)
    assert fine().result is not None
    engine.evaluate()
    assert calls_of(dev, react) == []


# --- logic -----------------------------------------------------------------------------------------


def test_or_fires_once_per_condition_occurrence(dev: Pynenc) -> None:
    @dev.task
    def upstream() -> int:
        return 1

    @dev.task(
        triggers=TriggerBuilder()
        .on_event("a")
        .on_status(upstream)
        .with_logic("or")
        .with_args_from_trigger_context(from_everything)
    )
    def react(value: str) -> str:
        return value

    engine = engine_of(dev)
    dev.trigger.emit_event("a")
    dev.trigger.emit_event("a")
    assert upstream().result is not None
    engine.evaluate()
    assert sorted(c["value"] for c in calls_of(dev, react)) == ["'EventContext'", "'EventContext'", "'StatusContext'"]


def test_and_fires_once_when_all_conditions_held(dev: Pynenc) -> None:
    @dev.task
    def upstream() -> int:
        return 1

    @dev.task(
        triggers=TriggerBuilder().on_event("a").on_status(upstream).with_args_from_trigger_context(from_everything)
    )
    def react(value: str) -> str:
        return value

    engine = engine_of(dev)
    dev.trigger.emit_event("a")
    engine.evaluate()
    assert calls_of(dev, react) == []  # one of two
    dev.trigger.emit_event("a")  # the same condition again: still one of two
    engine.evaluate()
    assert calls_of(dev, react) == []
    assert upstream().result is not None
    engine.evaluate()
    assert calls_of(dev, react) == [{"value": "'EventContext+StatusContext'"}]
    # and what fired it is consumed: one more event alone fires nothing
    dev.trigger.emit_event("a")
    engine.evaluate()
    assert len(calls_of(dev, react)) == 1


def test_and_needs_its_conditions_within_the_window(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(dev_mode_force_sync_tasks=True, trigger_composite_window_s=0.001)

    @app.task
    def upstream() -> int:
        return 1

    @app.task(triggers=TriggerBuilder().on_event("a").on_status(upstream))
    def react() -> None:
        return None

    engine = engine_of(app)
    dev_event = app.trigger.emit_event("a")
    assert dev_event
    engine.evaluate()
    import time

    time.sleep(0.01)
    assert upstream().result is not None
    engine.evaluate()
    assert calls_of(app, react) == []


# --- providers -------------------------------------------------------------------------------------


def test_the_first_provider_that_applies_is_used(dev: Pynenc) -> None:
    @dev.task(
        triggers=TriggerBuilder()
        .on_event("a")
        .on_cron("* * * * *")
        .with_logic("or")
        .with_args_from_event(from_event)
        .with_args_static({"value": -1})
    )
    def react(value: int) -> int:
        return value

    clock = Clock()
    engine = engine_of(dev, clock)
    engine.evaluate()  # the cron schedule starts
    dev.trigger.emit_event("a", {"n": 2})
    clock.at = T0 + MINUTE + 1
    engine.evaluate()
    assert sorted(c["value"] for c in calls_of(dev, react)) == ["-1", "20"]


def test_a_failing_provider_makes_no_invocation_and_records_the_run(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("a").with_args_from_event(first_provider_fails))
    def react() -> None:
        return None

    engine = engine_of(dev)
    dev.trigger.emit_event("a")
    engine.evaluate()
    assert calls_of(dev, react) == []
    runs = dev.trigger_store.trigger_runs()
    assert len(runs) == 1 and runs[0].invocation_id is None


# --- cron ------------------------------------------------------------------------------------------


def test_cron_fires_once_per_tick_and_starts_at_its_definition(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_cron("* * * * *").with_args_static({"value": 1}))
    def tick(value: int) -> int:
        return value

    clock = Clock()
    engine = engine_of(dev, clock)
    engine.evaluate()
    assert calls_of(dev, tick) == []  # nothing for the past
    for minute in range(1, 6):
        clock.at = T0 + minute * MINUTE + 0.5
        engine.evaluate()
        engine.evaluate()
    assert len(calls_of(dev, tick)) == 5


def test_cron_ticks_fire_once_across_engines_with_skewed_clocks(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_cron("* * * * *"))
    def tick() -> None:
        return None

    real = Clock()
    ahead = Clock()
    engines = [engine_of(dev, real), engine_of(dev, real), engine_of(dev, ahead)]
    engines[0].evaluate()
    for minute in range(1, 6):
        real.at = T0 + minute * MINUTE + 1
        ahead.at = real.at + 90
        for engine in engines:
            engine.evaluate()
    runs = dev.trigger_store.trigger_runs(limit=100)
    ticks = sorted(r.source_id for r in runs)
    assert len(ticks) == len(set(ticks))  # never twice
    assert len(calls_of(dev, tick)) == len(ticks) == 6  # the clock ahead reached one tick early


def test_cron_catches_up_missed_ticks_after_an_outage(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_cron("* * * * *"))
    def tick() -> None:
        return None

    clock = Clock()
    engine = engine_of(dev, clock)
    engine.evaluate()
    clock.at = T0 + 3 * MINUTE + 1  # three ticks while nobody evaluated
    engine.evaluate()
    assert len(calls_of(dev, tick)) == 3


# --- exactly once under crashes ------------------------------------------------------------------


def test_an_evaluation_killed_after_registering_is_replayed_once(dev: Pynenc, monkeypatch: pytest.MonkeyPatch) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("a").with_args_from_event(from_event))
    def react(value: int) -> int:
        return value

    for n in range(3):
        dev.trigger.emit_event("a", {"n": n})
    # When the first engine dies between registering the invocations and storing the runs
    store = dev.trigger_store

    def die(runs: Any) -> list[bool]:
        raise SystemExit("killed")

    monkeypatch.setattr(store, "add_trigger_runs", die)
    with pytest.raises(SystemExit):
        engine_of(dev).evaluate()
    monkeypatch.undo()
    assert len(calls_of(dev, react)) == 3
    # Then another engine replays from the cursor the first one left, and creates nothing twice
    engine_of(dev).evaluate()
    assert sorted(c["value"] for c in calls_of(dev, react)) == ["0", "10", "20"]
    assert len(dev.trigger_store.trigger_runs()) == 3


def test_a_triggered_invocation_links_back_to_its_event(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("a"))
    def react() -> None:
        return None

    event_id = dev.trigger.emit_event("a")
    engine_of(dev).evaluate()
    (run,) = dev.trigger_store.trigger_runs(source_ids=[event_id])
    assert run.source_kind == "event" and run.task_id == react.task_id
    assert dev.trigger_store.trigger_runs(invocation_ids=[run.invocation_id or ""]) == [run]
    assert dev.state_backend.get(run.invocation_id or "") is not None
