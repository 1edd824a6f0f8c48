"""Trigger figures with a runner in its own process, default settings (services every 1 s).

- latency from ``emit_event`` to the triggered invocation RUNNING (p50/p95), against the floor of a
  direct call of the same task to RUNNING, measured in the same run;
- events the services evaluate per second in an event storm, against the floor of how fast one
  process stores events;
- cron lateness: from the clock reaching a tick (the test clock, moved by this script) to the
  tick's invocation registered.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pynenc_nb.invocation.status import InvocationStatus  # noqa: E402
from pynenc_nb.records import InvocationFilter  # noqa: E402
from pynenc_nb.trigger.clock import CLOCK_FILE_VARIABLE  # noqa: E402

S = InvocationStatus


def _running_at(app: Any, invocation_id: str, timeout_s: float = 30.0) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for change in app.state_backend.history(invocation_id):
            if change.status is S.RUNNING:
                return float(change.at)
        time.sleep(0.002)
    raise TimeoutError(f"{invocation_id} never ran")


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    return f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"


def _env(kind: str, workdir: Path, app_id: str) -> dict[str, str]:
    url = f"sqlite://{workdir / (app_id + '.db')}" if kind == "sqlite" else "redis://127.0.0.1:6379/0"
    return {"PYNENC__APP_ID": app_id, "PYNENC__BACKEND_URL": url, "PYNENC__LOGGING_LEVEL": "error"}


def latency_and_storm(kind: str, workdir: Path, samples: int, storm: int) -> None:
    os.environ.update(_env(kind, workdir, f"trigbench-{kind}-{os.getpid()}"))
    from tests.support.processes import runner_process
    from tests.triggers import seed_app

    module = seed_app.load()
    app = module.app
    env = {k: v for k, v in os.environ.items() if k.startswith("PYNENC__")}
    try:
        with runner_process(app, env, app_spec="tests.triggers.seed_app:app"):
            direct = []
            for n in range(samples):
                started = time.time()
                invocation = module.ingest_feed(f"direct-{n}", n)
                direct.append(_running_at(app, invocation.invocation_id) - started)
            triggered = []
            for n in range(samples):
                started = time.time()
                event_id = app.trigger.emit_event("feed_updated", {"source": f"event-{n}", "count": n})
                while not (runs := app.trigger_store.trigger_runs(source_ids=[event_id])):
                    time.sleep(0.002)
                triggered.append(_running_at(app, runs[0].invocation_id or "") - started)
            print(f"{kind:<7} direct call -> RUNNING (floor)   {_percentiles(direct)}  ({samples} calls)")
            print(
                f"{kind:<7} emit_event -> RUNNING            {_percentiles(triggered)}  "
                f"ratio p50 {statistics.median(triggered) / statistics.median(direct):5.1f}x"
            )
            before = len(app.trigger_store.trigger_runs(limit=samples * 2 + 10))
            started = time.perf_counter()
            for n in range(storm):
                app.trigger.emit_event("feed_updated", {"source": f"storm-{n}", "count": n})
            emitted = time.perf_counter() - started
            while len(app.trigger_store.trigger_runs(limit=storm + before + 1)) < storm + before:
                time.sleep(0.05)
            evaluated = time.perf_counter() - started
            print(
                f"{kind:<7} storm of {storm}: stored at {storm / emitted:8.0f} events/s (floor), all evaluated "
                f"after {evaluated:5.1f} s = {storm / evaluated:8.0f} events/s, ratio {emitted / evaluated:4.2f}"
            )
    finally:
        app.purge()
        app.close()


def cron_lateness(kind: str, workdir: Path, ticks: int) -> None:
    clock_file = workdir / f"clock-{kind}"
    base = float(int(time.time() // 60 * 60))
    clock_file.write_text(repr(base + 1))
    os.environ[CLOCK_FILE_VARIABLE] = str(clock_file)
    os.environ.update(_env(kind, workdir, f"cronbench-{kind}-{os.getpid()}"))
    from tests.support.processes import runner_process
    from tests.triggers import cron_app

    module = cron_app.load()
    app = module.app
    env = {k: v for k, v in os.environ.items() if k.startswith(("PYNENC__", "PYNENC_NB_"))}
    late = []
    try:
        with runner_process(app, env, app_spec="tests.triggers.cron_app:app"):
            time.sleep(2.5)  # the schedule starts at the first evaluation
            for minute in range(1, ticks + 1):
                moved = time.time()
                clock_file.write_text(repr(base + minute * 60))
                while True:
                    records, _ = app.state_backend.query(InvocationFilter(task_id=module.tick.task_id), limit=100)
                    if len(records) >= minute:
                        break
                    time.sleep(0.002)
                newest = max(records, key=lambda r: r.created_at)
                late.append(newest.created_at - moved)
        print(f"{kind:<7} cron lateness (tick reached -> registered) {_percentiles(late)}  ({ticks} ticks)")
    finally:
        del os.environ[CLOCK_FILE_VARIABLE]
        app.purge()
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", action="append", choices=["sqlite", "redis"])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--storm", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-triggers-"))
    for kind in args.backend or ["sqlite", "redis"]:
        latency_and_storm(kind, workdir, args.samples, args.storm)
        cron_lateness(kind, workdir, args.ticks)


if __name__ == "__main__":
    main()
