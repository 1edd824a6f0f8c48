"""The log explorer's parser over pynenc's and our formats, and its resolution against an app."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.monitor import Monitor
from pynenc_nb.monitor.logs import parse_lines
from pynenc_nb.records import InvocationFilter
from tests.monitor.log_workload import run_logged

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
PYNENC_INVOCATION = "8f238bbb0cba45afb56e5a472e86ea97"  # 8f238bbb-0cba-45af-b56e-5a472e86ea97 in the samples


# --- pynenc's formats ----------------------------------------------------------------------------


def test_pynenc_text_lines_give_level_logger_runner_chain_invocation_and_task() -> None:
    lines = parse_lines((FIXTURES / "pynenc_text.log").read_text())

    assert all(line.parsed and line.format == "text" for line in lines)
    plain, routed, _, chained, single, no_runner, worker = lines
    assert plain.level == "WARNING" and plain.logger == "pynenc.myapp" and plain.runner is None
    assert plain.message == "the broker is slow to answer" and plain.invocation_ids == ()
    assert plain.timestamp == pytest.approx(1772693767.476)  # 2026-03-05 07:56:07.476+01:00
    assert routed.runner is not None and (routed.runner.runner_class, routed.runner.runner_id) == ("TR", "a86ab1f8")
    assert routed.invocation_id is None  # the bracket has only the runner
    assert routed.invocation_ids == ("cc6c0e345d0a4a6e9a592f6b7f0b1c11",)  # invocation:UUID in the message
    assert routed.task_ids == ("pynenc.core_tasks.recover_running_invocations",)
    assert chained.runner is not None
    assert (chained.runner.runner_class, chained.runner.runner_id) == ("MTR", "32002c1a")
    assert (chained.runner.worker_class, chained.runner.worker_id) == ("TR", "1829f97b")
    assert chained.invocation_id == PYNENC_INVOCATION and chained.task_id == "module.func"
    assert chained.message == "running module.func" and chained.runner_ids == ("32002c1a", "1829f97b")
    assert single.runner is not None and single.runner.worker_id is None and single.invocation_id == PYNENC_INVOCATION
    assert no_runner.runner is None and no_runner.invocation_id == PYNENC_INVOCATION and no_runner.level == "ERROR"
    assert worker.runner is not None and (worker.runner.worker_class, worker.runner.worker_id) == ("PPRW", "0c1d2e3f")


def test_pynenc_json_lines_give_the_same_fields() -> None:
    plain, chained, runner_only = parse_lines((FIXTURES / "pynenc_json.log").read_text())

    assert plain.format == "json" and plain.level == "WARNING" and plain.runner is None
    assert chained.format == "json" and chained.invocation_id == PYNENC_INVOCATION and chained.task_id == "module.func"
    assert chained.runner is not None
    assert chained.runner.runner_class == "MultiThreadRunner" and chained.runner.worker_class == "ThreadRunner"
    assert chained.runner.runner_id == "32002c1a-1b2c-4d3e-9f40-5a6b7c8d9e0f"
    assert chained.timestamp == pytest.approx(1772693768.002)
    assert runner_only.runner is not None and runner_only.runner.runner_class == "ThreadRunner"


def test_colours_of_pynenc_terminal_output_are_ignored() -> None:
    line = (
        "2026-03-05 07:56:08.002+01:00 \x1b[32mINFO    \x1b[0m \x1b[34mpynenc.myapp\x1b[0m "
        "\x1b[32m[TR(1829f97b)8f238bbb-0cba-45af-b56e-5a472e86ea97:module.func]\x1b[0m \x1b[32mhello\x1b[0m"
    )
    (parsed,) = parse_lines(line)
    assert parsed.parsed and parsed.invocation_id == PYNENC_INVOCATION and parsed.level == "INFO"


# --- malformed lines, tracebacks, our older format -----------------------------------------------


def test_malformed_lines_are_kept_and_marked_unparsed() -> None:
    text = "\n".join(
        [
            "not a log line at all",
            "2026-03-05 07:56:07.476+01:00 INFO     pynenc.myapp fine",
            "2026-13-45 99:99 NOPE pynenc.x broken",
            '{"timestamp": "2026-03-05 07:56:07.476+01:00", "message": "no level"}',
            "{not json",
            "[1, 2, 3]",
        ]
    )
    lines = parse_lines(text)
    assert [line.parsed for line in lines] == [False, True, False, False, False, False]
    assert [line.number for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0].raw == "not a log line at all" and lines[0].format == "unparsed" and lines[0].level is None
    assert lines[4].raw == "{not json"


def test_a_traceback_stays_with_its_line() -> None:
    text = (
        "2026-03-05 07:56:07.476+01:00 ERROR    pynenc.myapp [TR(1829f97b)] failed\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ValueError: boom\n"
        "\n"
        "stray text\n"
    )
    failed, stray = parse_lines(text)
    assert failed.parsed and failed.raw.endswith("ValueError: boom") and failed.message == "failed"
    assert not stray.parsed and stray.number == 6


def test_a_bracket_that_is_not_a_context_stays_in_the_message() -> None:
    (line,) = parse_lines("2026-03-05 07:56:07.476+01:00 INFO     pynenc.myapp [queue default] empty")
    assert line.parsed and line.runner is None and line.message == "[queue default] empty"


def test_our_older_format_still_parses() -> None:
    text = (
        "2026-12-01T10:00:00.000Z INFO pynenc.app.t [ThreadRunner(0123abcd@host-a:42) "
        "5d41402abc4b2a76b9719d911017c592:mod.t] said\n"
        '{"ts": "2026-12-01T10:00:00.000Z", "level": "INFO", "logger": "pynenc.app", "runner": '
        '"ThreadRunner(0123abcd@host-a:42)", "runner_id": "0123abcd99", "invocation_id": null, "task_id": null, '
        '"message": "started"}'
    )
    text_line, json_line = parse_lines(text)
    assert text_line.runner is not None and text_line.runner.hostname == "host-a" and text_line.runner.pid == 42
    assert text_line.invocation_id == "5d41402abc4b2a76b9719d911017c592" and text_line.task_id == "mod.t"
    assert json_line.runner is not None and json_line.runner.runner_class == "ThreadRunner"
    assert json_line.runner.pid == 42 and json_line.timestamp == pytest.approx(1796119200.0)


def test_too_large_a_paste_is_refused() -> None:
    with pytest.raises(InvalidMonitorQueryError):
        parse_lines("x\n" * 20_001)


# --- resolution over a real run ------------------------------------------------------------------


@pytest.fixture
def backend_kind() -> str:
    return "sqlite"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_invocation_of_a_1000_line_log_of_a_real_run_resolves(
    make_app: Callable[..., Pynenc], tmp_path: Path, log_format: str
) -> None:
    # Given a SQLite app run on a ThreadRunner, logging at DEBUG to a file in the format
    app = make_app(logging_level="debug")
    log = tmp_path / f"run.{log_format}.log"
    roots = run_logged(app, log, log_format)
    text = log.read_text(encoding="utf-8")
    assert len(text.splitlines()) >= 1000
    # When the whole log is pasted
    view = Monitor(app).logs(text)
    # Then every line parsed, in that format
    assert view.unparsed == 0 and {line.format for line in view.lines} == {log_format}
    # and every invocation the lines carry resolved: the roots and their children
    every = {r.invocation_id for r in app.state_backend.query(InvocationFilter(), limit=5000)[0]}
    in_context = {line.invocation_id for line in view.lines if line.invocation_id}
    assert set(roots) <= in_context <= every
    assert all(inv.found for inv in view.invocations)
    assert {inv.invocation_id for inv in view.invocations} >= in_context
    # and the runner the lines name is found, and highlighted in the timeline of those invocations
    (runner_id,) = {ref.runner_id for ref in view.runners}
    assert runner_id is not None and runner_id in view.highlighted_lanes
    assert {inv.invocation_id for inv in view.timeline.invocations} == {inv.invocation_id for inv in view.invocations}
    assert json.dumps(view.to_json())


def test_unknown_and_guessed_ids_are_told_apart(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()
    text = (
        "2026-03-05 07:56:08.002+01:00 INFO     pynenc.myapp "
        "[TR(1829f97b)8f238bbb-0cba-45af-b56e-5a472e86ea97:module.func] saw 0123456789abcdef0123456789abcdef\n"
        "garbage"
    )
    view = Monitor(app).logs(text)
    (unknown,) = view.invocations  # the context id is listed, not found; the bare id was only a guess
    assert unknown.invocation_id == PYNENC_INVOCATION and not unknown.found and unknown.invocation is None
    assert unknown.lines == (1,)
    (runner,) = view.runners
    assert runner.written == "1829f97b" and runner.runner_id is None
    assert view.parsed == 1 and view.unparsed == 1 and view.timeline.invocations == ()
