"""``%load_ext pynenc_nb`` and the ``%pynenc`` line magic, in IPython's in-process shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.terminal.interactiveshell import TerminalInteractiveShell
from IPython.testing.globalipapp import start_ipython

from kernel_magics import launchers
from kernel_magics.magics import PynencMagics
from kernel_magics.session import NotebookSession, Rendered
from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.exceptions import TriggerError
from pynenc_nb.launched_runners import LaunchedRunners
from pynenc_nb.records import new_id
from pynenc_nb.widgets import EventsBrowser
from tests.notebook_layer.support import TIMEOUT_S
from tests.support.oracle import assert_histories_valid


@pytest.fixture
def ip(tmp_path: Path) -> Iterator[Any]:
    """The shared in-process shell with the extension loaded and a fresh ``%pynenc`` session."""
    shell = start_ipython() or TerminalInteractiveShell.instance()  # it returns the shell on the first call only
    result = shell.run_cell("%load_ext pynenc_nb")
    assert result.success, result.error_in_exec
    shell.register_magics(PynencMagics(shell))  # a fresh session: no app chosen by an earlier test
    before = set(shell.user_ns)
    yield shell
    apps = [v for k, v in shell.user_ns.items() if k not in before and isinstance(v, Pynenc)]
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
    for app in apps:
        launchers.stop_all(app)
        try:
            assert_histories_valid(app)
        finally:
            app.close()


def magic(ip: Any, line: str) -> Any:
    return ip.run_line_magic("pynenc", line)


def cell(ip: Any, code: str) -> None:
    result = ip.run_cell(code)
    assert result.success, result.error_in_exec or result.error_before_exec


def memory_app(ip: Any, name: str = "app", app_id: str | None = None, **values: Any) -> Pynenc:
    values = {"backend_url": "memory:", "logging_level": "warning", **values}
    app_id = app_id or f"nb-{new_id()[:8]}"
    cell(ip, f"from pynenc_nb import Pynenc\n{name} = Pynenc(app_id={app_id!r}, config_values={values!r})")
    return ip.user_ns[name]  # type: ignore[no-any-return]


def sqlite_app(ip: Any, tmp_path: Path, name: str = "app") -> Pynenc:
    return memory_app(ip, name, backend_url=f"sqlite://{tmp_path / 'nb.db'}")


# --- loading and rendering ----------------------------------------------------------------------


def test_load_ext_registers_the_pynenc_line_magic(ip: Any) -> None:
    assert "pynenc_nb" in ip.extension_manager.loaded
    assert isinstance(ip.find_line_magic("pynenc").__self__, PynencMagics)
    # loading again is harmless
    cell(ip, "%load_ext pynenc_nb")


def test_status_renders_text_and_escaped_html(ip: Any) -> None:
    # Given an app whose id holds HTML metacharacters, with one finished invocation
    app = memory_app(ip, app_id="a<b>&c", dev_mode_force_sync_tasks=True)
    cell(ip, "@app.task\ndef double(x):\n    return 2 * x\nassert double(4).result == 8")
    # When %pynenc status runs
    rendered = magic(ip, "status")
    # Then the text names the app, the backend and the counts
    assert isinstance(rendered, Rendered)
    assert "app a<b>&c on memory:" in repr(rendered)
    assert "SUCCESS" in repr(rendered)
    # And the HTML table escapes everything it shows
    html = rendered._repr_html_()
    assert "a&lt;b&gt;&amp;c" in html and "a<b>" not in html
    assert "<th style='text-align:left'>SUCCESS</th><td style='text-align:left'>1</td>" in html
    assert_histories_valid(app)


def test_status_from_a_cell_displays_the_rendered_summary(ip: Any) -> None:
    memory_app(ip, app_id="shown-app")
    result = ip.run_cell("%pynenc status")
    assert result.success and isinstance(result.result, Rendered)
    assert "shown-app" in repr(result.result)


def test_config_masks_secrets_and_escapes_html(ip: Any) -> None:
    memory_app(ip, queues="<q>&,default", serializer_secret="s3cr3t-value")
    rendered = magic(ip, "config")
    text = repr(rendered)
    assert "serializer_secret" in text and "***" in text and "s3cr3t-value" not in text
    assert "<q>&" in text
    html = rendered._repr_html_()
    assert "s3cr3t-value" not in html
    assert "&lt;q&gt;&amp;" in html and "<q>" not in html


# --- choosing the app -----------------------------------------------------------------------------


def test_without_an_app_the_magic_says_to_create_one(ip: Any) -> None:
    with pytest.raises(UsageError, match=r"no Pynenc app in this notebook yet"):
        magic(ip, "status")


def test_app_expression_that_is_not_an_app_is_refused(ip: Any) -> None:
    cell(ip, "not_an_app = 3")
    with pytest.raises(UsageError, match=r"'not_an_app' is a int, not a Pynenc app"):
        magic(ip, "app not_an_app")


def test_app_expression_that_fails_is_a_usage_error(ip: Any) -> None:
    with pytest.raises(UsageError, match=r"no_such_name"):
        magic(ip, "app no_such_name")


def test_with_two_apps_the_magic_asks_to_choose_and_app_expr_chooses(ip: Any) -> None:
    memory_app(ip, "first", app_id="first-app")
    memory_app(ip, "second", app_id="second-app")
    # Given two apps, the magic cannot guess
    with pytest.raises(UsageError, match=r"several apps \(first, second\): choose one with %pynenc app NAME"):
        magic(ip, "status")
    # When one is chosen by an expression (spaces and all)
    chosen = magic(ip, "app [first, second][1]")
    # Then it is the one the magic acts on
    assert chosen is ip.user_ns["second"]
    assert "app second-app on memory:" in repr(magic(ip, "status"))


# --- events ---------------------------------------------------------------------------------------


def stored_events(app: Pynenc) -> list[tuple[str, str, Any]]:
    events, _ = app.trigger_store.events()
    return [(e.event_id, e.code, json.loads(e.payload)) for e in events]


def test_emit_stores_an_event_with_its_payload_and_prints_its_id(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    app = memory_app(ip)
    event_id = magic(ip, """emit ORDER_PLACED '{"a": 1}'""")
    assert stored_events(app) == [(event_id, "ORDER_PLACED", {"a": 1})]
    assert f"event ORDER_PLACED emitted: {event_id}" in capsys.readouterr().out


def test_emit_in_a_cell_prints_the_id_once(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    app = memory_app(ip)
    cell(ip, "%pynenc emit PING\n%pynenc emit PONG")
    printed = capsys.readouterr().out
    (pong, _, _), (ping, _, _) = stored_events(app)
    assert printed.count(f"emitted: {ping}") == 1 and printed.count(f"emitted: {pong}") == 1


def test_emit_keeps_an_unquoted_json_payload_as_typed(ip: Any) -> None:
    app = memory_app(ip)
    cell(ip, 'order_id = 7\n%pynenc emit ORDER {"id": 3, "note": "a b", "tag": "$order_id {x}"}')
    ((_, code, payload),) = stored_events(app)
    assert (code, payload) == ("ORDER", {"id": 3, "note": "a b", "tag": "$order_id {x}"})


def test_emit_without_payload_stores_an_empty_one(ip: Any) -> None:
    app = memory_app(ip)
    magic(ip, "emit PING")
    assert [(code, payload) for _, code, payload in stored_events(app)] == [("PING", {})]


@pytest.mark.parametrize("payload", ["'{bad'", "'[1, 2]'", "'\"text\"'"])
def test_emit_with_a_payload_that_is_not_a_json_object_is_a_usage_error(ip: Any, payload: str) -> None:
    app = memory_app(ip)
    with pytest.raises(UsageError, match=r"the event payload must be a JSON object"):
        magic(ip, f"emit ORDER_PLACED {payload}")
    assert stored_events(app) == []


def test_a_bad_payload_is_a_trigger_error_of_the_session(ip: Any) -> None:
    memory_app(ip)
    session = NotebookSession(lambda: ip.user_ns)
    with pytest.raises(
        TriggerError, match=r"event ORDER: the event payload must be a JSON object.*'\{bad' is not valid JSON"
    ):
        session.emit("ORDER", "{bad")


def test_events_shows_the_events_browser_with_its_filters(ip: Any) -> None:
    memory_app(ip)
    magic(ip, """emit feed_updated '{"n": 1}'""")
    magic(ip, "emit other")
    browser = magic(ip, "events --code feed_updated --since 10m --limit 5 --no-live")
    assert isinstance(browser, EventsBrowser) and not browser.live and browser.limit == 5
    assert [row.code for row in browser.page.rows] == ["feed_updated"]
    assert [row.code for row in magic(ip, "events").page.rows] == ["other", "feed_updated"]
    assert magic(ip, "events --matched").matched is True
    assert magic(ip, "events --unmatched").page.rows[0].code == "other"


def test_events_with_a_bad_window_is_a_usage_error(ip: Any) -> None:
    memory_app(ip)
    with pytest.raises(UsageError, match="since"):
        magic(ip, "events --since yesterday")


def test_kill_ends_invocations_killed_by_id_or_variable_and_says_what_it_did(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = memory_app(ip)
    cell(ip, "@app.task\ndef slow(x: int) -> int:\n    return x\nfirst = slow(1)\nsecond = slow(2)")
    first, second = ip.user_ns["first"], ip.user_ns["second"]

    statuses = magic(ip, f"kill {first.invocation_id} second --reason 'not needed'")

    assert statuses == {first.invocation_id: InvocationStatus.KILLED, second.invocation_id: InvocationStatus.KILLED}
    assert first.status is InvocationStatus.KILLED and second.status is InvocationStatus.KILLED
    assert first.history()[-1].reason == "not needed"
    printed = capsys.readouterr().out
    assert f"{first.invocation_id}: KILLED" in printed and f"{second.invocation_id}: KILLED" in printed
    assert magic(ip, "kill first") == {first.invocation_id: InvocationStatus.KILLED}, "a final one stays as it is"
    assert app.orchestrator.get(first.invocation_id).status is InvocationStatus.KILLED


def test_kill_of_an_unknown_invocation_is_a_usage_error(ip: Any) -> None:
    memory_app(ip)
    with pytest.raises(UsageError, match=r"no invocation 'nope'"):
        magic(ip, "kill nope")


# --- parsing --------------------------------------------------------------------------------------


def test_unknown_subcommand_is_a_usage_error_listing_the_commands(ip: Any) -> None:
    with pytest.raises(UsageError, match=r"invalid choice: 'bogus' \(choose from 'app', 'status', 'config'"):
        magic(ip, "bogus")


def test_unknown_runner_kind_is_a_usage_error_listing_the_kinds(ip: Any) -> None:
    memory_app(ip)
    with pytest.raises(UsageError, match=r"unknown runner kind 'cluster': use one of thread, process, kernel, remote"):
        magic(ip, "runner start --kind cluster")
    assert LaunchedRunners().all() == []


def test_runner_stop_without_name_or_all_is_a_usage_error(ip: Any) -> None:
    memory_app(ip)
    with pytest.raises(UsageError, match=r"runner stop NAME \| --all"):
        magic(ip, "runner stop")


# --- runners --------------------------------------------------------------------------------------


def test_process_runner_on_a_memory_app_says_to_use_sqlite_or_redis(ip: Any) -> None:
    memory_app(ip)
    with pytest.raises(UsageError) as caught:
        magic(ip, "runner start --kind process")
    message = str(caught.value)
    assert "'memory:' lives in this process only" in message
    assert "SQLite" in message and "Redis" in message
    assert LaunchedRunners().all() == [] and launchers.default_launchers().process.popens == {}


def test_thread_runner_on_a_memory_app_runs_cell_tasks(ip: Any) -> None:
    app = memory_app(ip)
    cell(ip, "@app.task\ndef double(x):\n    return 2 * x")
    # When a thread runner starts in this kernel
    started = magic(ip, "runner start --kind thread --workers 2 --name '<in-kernel>'")
    assert [row[0] for row in started.grid] == ["<in-kernel>"] and started.grid[0][-1] == "running"
    assert "&lt;in-kernel&gt;" in started._repr_html_() and "<in-kernel>" not in started._repr_html_()
    # Then cells' calls run on it
    cell(ip, f"results = sorted(double.parallelize([(i,) for i in range(5)]).iter_results(timeout={TIMEOUT_S}))")
    assert ip.user_ns["results"] == [0, 2, 4, 6, 8]
    # And it stops on request
    stopped = magic(ip, "runner stop '<in-kernel>'")
    assert stopped.grid == [["<in-kernel>", "stopped"]]
    assert LaunchedRunners().all() == []
    assert_histories_valid(app)


def test_a_thread_launch_honours_the_runner_class(ip: Any, tmp_path: Path) -> None:
    import os

    app = sqlite_app(ip, tmp_path)
    cell(ip, "import os\n@app.task\ndef where(x):\n    return os.getpid()")
    # When a ProcessRunner is asked for inside the kernel
    magic(ip, "runner start --kind thread --runner ProcessRunner --workers 1 --name forks")
    # Then calls run in a child process it forks, not in the kernel's threads
    cell(ip, f"pid = where(1).result_or({TIMEOUT_S})")
    assert ip.user_ns["pid"] != os.getpid()
    (info,) = [i for i in app.state_backend.runners() if i.context.runner_cls == "ProcessRunner"]
    assert json.loads(info.details)["name"] == "forks"
    magic(ip, "runner stop forks")


def test_runner_list_shows_name_kind_pid_runner_id_heartbeat_and_state(ip: Any, tmp_path: Path) -> None:
    app = sqlite_app(ip, tmp_path)
    magic(ip, "runner start --kind thread --name here")
    magic(ip, "runner start --kind process --name there --detach")
    rendered = magic(ip, "runner list")
    assert rendered.header == ["name", "kind", "pid / kernel", "runner id", "heartbeat", "state"]
    rows = {row[0]: row for row in rendered.grid}
    entries = {entry.name: entry for entry in LaunchedRunners().all()}
    backend = {
        json.loads(info.details or "{}").get("name"): info
        for info in app.state_backend.runners()
        if info.state != "client"
    }
    for name, kind in (("here", "thread"), ("there", "process (detached)")):
        row = rows[name]
        assert row[1] == kind
        assert row[2] == str(entries[name].pid)
        assert row[3] == backend[name].context.runner_id[:12]
        assert row[4].endswith("s ago") and float(row[4].removesuffix("s ago")) < app.conf.runner_dead_after_s
        assert row[5] == "running"
    assert rows["there"][2] != rows["here"][2]  # its own process
    text = repr(rendered)
    assert all(name in text for name in ("here", "there", "running"))
    stopped = magic(ip, "runner stop --all")
    assert sorted(stopped.grid) == [["here", "stopped"], ["there", "stopped"]]
    assert repr(magic(ip, "runner list")) == "(none)"


def test_runner_logs_returns_the_last_lines_of_the_runner_log(ip: Any, tmp_path: Path) -> None:
    sqlite_app(ip, tmp_path)
    # Given a process runner and a cell-defined task that prints to its log
    magic(ip, "runner start --kind process --name printer")
    cell(
        ip,
        "@app.task\n"
        "def chatty(n):\n"
        "    for i in range(n):\n"
        "        print(f'line-{i}', flush=True)\n"
        "    return n\n"
        f"assert chatty(12).result_or({TIMEOUT_S}) == 12",
    )
    # When the last 3 lines are asked for
    logs = magic(ip, "runner logs printer --tail 3")
    # Then exactly those come back
    assert repr(logs).splitlines() == ["line-9", "line-10", "line-11"]
    assert len(repr(magic(ip, "runner logs printer --tail 5")).splitlines()) == 5
    with pytest.raises(UsageError, match=r"no launched runner named 'nobody'"):
        magic(ip, "runner logs nobody")
    magic(ip, "runner stop printer")


def test_two_runner_start_lines_in_one_cell_show_both_runners(ip: Any) -> None:
    from IPython.utils.capture import capture_output

    memory_app(ip)
    with capture_output(display=True) as captured:
        cell(ip, "%pynenc runner start --kind thread --name first\n%pynenc runner start --kind thread --name second")
    shown = [o.data.get("text/plain", "") for o in captured.outputs]
    assert len(shown) == 2, shown
    assert "first" in shown[0] and "second" in shown[1]
    magic(ip, "runner stop --all")


def test_a_kernel_runner_logs_info_to_its_log_file_not_to_the_cell(ip: Any) -> None:
    import logging

    memory_app(ip, logging_level="info")
    cell(ip, "@app.task\ndef chatty(x):\n    chatty.logger.info('working on %s', x)\n    return x")
    magic(ip, "runner start --kind thread --name talker")
    cell(ip, f"assert chatty(5).result_or({TIMEOUT_S}) == 5")
    # Then the notebook's console handler shows warnings and errors only
    (console,) = [h for h in logging.getLogger("pynenc").handlers if h.get_name() == "pynenc_nb"]
    assert console.level == logging.WARNING
    # And the runner's INFO lines are in its log, read with %pynenc runner logs
    logs = magic(ip, "runner logs talker").text
    assert "working on 5" in logs and " INFO " in logs
    magic(ip, "runner stop talker")
