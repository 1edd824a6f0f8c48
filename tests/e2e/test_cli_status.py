"""``pynenc status``, ``status render`` and ``show_config`` as a user reads them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pynenc_nb import InvocationStatus
from tests.e2e.support import TIMEOUT_S, cli_runner, run_cli, top_runner

APP = ("--app", "tests.support.tasks_app:app")


def test_status_lists_counts_and_the_runner_with_its_heartbeat_age(
    tasks_module: Any, shared_env: dict[str, str]
) -> None:
    app = tasks_module.app
    with cli_runner(app, shared_env, *APP, "runner", "start") as process:
        assert [inv.result_or(TIMEOUT_S) for inv in (tasks_module.add(1, 2), tasks_module.add(2, 3))] == [3, 5]
        tasks_module.fail("x").wait(TIMEOUT_S)
        runner = top_runner(app, process.pid).context

        text = run_cli(*APP, "status", env=shared_env)
        as_json = run_cli(*APP, "status", "--json", env=shared_env)

    assert text.returncode == 0, text.stderr
    assert re.search(r"^\s+SUCCESS\s+2$", text.stdout, re.MULTILINE)
    assert re.search(r"^\s+FAILED\s+1$", text.stdout, re.MULTILINE)
    line = next(line for line in text.stdout.splitlines() if runner.label in line)
    age = re.search(r"heartbeat\s+([\d.]+)s ago", line)
    assert age is not None and float(age.group(1)) < 5.0
    assert "running" in line

    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["app_id"] == app.app_id
    assert data["counts"] == {"FAILED": 1, "SUCCESS": 2}
    (listed,) = data["runners"]
    assert listed["runner_id"] == runner.runner_id and listed["runner_cls"] == "ThreadRunner"
    assert listed["state"] == "running" and 0 <= listed["heartbeat_age_s"] < 5.0


def test_status_without_runners_or_invocations_says_so(tasks_module: Any, shared_env: dict[str, str]) -> None:
    done = run_cli(*APP, "status", env=shared_env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("(none)") == 2


@pytest.mark.parametrize("mermaid", [False, True])
def test_status_render_prints_every_status(shared_env: dict[str, str], mermaid: bool) -> None:
    done = run_cli("status", "render", *(["--mermaid"] if mermaid else []), env=shared_env)

    assert done.returncode == 0, done.stderr
    for status in InvocationStatus:
        assert re.search(rf"\b{status.value}\b", done.stdout), status
    if mermaid:
        assert done.stdout.startswith("stateDiagram-v2")
        assert "REGISTERED --> PENDING" in done.stdout


SECRET = "s3cr3t-signing-key"
PASSWORD = "hunter2-password"


@pytest.fixture
def secret_env(shared_env: dict[str, str]) -> dict[str, str]:
    return {
        **shared_env,
        "PYNENC__SERIALIZER_SECRET": SECRET,
        "PYNENC__BROKER_URL": f"amqp://guest:{PASSWORD}@rabbit.example:5672/vhost",
    }


def test_show_config_masks_the_secret_and_redacts_url_passwords(secret_env: dict[str, str]) -> None:
    done = run_cli(*APP, "show_config", env=secret_env)

    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout and PASSWORD not in done.stdout
    assert re.search(r"^serializer_secret\s+\*\*\*$", done.stdout, re.MULTILINE)
    assert "amqp://guest:***@rabbit.example:5672/vhost" in done.stdout
    assert secret_env["PYNENC__APP_ID"] in done.stdout


def test_show_config_json_masks_the_secret_and_redacts_url_passwords(secret_env: dict[str, str]) -> None:
    done = run_cli(*APP, "show_config", "--json", env=secret_env)

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["serializer_secret"] == "***"
    assert data["broker_url"] == "amqp://guest:***@rabbit.example:5672/vhost"
    assert data["app_id"] == secret_env["PYNENC__APP_ID"]
    assert SECRET not in done.stdout and PASSWORD not in done.stdout
