"""What a runner process writes on stderr: pynenc's text format, or one JSON object per line."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from tests.e2e.support import RUNNER_ARGS, TIMEOUT_S, cli_runner, registrations, runner_args

APP = ("--app", "tests.support.tasks_app:app", "runner", "start")
TASK_ID = "tests.support.tasks_app.log_message"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TEXT_LINE = re.compile(  # pynenc's plain-text format (tests/unit/test_log_format.py)
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) (?P<level>[A-Z]+) +(?P<logger>pynenc\.\S+) "
    r"\[(?:(?P<parent>[A-Z]+)\((?P<parent8>[0-9a-f]{8})\)\.)?(?P<cls>[A-Z]+)\((?P<id8>[0-9a-f]{8})\)"
    rf"(?P<invocation>{UUID}):(?P<task>\S+)\] "
    r"(?P<message>.*)$"
)


def _run_logging_task(tasks_module: Any, env: dict[str, str], runner_cls: str, text: str) -> tuple[str, str, str]:
    """Run ``log_message(text)`` on a runner; return its output, the invocation id and who ran it."""
    with cli_runner(
        tasks_module.app, env, *APP, *runner_args(runner_cls), expected_runners=registrations(runner_cls)
    ) as process:
        invocation = tasks_module.log_message(text)
        assert invocation.result_or(TIMEOUT_S) == text
        history = invocation.history()
    assert process.stdout is not None
    runner_id = next(c.runner_id for c in history if c.status is InvocationStatus.RUNNING)
    return process.stdout.read(), invocation.invocation_id, runner_id


@pytest.mark.parametrize("runner_cls", list(RUNNER_ARGS))
def test_task_logger_lines_carry_runner_and_invocation_in_text_format(
    tasks_module: Any, shared_env: dict[str, str], runner_cls: str
) -> None:
    env = {**shared_env, "PYNENC__LOGGING_LEVEL": "info"}

    output, invocation_id, runner_id = _run_logging_task(tasks_module, env, runner_cls, "hello-text")

    (line,) = [line for line in output.splitlines() if "task says hello-text" in line]
    match = TEXT_LINE.match(line)
    assert match, line
    assert match["level"] == "INFO"
    assert match["logger"] == f"pynenc.{env['PYNENC__APP_ID']}.{TASK_ID}"
    assert match["id8"] == runner_id[:8]
    assert match["invocation"].replace("-", "") == invocation_id and match["task"] == TASK_ID
    assert match["message"] == "task says hello-text"
    runner = next(
        r.context
        for r in tasks_module.app.state_backend.runners(include_stopped=True)
        if r.context.runner_id == runner_id
    )
    assert match["cls"] == "".join(c for c in runner.runner_cls if c.isupper())
    assert (match["parent8"] is not None) == (runner.parent_runner_id is not None)


def test_json_log_format_writes_one_object_per_line(tasks_module: Any, shared_env: dict[str, str]) -> None:
    env = {**shared_env, "PYNENC__LOGGING_LEVEL": "info", "PYNENC__LOG_FORMAT": "json"}

    output, invocation_id, runner_id = _run_logging_task(tasks_module, env, "ThreadRunner", "hello-json")

    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert records, "the runner logged its start and stop at least"
    (said,) = [r for r in records if r["message"] == "task says hello-json"]
    assert said["severity"] == "INFO" and said["logger"] == f"pynenc.{env['PYNENC__APP_ID']}.{TASK_ID}"
    assert said["invocation_id"].replace("-", "") == invocation_id and said["task_id"] == TASK_ID
    assert said["runner_id"] == runner_id and said["runner_class"] == "ThreadRunner"
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$", said["timestamp"])
    assert TEXT_LINE.match(said["text"])
