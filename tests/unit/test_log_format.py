"""Our log lines have the structure of pynenc's, so tools written for pynenc logs parse ours.

The pattern below is built from pynenc's format (its documentation and source, sample lines in
``tests/fixtures/logs``); it is first checked against those samples, then against our output.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from pynenc_nb import context
from pynenc_nb.logs import JsonFormatter, TextFormatter
from pynenc_nb.records import InvocationRecord, RunnerContext

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
RUNNER = r"[A-Z]+\([^()\s]+\)"
# pynenc: "%(asctime)s %(levelname)-8s %(name)s %(message)s", asctime "YYYY-MM-DD HH:MM:SS.mmm±HH:MM",
# the message prefixed by "[<Parent(id).>Cls(id)<uuid><:task>] " when any context is known.
PYNENC_TEXT = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) "
    r"(?P<level>(?=DEBUG|INFO|WARNING|ERROR|CRITICAL)[A-Z ]{8}) "
    r"(?P<logger>\S+) "
    rf"(?:\[(?P<runners>{RUNNER}(?:\.{RUNNER})?)?(?P<invocation>{UUID})?(?::(?P<task>[^\]\s]+))?\] )?"
    r"(?P<message>.*)$"
)
PYNENC_JSON_KEYS = {"timestamp", "severity", "logger", "message", "text"}
PYNENC_CONTEXT_KEYS = {
    "runner_class",
    "runner_id",
    "parent_runner_class",
    "parent_runner_id",
    "invocation_id",
    "task_id",
}


def _pynenc_lines(name: str) -> list[str]:
    return [line for line in (FIXTURES / name).read_text().splitlines() if line.strip()]


def test_the_pattern_reads_every_pynenc_sample_line() -> None:
    for line in _pynenc_lines("pynenc_text.log"):
        assert PYNENC_TEXT.match(line), line
    for line in _pynenc_lines("pynenc_json.log"):
        data = json.loads(line)
        assert data.keys() >= PYNENC_JSON_KEYS and set(data) - PYNENC_JSON_KEYS <= PYNENC_CONTEXT_KEYS
        assert PYNENC_TEXT.match(data["text"]), data["text"]


def _record(
    message: str = "hello %s", args: tuple[Any, ...] = ("world",), level: int = logging.INFO
) -> logging.LogRecord:
    return logging.LogRecord("pynenc.app.mod.task", level, __file__, 1, message, args, None)


RUNNER_CTX = RunnerContext("0123456789abcdef0123456789abcdef", "ThreadRunner", "host-a", 4242)
PARENT_CTX = RunnerContext("fedcba9876543210fedcba9876543210", "ProcessRunner", "host-a", 4000)
WORKER_CTX = RunnerContext(
    "aaaabbbbccccddddeeeeffff00001111", "ThreadRunner", "host-a", 4243, parent_runner_id=PARENT_CTX.runner_id
)
INVOCATION = InvocationRecord("5d41402abc4b2a76b9719d911017c592", "mod.task", "call", "{}", "{}")


def _format(
    formatter: logging.Formatter,
    runner: RunnerContext | None,
    invocation: bool,
    record: logging.LogRecord | None = None,
) -> str:
    record = record or _record()
    if runner is None and not invocation:
        return formatter.format(record)
    if not invocation:
        with context.in_runner(cast(RunnerContext, runner)):
            return formatter.format(record)
    execution = context.Execution(cast(Any, None), INVOCATION, cast(RunnerContext, runner or RUNNER_CTX))
    with context.executing(execution):
        return formatter.format(record)


def test_a_line_without_context_has_pynenc_structure() -> None:
    line = _format(TextFormatter(), None, False)
    match = PYNENC_TEXT.match(line)
    assert match, line
    assert match["level"] == "INFO    " and match["logger"] == "pynenc.app.mod.task"
    assert match["runners"] is None and match["invocation"] is None and match["message"] == "hello world"
    assert "[" not in line


def test_a_runner_line_has_the_compact_runner_context() -> None:
    match = PYNENC_TEXT.match(_format(TextFormatter(), RUNNER_CTX, False))
    assert match
    assert match["runners"] == "TR(01234567)" and match["invocation"] is None and match["task"] is None


def test_an_invocation_line_has_runner_uuid_and_task() -> None:
    line = _format(TextFormatter(), RUNNER_CTX, True)
    match = PYNENC_TEXT.match(line)
    assert match, line
    assert match["runners"] == "TR(01234567)"
    assert match["invocation"] == "5d41402a-bc4b-2a76-b971-9d911017c592"
    assert match["invocation"].replace("-", "") == INVOCATION.invocation_id
    assert match["task"] == "mod.task" and match["message"] == "hello world"


def test_a_worker_runner_shows_its_parent_first() -> None:
    with context.in_runner(PARENT_CTX):
        TextFormatter().format(_record())  # the parent logs in this process first: its class is known
    match = PYNENC_TEXT.match(_format(TextFormatter(), WORKER_CTX, True))
    assert match and match["runners"] == "PR(fedcba98).TR(aaaabbbb)"


def test_levels_are_padded_to_eight_like_pynenc() -> None:
    for level, padded in ((logging.DEBUG, "DEBUG   "), (logging.WARNING, "WARNING "), (logging.CRITICAL, "CRITICAL")):
        match = PYNENC_TEXT.match(_format(TextFormatter(), None, False, _record(level=level)))
        assert match and match["level"] == padded


def test_passwords_in_messages_are_redacted_in_both_formats() -> None:
    record = _record("connecting to %s", ("redis://user:s3cret@host:6379/0",))
    assert "s3cret" not in _format(TextFormatter(), RUNNER_CTX, True, record)
    assert "s3cret" not in _format(JsonFormatter(), RUNNER_CTX, True, record)


def test_json_lines_carry_pynenc_keys_and_a_pynenc_text_line() -> None:
    bare = json.loads(_format(JsonFormatter(), None, False))
    assert set(bare) == PYNENC_JSON_KEYS
    data = json.loads(_format(JsonFormatter(), RUNNER_CTX, True))
    assert PYNENC_JSON_KEYS | {"runner_class", "runner_id", "invocation_id", "task_id"} <= data.keys()
    assert data["severity"] == "INFO" and data["logger"] == "pynenc.app.mod.task" and data["message"] == "hello world"
    assert data["runner_class"] == "ThreadRunner" and data["runner_id"] == RUNNER_CTX.runner_id
    assert data["invocation_id"] == "5d41402a-bc4b-2a76-b971-9d911017c592" and data["task_id"] == "mod.task"
    assert data["hostname"] == "host-a" and data["pid"] == 4242
    text = PYNENC_TEXT.match(data["text"])
    assert text and text["ts"] == data["timestamp"] and text["invocation"] == data["invocation_id"]
    worker = json.loads(_format(JsonFormatter(), WORKER_CTX, False))
    assert worker["parent_runner_id"] == PARENT_CTX.runner_id and "parent_runner_class" in worker


def test_an_exception_follows_the_line_and_is_a_json_key() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("pynenc.app", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info())
    first, *rest = TextFormatter().format(record).splitlines()
    assert PYNENC_TEXT.match(first) and rest[-1] == "ValueError: boom"
    assert json.loads(JsonFormatter().format(record))["exception"].endswith("ValueError: boom")


def test_log_stream_stdout_sends_the_lines_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    from pynenc_nb.conf import PynencConfig
    from pynenc_nb.logs import configure_logging

    try:
        configure_logging(PynencConfig(log_stream="stdout"))
        logging.getLogger("pynenc.streams").warning("to stdout")
        configure_logging(PynencConfig())
        logging.getLogger("pynenc.streams").warning("to stderr")
    finally:
        configure_logging(PynencConfig(logging_level="warning"))
    captured = capsys.readouterr()
    assert "to stdout" in captured.out and "to stdout" not in captured.err
    assert "to stderr" in captured.err and "to stderr" not in captured.out
