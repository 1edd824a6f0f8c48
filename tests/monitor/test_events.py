"""The monitor's events and triggers: the events page, trigger runs, the triggers list, where an
invocation came from and the timeline's event markers, on every backend the trigger store has.

Trigger runs are made by the real trigger engine, evaluated step by step in the test (no runner:
the invocations it creates stay REGISTERED), or stored through the port when a test needs a shape
the engine makes rarely (a composite run, a provider that failed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cloudpickle
import pytest

from pynenc_nb import InvocationStatus, Pynenc, TriggerBuilder
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.monitor import EventPage, Monitor
from pynenc_nb.records import EventRecord, RunnerContext, TriggerRun, new_id
from pynenc_nb.trigger.engine import TriggerEngine

S = InvocationStatus


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dev(make_app: Callable[..., Pynenc]) -> Pynenc:
    return make_app(dev_mode_force_sync_tasks=True)


def evaluate(app: Pynenc) -> int:
    """One evaluation of the triggers, as the services of a runner would run it."""
    return TriggerEngine(app, RunnerContext.current("TestServices")).evaluate()


def add_events(app: Pynenc, *items: tuple[str, float]) -> list[str]:
    """Events of (code, at) stored through the port (emit_event stamps the current time)."""
    ids = []
    for code, at in items:
        event = EventRecord(new_id(), code, json.dumps({"at": at}), at)
        app.trigger_store.add_event(event)
        ids.append(event.event_id)
    return ids


def pages(read: Callable[[str | None], EventPage]) -> Iterator[EventPage]:
    cursor: str | None = None
    while True:
        page = read(cursor)
        yield page
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# --- the events page ------------------------------------------------------------------------------


def test_events_newest_first_with_payload_and_the_invocations_they_created(dev: Pynenc) -> None:
    # Given a task triggered by one event code, and events of that code and of another
    @dev.task(triggers=TriggerBuilder().on_event("feed_updated").with_args_static({"n": 1}))
    def refresh(n: int) -> int:
        return n

    fed = dev.trigger.emit_event("feed_updated", {"feed": "rss", "items": [1, 2]})
    other = dev.trigger.emit_event("unheard", {})
    assert evaluate(dev) == 1

    # When the events page is read
    page = Monitor(dev).events()

    # Then both events show, newest first, each with its payload as JSON text
    assert [row.event_id for row in page.rows] == [other, fed]
    unheard, updated = page.rows
    assert json.loads(updated.payload) == {"feed": "rss", "items": [1, 2]} and not updated.payload_truncated
    assert (unheard.code, unheard.matched, unheard.runs) == ("unheard", False, ())
    # And the matched one links to its trigger run and the invocation it created, with its status
    assert updated.matched and updated.code == "feed_updated"
    (run,) = updated.runs
    (trigger_id,) = dev.trigger_store.triggers()
    assert (run.trigger_id, run.task_id, run.source_kind, run.source_id) == (trigger_id, refresh.task_id, "event", fed)
    assert run.invocation_id is not None and run.status is S.REGISTERED and run.event_code == "feed_updated"
    record = dev.state_backend.get(run.invocation_id)
    assert record is not None and record.task_id == refresh.task_id
    assert updated.emitted_by is not None and updated.emitted_by.startswith("ExternalCaller(")
    assert page.next_cursor is None and json.loads(json.dumps(page.to_json())) == page.to_json()


def test_filters_by_code_time_window_and_whether_a_trigger_matched(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("deploy", {"region": "eu"}))
    def announce() -> None:
        return None

    t = time.time()
    eu = dev.trigger.emit_event("deploy", {"region": "eu"})
    us = dev.trigger.emit_event("deploy", {"region": "us"})
    ping = dev.trigger.emit_event("ping")
    (old,) = add_events(dev, ("deploy", t - 3600))
    evaluate(dev)
    monitor = Monitor(dev)

    def ids(**filters: Any) -> list[str]:
        return [row.event_id for row in monitor.events(**filters).rows]

    assert ids(code="deploy") == [us, eu, old]
    assert ids(since=t - 1) == [ping, us, eu]
    assert ids(until=t - 1) == [old]
    assert ids(code="deploy", since=t - 7200, until=t - 60) == [old]
    # a payload filter that refused the event: the event did not match
    assert ids(matched=True) == [eu]
    assert ids(matched=False) == [ping, us, old]
    assert ids(code="deploy", matched=False, since=t - 1) == [us]
    assert ids(code="nothing") == []


def test_pages_cover_every_event_once_with_and_without_the_matched_filter(
    dev: Pynenc, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 23 events, every third one of a code a trigger listens to
    @dev.task(triggers=TriggerBuilder().on_event("hit"))
    def react() -> None:
        return None

    t = time.time() - 100
    codes = ["hit" if i % 3 == 0 else "miss" for i in range(23)]
    ids = add_events(dev, *((code, t + i) for i, code in enumerate(codes)))  # opening the store stored the trigger
    evaluate(dev)
    hits = [i for i, code in zip(ids, codes, strict=True) if code == "hit"]
    assert len(dev.trigger_store.trigger_runs(limit=100)) == len(hits)
    monitor = Monitor(dev)
    # small scan batches: the matched filter reads several store pages per page of the answer
    monkeypatch.setattr("pynenc_nb.monitor.events.SCAN_BATCH", 4)

    # When every page is read, then each event comes once, newest first
    def walk(limit: int, matched: bool | None) -> list[str]:
        read = pages(lambda cursor: monitor.events(matched=matched, limit=limit, cursor=cursor))
        return [row.event_id for page in read for row in page.rows]

    for limit in (1, 5, 23, 50):
        assert walk(limit, None) == ids[::-1], limit
        assert walk(limit, True) == hits[::-1], limit
        assert walk(limit, False) == [i for i in ids[::-1] if i not in hits], limit


def test_a_page_of_the_matched_filter_scans_a_bounded_number_of_events(
    dev: Pynenc, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given many events that no trigger matched
    add_events(dev, *(("miss", 1000.0 + i) for i in range(30)))
    monkeypatch.setattr("pynenc_nb.monitor.events.SCAN_BATCH", 5)
    monkeypatch.setattr("pynenc_nb.monitor.events.SCAN_LIMIT", 10)
    monitor = Monitor(dev)
    # When matched ones are asked for, then a page stops after SCAN_LIMIT events, empty, with a cursor
    page = monitor.events(matched=True)
    assert page.rows == () and page.next_cursor is not None
    walked = list(pages(lambda c: monitor.events(matched=True, cursor=c)))
    assert len(walked) == 3 and all(p.rows == () for p in walked)


class Counting:
    """A port whose calls are counted by name (the view must read in bulk, not per row)."""

    def __init__(self, port: Any, calls: dict[str, int]) -> None:
        self._port = port
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._port, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[name] = self._calls.get(name, 0) + 1
            return attribute(*args, **kwargs)

        return counted


@dataclass
class CountingSource:
    app: Pynenc
    calls: dict[str, int]

    @property
    def state_backend(self) -> Any:
        return Counting(self.app.state_backend, self.calls)

    @property
    def trigger_store(self) -> Any:
        return Counting(self.app.trigger_store, self.calls)

    @property
    def conf(self) -> Any:
        return self.app.conf

    @property
    def tasks(self) -> Any:
        return self.app.tasks


def test_a_page_costs_one_read_of_each_kind_whatever_its_size(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("tick").with_logic("or").on_event("tock"))
    def react() -> None:
        return None

    for i in range(12):
        dev.trigger.emit_event("tick" if i % 2 else "tock", {"i": i})
    evaluate(dev)
    calls: dict[str, int] = {}
    page = Monitor(CountingSource(dev, calls)).events(limit=10)
    assert len(page.rows) == 10 and all(len(row.runs) == 1 for row in page.rows)
    assert calls == {"events": 1, "trigger_runs": 1, "get_many": 1, "runners": 1}


def test_payloads_are_bounded_redacted_and_never_decoded(dev: Pynenc, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the monitor must never unpickle")

    monkeypatch.setattr(cloudpickle, "loads", refuse)  # what the codec unpickles with
    dev.trigger.emit_event("big", {"dsn": "redis://user:s3cret@db:6379/0", "blob": "x" * 10_000})
    dev.trigger.emit_event("html", {"note": "<script>alert(1)</script>"})
    markup, big = Monitor(dev).events().rows
    assert big.payload_truncated and len(big.payload) <= 2_001 and big.payload.endswith("…")
    assert "s3cret" not in json.dumps(big.to_json()) and "redis://user:***@db" in big.payload
    assert json.loads(markup.payload) == {"note": "<script>alert(1)</script>"}  # raw text: renderers escape it


@pytest.mark.parametrize(
    ("filters", "argument"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": True}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"since": 10.0, "until": 5.0}, "since"),
        ({"since": "10m"}, "since"),
        ({"code": 3}, "code"),
        ({"code": ""}, "code"),
        ({"matched": "yes"}, "matched"),
    ],
)
def test_bad_arguments_name_the_argument(app: Pynenc, filters: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidMonitorQueryError) as caught:
        Monitor(app).events(**filters)
    assert caught.value.argument == argument


# --- trigger runs and triggers --------------------------------------------------------------------


def test_trigger_runs_newest_first_filtered_by_trigger(dev: Pynenc) -> None:
    @dev.task
    def upstream(x: int) -> int:
        return x

    @dev.task(triggers=TriggerBuilder().on_event("go"))
    def by_event() -> None:
        return None

    @dev.task(triggers=TriggerBuilder().on_status(upstream, S.SUCCESS))
    def by_status() -> None:
        return None

    evaluate(dev)  # the engine starts following the feeds
    go = dev.trigger.emit_event("go")
    done = upstream(1)
    assert done.result == 1
    assert evaluate(dev) == 2
    triggers = {task_id: trigger_id for trigger_id, (task_id, _) in dev.trigger_store.triggers().items()}
    monitor = Monitor(dev)

    runs = monitor.trigger_runs().rows
    assert {(r.task_id, r.source_kind, r.source_id) for r in runs} == {
        (by_event.task_id, "event", go),
        (by_status.task_id, "status", done.invocation_id),
    }
    assert all(r.status is S.REGISTERED and r.invocation_id for r in runs)
    assert [r.at for r in runs] == sorted((r.at for r in runs), reverse=True)
    (event_run,) = monitor.trigger_runs(trigger_id=triggers[by_event.task_id]).rows
    assert (event_run.source_id, event_run.event_code) == (go, "go")
    (status_run,) = monitor.trigger_runs(trigger_id=triggers[by_status.task_id]).rows
    assert status_run.event_code is None
    assert len(monitor.trigger_runs(limit=1).rows) == 1
    assert monitor.trigger_runs(trigger_id="unknown").rows == ()
    with pytest.raises(InvalidMonitorQueryError):
        monitor.trigger_runs(limit=-1)


def test_triggers_are_listed_with_a_summary_of_their_conditions(app: Pynenc) -> None:
    @app.task
    def enrich_article(url: str) -> str:
        return url

    @app.task(triggers=TriggerBuilder().on_event("feed_updated"))
    def on_feed() -> None:
        return None

    @app.task(triggers=TriggerBuilder().on_cron("*/15 * * * *"))
    def every_quarter() -> None:
        return None

    @app.task(
        triggers=TriggerBuilder()
        .on_status(enrich_article, [S.SUCCESS, S.FAILED], {"url": "x"})
        .on_event("deploy", {"region": "eu"})
        .with_logic("or")
    )
    def follow_up() -> None:
        return None

    @app.task(
        triggers=[
            TriggerBuilder().on_exception(enrich_article, ValueError).on_any_result(enrich_article),
            TriggerBuilder().on_result(enrich_article, "done"),
        ]
    )
    def alarm() -> None:
        return None

    app.publish_triggers()
    views = Monitor(app).triggers()
    summaries = {(v.task_id.rsplit(".", 1)[-1], v.summary) for v in views}
    assert summaries == {
        ("on_feed", "on_event feed_updated"),
        ("every_quarter", "on_cron */15 * * * *"),
        ("follow_up", "on_status enrich_article SUCCESS, FAILED (call filter) OR on_event deploy (payload filter)"),
        ("alarm", "on_exception enrich_article ValueError AND on_any_result enrich_article"),
        ("alarm", "on_result enrich_article (result filter)"),
    }
    follow = next(v for v in views if v.task_id == follow_up.task_id)
    assert follow.logic == "or" and follow.event_codes == ("deploy",) and len(follow.conditions) == 2
    assert set(app.trigger_store.triggers()) == {v.trigger_id for v in views}
    assert [v.task_id for v in views] == sorted(v.task_id for v in views)


def test_an_unreadable_definition_is_listed_as_such(app: Pynenc) -> None:
    app.trigger_store.put_triggers(
        {"tests.broken": {"t1": "{not json"}, "tests.odd": {"t2": '{"conditions": [{"kind": "moon"}]}'}}
    )
    views = {v.trigger_id: v for v in Monitor(app).triggers()}
    assert views["t1"].summary == "(definition unreadable)" and views["t1"].conditions == ()
    assert views["t2"].summary == "unknown condition moon"


# --- where an invocation came from ----------------------------------------------------------------


def test_an_invocation_made_by_a_trigger_names_its_trigger_and_event(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("order.placed"))
    def ship() -> None:
        return None

    event_id = dev.trigger.emit_event("order.placed", {"order": 7})
    evaluate(dev)
    (run,) = dev.trigger_store.trigger_runs()
    assert run.invocation_id is not None
    monitor = Monitor(dev)

    origin = monitor.invocation_detail(run.invocation_id).origin
    assert origin is not None
    assert (origin.trigger_id, origin.source_kind, origin.source_id, origin.event_code) == (
        run.trigger_id,
        "event",
        event_id,
        "order.placed",
    )
    assert origin.run_id == run.run_id and origin.at == run.at
    # an invocation called by code has no origin
    direct = ship()
    assert monitor.invocation_detail(direct.invocation_id).origin is None


def test_a_composite_origin_names_the_events_among_its_sources(app: Pynenc) -> None:
    @app.task
    def joined() -> None:
        return None

    call = joined()
    event_id = app.trigger.emit_event("half")
    tick = "2027-01-15T08:00:00+00:00"
    run = TriggerRun(
        new_id(), "t-and", joined.task_id, "composite", f"{event_id},{tick}", call.invocation_id, time.time()
    )
    app.trigger_store.add_trigger_runs([run])
    origin = Monitor(app).invocation_detail(call.invocation_id).origin
    assert origin is not None and origin.source_kind == "composite" and origin.event_code == "half"


# --- timeline markers -----------------------------------------------------------------------------


def test_timeline_event_markers_carry_the_invocations_they_created(dev: Pynenc) -> None:
    @dev.task(triggers=TriggerBuilder().on_event("batch"))
    def first() -> None:
        return None

    @dev.task(triggers=TriggerBuilder().on_event("batch"))
    def second() -> None:
        return None

    start = time.time() - 1
    batch = dev.trigger.emit_event("batch")
    quiet = dev.trigger.emit_event("quiet")
    evaluate(dev)
    created = {r.invocation_id for r in dev.trigger_store.trigger_runs(source_ids=[batch])}
    assert len(created) == 2
    calls: dict[str, int] = {}
    view = Monitor(CountingSource(dev, calls)).timeline(start, None)
    markers = {m.event_id: m for m in view.events}
    assert set(markers[batch].invocation_ids) == created and markers[quiet].invocation_ids == ()
    assert calls["events"] == 1 and calls["trigger_runs"] == 1
    assert {inv.invocation_id for inv in view.invocations} >= created
