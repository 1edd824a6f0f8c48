"""Events in a real JupyterLab: an event emitted by the app shows in the sidebar's Events section with
the invocation its trigger created, which opens with "created by" naming the trigger and the event;
the Events panel lists every event and filters them by code and by whether a trigger fired."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from pynenc_nb.app_registry import public_key
from pynenc_nb.records import RunnerContext
from pynenc_nb.trigger.engine import TriggerEngine
from tests.browser.notebook import wait_for
from tests.browser.server import JupyterLab, poll
from tests.support.oracle import assert_histories_valid

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import PageLog, ScreenshotTaker

pytestmark = pytest.mark.browser
TIMEOUT_S = 20.0
MODULE = "events_tasks"
APP_ID = "events-demo"
SIDEBAR = "#pynenc-sidebar"
SIDEBAR_TAB = '.jp-SideBar li[data-id="pynenc-sidebar"]'
EVENTS_PANEL = ".pynenc-events-panel"
TASKS_SOURCE = textwrap.dedent(
    f'''\
    """Tasks of the events browser test: a SQLite app next to the notebooks JupyterLab serves."""
    from pathlib import Path

    from pynenc_nb import Pynenc, TriggerBuilder

    app = Pynenc(
        config_values={{
            "app_id": "{APP_ID}",
            "backend_url": f"sqlite://{{Path(__file__).resolve().with_name('events.db')}}",
            "logging_level": "warning",
        }}
    )


    @app.task(triggers=TriggerBuilder().on_event("feed_updated"))
    def refresh_feed() -> None:
        return None
    '''
)


@dataclass(frozen=True)
class Emitted:
    key: str
    fed: str  # the event its trigger fired on
    ignored: str  # an event no trigger listens to
    created: str  # the invocation the trigger created
    trigger_id: str


@pytest.fixture
def emitted(jupyter_lab: JupyterLab) -> Iterator[Emitted]:
    """The tasks module in the served folder, two events, and one evaluation of the triggers (as a
    runner's services would do; no runner here, so the invocation created stays REGISTERED)."""
    root = jupyter_lab.root_dir
    (root / f"{MODULE}.py").write_text(TASKS_SOURCE)
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(MODULE)
    finally:
        sys.path.remove(str(root))
    app = module.app
    try:
        fed = app.trigger.emit_event("feed_updated", {"feed": "rss", "note": "<b>not markup</b>"})
        ignored = app.trigger.emit_event("nobody_listens", {"n": 1})
        TriggerEngine(app, RunnerContext.current("TestServices")).evaluate()
        (run,) = app.trigger_store.trigger_runs()
        assert run.invocation_id is not None
        yield Emitted(public_key(APP_ID, app.conf.backend_url), fed, ignored, run.invocation_id, run.trigger_id)
        assert_histories_valid(app)
    finally:
        app.close()
        sys.modules.pop(MODULE, None)


def test_the_events_section_and_panel_show_events_and_what_they_created(
    jupyter_lab: JupyterLab, emitted: Emitted, page: Page, page_log: PageLog, screenshot: ScreenshotTaker
) -> None:
    # Given JupyterLab in a clean workspace and an app that emitted two events, one of which fired a trigger
    page.goto(jupyter_lab.url("lab", reset=""))

    # When the Pynenc sidebar is opened on that app
    wait_for(page, SIDEBAR_TAB).click()
    sidebar = show_app(page, emitted.key)

    # Then its Events section lists both, the fired one with the invocation its trigger created
    fed = sidebar.locator(".pynenc-events li", has_text="feed_updated")
    fed.wait_for(timeout=TIMEOUT_S * 1000)
    assert fed.locator(".pynenc-event-made").inner_text() == "→ 1 invocation"
    assert "pynenc-matched" in (fed.get_attribute("class") or "")
    ignored = sidebar.locator(".pynenc-events li", has_text="nobody_listens")
    assert ignored.locator(".pynenc-event-made").inner_text() == "no trigger"
    assert sidebar.locator(".pynenc-events b").count() == 0, "payloads must never be parsed as HTML"
    screenshot("sidebar-events")

    # When the created invocation is opened from the event
    fed.get_by_role("link", name=emitted.created[:10]).click()

    # Then its panel says which trigger and which event created it
    panel = wait_for(page, ".jp-MainAreaWidget .pynenc-invocation-panel .pynenc-detail h2")
    assert "refresh_feed" in panel.inner_text()
    created_by = page.locator(".pynenc-invocation-panel .pynenc-fields tr", has_text="created by")
    poll(lambda: "feed_updated" in created_by.inner_text(), TIMEOUT_S, "the origin row")
    text = created_by.inner_text()
    assert emitted.trigger_id[:10] in text and emitted.fed in text, text
    screenshot("created-by")

    # When the Events panel is opened and filtered to events no trigger fired on
    sidebar.get_by_role("link", name="all events").click()
    events = wait_for(page, f".jp-MainAreaWidget {EVENTS_PANEL} table")
    poll(lambda: events.locator("tr").count() == 3, TIMEOUT_S, "both events in the panel")
    assert events.locator(".pynenc-badge").all_inner_texts() == ["REGISTERED"]
    screenshot("events-panel")
    page.locator(f"{EVENTS_PANEL} select.pynenc-events-matched").select_option("false")
    poll(lambda: rows_of(events) == [["nobody_listens"]], TIMEOUT_S, "only the ignored event")
    page.locator(f"{EVENTS_PANEL} select.pynenc-events-matched").select_option("")
    page.locator(f"{EVENTS_PANEL} input.pynenc-events-code").fill("feed_updated")
    page.locator(f"{EVENTS_PANEL} input.pynenc-events-code").press("Enter")
    poll(lambda: rows_of(events) == [["feed_updated"]], TIMEOUT_S, "only feed_updated")
    screenshot("events-filtered")

    assert page_log.page_errors == []
    ours = [line for line in page_log.console_errors if "pynenc" in line.lower()]
    assert ours == [], ours


def show_app(page: Page, key: str) -> Locator:
    sidebar = wait_for(page, SIDEBAR)
    wait_for(page, f'{SIDEBAR} select.pynenc-app-select option[value="{key}"]', state="attached")
    sidebar.locator("select.pynenc-app-select").select_option(key)
    return sidebar


def rows_of(events_table: Locator) -> list[list[str]]:
    """The code column of every row of the events table, read at once (the panel redraws it)."""
    return [[code] for code in events_table.locator("tr td:nth-child(2)").all_inner_texts()]
