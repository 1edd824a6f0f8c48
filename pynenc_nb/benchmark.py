"""``pynenc benchmark``: end-to-end throughput and round-trip latency of no-op tasks.

One runner process (``pynenc runner start``) with ``workers`` slots serves this process, which
registers the tasks and waits for their results, exactly as a user's code would.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pynenc_nb.backends.urls import redact_url, scheme_of
from pynenc_nb.exceptions import ConfigError, RunnerError
from pynenc_nb.records import new_id


def _wait_for_runner(app: Any, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RunnerError(f"the benchmark runner exited with code {process.returncode}")
        if app.state_backend.runners():
            return
        time.sleep(0.05)
    raise RunnerError("the benchmark runner did not register within 30 s")


def run_benchmark(
    backend_url: str | None, *, tasks: int = 2000, workers: int = 1, latency_calls: int = 200
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-bench-"))
    url = backend_url or f"sqlite://{workdir / 'bench.db'}"
    if scheme_of(url) == "memory":
        raise ConfigError(
            "memory: cannot serve a runner process; benchmark sqlite:///path or redis://… instead", variable="--backend"
        )
    app_id = f"bench-{new_id()[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYNENC__")},
        "PYNENC__APP_ID": app_id,
        "PYNENC__BACKEND_URL": url,
        "PYNENC__RUNNER_CLS": "ThreadRunner",
        "PYNENC__MAX_THREADS": str(workers),
        "PYNENC__LOGGING_LEVEL": "warning",
    }
    saved = {k: os.environ.get(k) for k in env if k.startswith("PYNENC__")}
    os.environ.update({k: v for k, v in env.items() if k.startswith("PYNENC__")})
    try:
        import importlib

        import pynenc_nb.benchmark_tasks as bench_tasks

        bench = importlib.reload(bench_tasks)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    app, noop = bench.app, bench.noop
    runner = subprocess.Popen(
        [sys.executable, "-m", "pynenc_nb", "--app", "pynenc_nb.benchmark_tasks:app", "runner", "start"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_runner(app, runner)
        for i in range(20):  # warm up connections and code paths
            noop(i).result

        start = time.perf_counter()
        group = noop.parallelize([(i,) for i in range(tasks)])
        registered = time.perf_counter()
        count = sum(1 for _ in group.results)
        elapsed = time.perf_counter() - start
        assert count == tasks

        latencies = []
        for i in range(latency_calls):
            t0 = time.perf_counter()
            noop(i).result
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        return {
            "backend": redact_url(url),
            "tasks": tasks,
            "workers": workers,
            "throughput_tasks_per_s": round(tasks / elapsed, 1),
            "registration_s": round(registered - start, 3),
            "total_s": round(elapsed, 3),
            "latency_calls": latency_calls,
            "latency_p50_ms": round(statistics.median(latencies), 3),
            "latency_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 3),
        }
    finally:
        runner.terminate()
        try:
            runner.wait(15)
        except subprocess.TimeoutExpired:
            runner.kill()
        app.purge()
        app.close()


def format_report(report: dict[str, Any]) -> str:
    return (
        f"backend {report['backend']}: {report['tasks']} no-op tasks, one runner process with "
        f"{report['workers']} slot(s)\n"
        f"  throughput   {report['throughput_tasks_per_s']:>10.1f} tasks/s  ({report['total_s']} s, "
        f"registration {report['registration_s']} s)\n"
        f"  round trip   p50 {report['latency_p50_ms']:.3f} ms   p95 {report['latency_p95_ms']:.3f} ms"
        f"  ({report['latency_calls']} sequential calls)"
    )
