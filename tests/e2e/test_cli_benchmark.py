"""``pynenc benchmark`` as a user runs it: every figure is reported, and no task is lost.

Only the shape and the consistency of the report are checked here: speed is measured, not
asserted (docs/performance.md holds the figures).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_nb.conf.urls import redact_url
from tests.conftest import backend_url_for, require_service, skip_or_fail
from tests.e2e.support import PYTHON_M, cli_env
from tests.support.private_redis import PrivateRedis

TASKS = 60
CALLS = 30


def _benchmark(url: str, tmp_path: Path) -> dict[str, object]:
    completed = subprocess.run(
        [*PYTHON_M, "benchmark", "--backend", url, "--tasks", str(TASKS), "--latency-calls", str(CALLS), "--json"],
        env=cli_env({}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, object] = json.loads(completed.stdout)
    return report


@pytest.fixture
def benchmark_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """SQLite in the test's folder, or a private ``redis-server``: the report counts the server's
    commands, and on the shared server other tests' clients add theirs."""
    if kind != "redis":
        url = backend_url_for(kind, tmp_path)
        require_service(kind, url)
        yield url
        return
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed", "apt-get install -y redis-server")
    server = PrivateRedis(tmp_path, persistent=False)
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_benchmark_reports_throughput_latency_and_on_redis_the_floor(
    kind: str, benchmark_url: str, tmp_path: Path
) -> None:
    url = benchmark_url
    report = _benchmark(url, tmp_path)
    # every task came back (the run raises otherwise) through a real runner process
    assert report["tasks"] == TASKS and report["latency_calls"] == CALLS
    assert report["runner"] == "one runner process (pynenc runner start)"
    assert report["backend"] == redact_url(url)
    throughput, total = report["throughput_tasks_per_s"], report["total_s"]
    assert isinstance(throughput, float) and isinstance(total, float) and total > 0
    # the same run: total_s is rounded to the millisecond, throughput to 0.1 task/s
    assert abs(TASKS / throughput - total) <= 0.0005 + TASKS / throughput * 0.001
    p50, p95 = report["latency_p50_ms"], report["latency_p95_ms"]
    assert isinstance(p50, float) and isinstance(p95, float) and 0 < p50 <= p95
    if kind == "redis":
        commands, floor = report["commands_per_task"], report["floor_tasks_per_s"]
        assert isinstance(commands, float) and commands > 4  # a script per step, each running several commands
        assert isinstance(floor, float) and floor > 0
        # four commands per item at least (LPUSH, BRPOP, SET, GET), counted on a server of the test's
        # own; no upper bound: the producer re-GETs a result not there yet, so a loaded machine
        # adds commands (5.8 to 13.3 per item seen)
        assert report["floor_commands_per_task"] >= 3.5
        assert report["ratio_to_floor"] == pytest.approx(throughput / floor, abs=0.01)
        floor_p50 = report["floor_latency_p50_ms"]
        assert isinstance(floor_p50, float) and floor_p50 > 0
    else:
        assert "floor_tasks_per_s" not in report and "commands_per_task" not in report
