"""The events, triggers and trigger-runs routes of the Jupyter server extension, and the origin in an
invocation's detail, against a real server and a SQLite app whose triggers fired."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import Pynenc, TriggerBuilder
from pynenc_nb.app_registry import public_key
from pynenc_nb.records import RunnerContext, new_id
from pynenc_nb.trigger.engine import TriggerEngine
from tests.jupyter_server.conftest import SECRET, Opaque
from tests.jupyter_server.test_handlers import Fetch, error, get
from tests.support.oracle import assert_histories_valid


@dataclass
class Triggered:
    app: Pynenc
    key: str
    fed: str  # an event a trigger fired on
    other: str  # one no trigger listens to
    created: str  # the invocation the trigger run created
    trigger_id: str
    filter_pickle: str  # how the trigger's payload filter value is stored


@pytest.fixture
def triggered(tmp_path: Path, registry_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Triggered]:
    """A SQLite app in the server's root, a trigger on ``feed_updated`` and one with a pickled
    filter value, two events and one evaluation of the triggers (no runner: the run's invocation
    stays REGISTERED)."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite://{tmp_path / 'events.db'}"
    app = Pynenc(config_values={"app_id": f"events-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})

    @app.task(triggers=TriggerBuilder().on_event("feed_updated"))
    def refresh() -> None:
        return None

    @app.task(triggers=TriggerBuilder().on_event("never", {"thing": Opaque("filter-value")}))
    def unlikely() -> None:
        return None

    try:
        fed = app.trigger.emit_event("feed_updated", {"feed": "rss", "dsn": f"redis://u:{SECRET}@db:6379/0"})
        other = app.trigger.emit_event("unheard", {"n": 1})
        TriggerEngine(app, RunnerContext.current("TestServices")).evaluate()
        (run,) = app.trigger_store.trigger_runs()
        assert run.invocation_id is not None
        stored = next(text for task_id, text in app.trigger_store.triggers().values() if task_id == unlikely.task_id)
        static = json.loads(stored)["conditions"][0]["payload"]["static"]
        pickled = json.loads(static)["thing"]["v"]
        assert "pickle" in static and pickled, "the filter value was expected to be pickled"
        yield Triggered(app, public_key(app.app_id, url), fed, other, run.invocation_id, run.trigger_id, pickled)
        assert_histories_valid(app)
    finally:
        app.close()


async def test_events_come_newest_first_with_payload_and_created_invocations(
    jp_fetch: Fetch, triggered: Triggered
) -> None:
    page = await get(jp_fetch, "apps", triggered.key, "events")
    assert [row["event_id"] for row in page["items"]] == [triggered.other, triggered.fed]
    assert page["next_cursor"] is None
    unheard, fed = page["items"]
    assert unheard["matched"] is False and unheard["runs"] == []
    assert fed["matched"] is True and json.loads(fed["payload"])["feed"] == "rss"
    (run,) = fed["runs"]
    assert (run["trigger_id"], run["invocation_id"], run["status"]) == (
        triggered.trigger_id,
        triggered.created,
        "REGISTERED",
    )
    assert run["source_kind"] == "event" and run["event_code"] == "feed_updated"


async def test_events_filter_by_code_window_and_match_and_page_by_cursor(jp_fetch: Fetch, triggered: Triggered) -> None:
    def ids(page: Any) -> list[str]:
        return [row["event_id"] for row in page["items"]]

    key = triggered.key
    assert ids(await get(jp_fetch, "apps", key, "events", code="feed_updated")) == [triggered.fed]
    assert ids(await get(jp_fetch, "apps", key, "events", matched="true")) == [triggered.fed]
    assert ids(await get(jp_fetch, "apps", key, "events", matched="no")) == [triggered.other]
    assert ids(await get(jp_fetch, "apps", key, "events", since="10m")) == [triggered.other, triggered.fed]
    assert ids(await get(jp_fetch, "apps", key, "events", until="10m")) == []
    first = await get(jp_fetch, "apps", key, "events", limit="1")
    assert ids(first) == [triggered.other] and first["next_cursor"]
    second = await get(jp_fetch, "apps", key, "events", limit="1", cursor=first["next_cursor"])
    assert ids(second) == [triggered.fed] and second["next_cursor"] is None


async def test_triggers_and_their_runs(jp_fetch: Fetch, triggered: Triggered) -> None:
    listed = (await get(jp_fetch, "apps", triggered.key, "triggers"))["items"]
    summaries = sorted(t["summary"] for t in listed)
    assert summaries == ["on_event feed_updated", "on_event never (payload filter)"]
    runs = (await get(jp_fetch, "apps", triggered.key, "trigger_runs"))["items"]
    assert [r["invocation_id"] for r in runs] == [triggered.created]
    mine = await get(jp_fetch, "apps", triggered.key, "trigger_runs", trigger=triggered.trigger_id, limit="5")
    assert [r["source_id"] for r in mine["items"]] == [triggered.fed]
    assert (await get(jp_fetch, "apps", triggered.key, "trigger_runs", trigger="other"))["items"] == []


async def test_an_invocation_detail_names_the_event_that_created_it(jp_fetch: Fetch, triggered: Triggered) -> None:
    detail = await get(jp_fetch, "apps", triggered.key, "invocations", triggered.created)
    origin = detail["origin"]
    assert (origin["trigger_id"], origin["source_kind"], origin["source_id"], origin["event_code"]) == (
        triggered.trigger_id,
        "event",
        triggered.fed,
        "feed_updated",
    )


async def test_bad_event_parameters_are_a_400_naming_them(jp_fetch: Fetch, triggered: Triggered) -> None:
    for route, params, argument in (
        ("events", {"limit": "0"}, "limit"),
        ("events", {"limit": "501"}, "limit"),
        ("events", {"matched": "maybe"}, "matched"),
        ("events", {"since": "yesterday"}, "since"),
        ("events", {"cursor": "not-a-cursor"}, "cursor"),
        ("trigger_runs", {"limit": "x"}, "limit"),
    ):
        code, reply = await error(jp_fetch, "apps", triggered.key, route, **params)
        assert code == 400 and argument in reply["message"], (route, params, reply)
    code, _ = await error(jp_fetch, "apps", "no-such-key", "events")
    assert code == 404


async def test_no_event_answer_carries_a_pickle_a_url_or_a_password(jp_fetch: Fetch, triggered: Triggered) -> None:
    bodies = [
        json.dumps(await get(jp_fetch, "apps", triggered.key, route))
        for route in ("events", "triggers", "trigger_runs")
    ]
    bodies.append(json.dumps(await get(jp_fetch, "apps", triggered.key, "invocations", triggered.created)))
    for text in bodies:
        assert SECRET not in text and triggered.filter_pickle[:40] not in text
        assert triggered.app.conf.backend_url not in text and "sqlite://" not in text and '"pickle"' not in text
    assert "redis://u:***@db" in bodies[0]  # the payload's URL, password redacted
