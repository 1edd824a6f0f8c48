"""Seconds to compute monitor views over many stored invocations (figures, never assertions).

Invocations are written straight through the ports (register, then PENDING -> RUNNING -> SUCCESS
or FAILED, a few left RUNNING or queued), as eight 4-slot runners would have produced them. We
time the timeline of a 10,000-invocation window, first with 10,000 stored and again once 100,000
are stored (the cost must follow the window, not the store), then the first page of
``invocations()``, ``status_counts()``, ``tasks()``, a family tree and an invocation detail.

    .venv/bin/python tests/benchmarks/monitor_timeline.py                 # SQLite in a temp dir
    .venv/bin/python tests/benchmarks/monitor_timeline.py --window 10000 --stored 100000 --runs 5
    .venv/bin/python tests/benchmarks/monitor_timeline.py --stored 10000 --argument-bytes 8000  # calls with arguments
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pynenc_nb import Pynenc  # noqa: E402
from pynenc_nb.monitor import Monitor  # noqa: E402
from pynenc_nb.records import RunnerContext, RunnerInfo, new_id  # noqa: E402
from tests.conformance.builders import NON_FINAL, S, cas, record  # noqa: E402

TASKS = ("bench.load", "bench.transform", "bench.score", "bench.report", "bench.flow")
BATCH = 1000  # invocations per transaction while populating
RUNNERS, SLOTS = 8, 4


def populate(
    app: Pynenc, count: int, first_at: float, spacing_s: float, rng: random.Random, argument_bytes: int = 0
) -> list[str]:
    """``count`` invocations created ``spacing_s`` apart from ``first_at``, 30% of them children of
    earlier ones, their serialized arguments ``argument_bytes`` long (0: a few bytes); returns the
    ids of the parents, the earliest first."""
    state = app.state_backend
    runners = [r.context.runner_id for r in state.runners() if r.context.runner_cls == "BenchRunner"]
    failure = app.orchestrator.exception_outcome(ValueError("benchmark failure"))
    parents: list[str] = []
    for batch_start in range(0, count, BATCH):
        size = min(BATCH, count - batch_start)
        with app.backends.atomic():
            batch = []
            for offset in range(size):
                index = batch_start + offset
                parent = rng.choice(parents) if parents and rng.random() < 0.3 else None
                new = record(rng.choice(TASKS), parent=parent, created_at=first_at + index * spacing_s)
                batch.append(replace(new, arguments="A" * argument_bytes) if argument_bytes else new)
            stored = state.register(batch, None, NON_FINAL)
            for item in stored:
                if rng.random() < 0.05:
                    parents.append(item.invocation_id)
                _advance(app, item.invocation_id, item.created_at, rng.choice(runners), rng, failure)
    return parents


def _advance(app: Pynenc, invocation_id: str, created: float, runner: str, rng: random.Random, failure: Any) -> None:
    state = app.state_backend
    fate = rng.random()
    if fate < 0.02:  # still queued
        return
    claimed = created + rng.uniform(0.0, 0.5)
    state.transition(cas(invocation_id, S.PENDING, runner, at=claimed))
    state.transition(cas(invocation_id, S.RUNNING, runner, at=claimed + 0.001))
    if fate < 0.04:  # still running
        return
    ended = claimed + rng.uniform(0.05, 2.0)
    if fate < 0.09:
        state.transition(cas(invocation_id, S.FAILED, runner, at=ended, outcome=failure))
    else:
        state.transition(cas(invocation_id, S.SUCCESS, runner, at=ended))


def register_runners(app: Pynenc) -> None:
    for _ in range(RUNNERS):
        ctx = RunnerContext.current("BenchRunner")
        app.state_backend.put_runner(RunnerInfo(ctx, time.time(), "running", SLOTS, 0, "{}"))


def timed(work: Callable[[], Any], runs: int, before: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """Median seconds of ``runs`` calls, and the last result; ``before`` runs ahead of each, untimed."""
    seconds = []
    result: Any = None
    for _ in range(runs):
        if before is not None:
            before()
        began = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), result


def forget_walks(app: Pynenc) -> None:
    """As in a process that never drew a timeline of ``app``: no final walks kept (untimed: freeing
    the last call's is no part of a first call)."""
    Monitor(app).final_walks.clear()


def timeline_figures(app: Pynenc, start: float, end: float, runs: int, label: str) -> None:
    """Each call as the first timeline of a process, then as any later one (a live view's
    refresh, another widget): that reads and walks only what was not final at the last."""

    def one_call() -> Any:
        return Monitor(app).timeline(start, end, limit=100_000)

    def paged() -> int:
        monitor = Monitor(app)
        cursor: str | None = None
        total = 0
        while True:
            view = monitor.timeline(start, end, cursor=cursor)  # default limit 2000
            total += len(view.invocations)
            cursor = view.next_cursor
            if cursor is None:
                return total

    def first() -> None:
        forget_walks(app)

    seconds, view = timed(one_call, runs, first)
    print(
        f"{label}: timeline of {len(view.invocations):,} invocations "
        f"({len(view.segments):,} segments, {sum(lane.rows for lane in view.lanes):,} rows) "
        f"in one call: {seconds * 1000:.0f} ms"
    )
    seconds, total = timed(paged, runs, first)
    print(f"{label}: same window in pages of 2,000 ({total:,} invocations): {seconds * 1000:.0f} ms")
    seconds, _ = timed(lambda: Monitor(app).timeline(start, end), runs, first)
    print(f"{label}: first page of 2,000 (a live view's default): {seconds * 1000:.0f} ms")
    forget_walks(app)
    live = Monitor(app)
    live.timeline(start, end, limit=100_000)
    seconds, _ = timed(lambda: live.timeline(start, end, limit=100_000), runs)
    print(f"{label}: the one call again, after a first (a refresh, another widget): {seconds * 1000:.0f} ms")
    seconds, text = timed(lambda: json.dumps(view.to_json()), runs)
    print(f"{label}: to_json + json.dumps of the one-call view ({len(text) / 1e6:.1f} MB): {seconds * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=10_000, help="invocations in the timeline window")
    parser.add_argument("--stored", type=int, default=100_000, help="invocations stored in the end")
    parser.add_argument("--runs", type=int, default=5, help="median of this many runs per figure")
    parser.add_argument("--backend-url", default="", help="default: a SQLite file in a temp dir")
    parser.add_argument(
        "--argument-bytes",
        type=int,
        default=0,
        help="serialized arguments of each invocation (calls inline up to arg_cache_min_bytes, 64 KiB)",
    )
    args = parser.parse_args()
    workdir = None if args.backend_url else Path(tempfile.mkdtemp(prefix="pynenc-monitor-"))
    url = args.backend_url or f"sqlite://{workdir / 'bench.db'}"
    began = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    print(f"machine: a 3,000,000-step Python loop takes {time.perf_counter() - began:.2f} s (for comparing figures)")
    app = Pynenc(config_values={"app_id": f"bench-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})
    rng = random.Random(7)
    try:
        register_runners(app)
        monitor = Monitor(app)
        window_start = 2_000_000.0
        spacing = 0.01  # 10,000 invocations over 100 s
        began = time.perf_counter()
        parents = populate(app, args.window, window_start, spacing, rng, args.argument_bytes)
        print(f"stored {args.window:,} invocations in {time.perf_counter() - began:.1f} s")
        window_end = window_start + args.window * spacing + 10
        timeline_figures(app, window_start, window_end, args.runs, f"{args.window:,} stored")

        older = args.stored - args.window
        began = time.perf_counter()
        populate(app, older, window_start - 1_000_000.0, spacing, rng, args.argument_bytes)  # long before the window
        print(f"stored {older:,} more (older) invocations in {time.perf_counter() - began:.1f} s")
        label = f"{args.stored:,} stored"
        timeline_figures(app, window_start, window_end, args.runs, label)

        seconds, page = timed(lambda: monitor.invocations(limit=100), args.runs)
        print(f"{label}: invocations() first page of {len(page.rows)}: {seconds * 1000:.1f} ms")
        seconds, _ = timed(lambda: monitor.invocations(limit=100, cursor=page.next_cursor), args.runs)
        print(f"{label}: invocations() second page: {seconds * 1000:.1f} ms")
        seconds, counts = timed(monitor.status_counts, args.runs)
        print(f"{label}: status_counts() ({sum(counts.values()):,} counted): {seconds * 1000:.1f} ms")
        seconds, _ = timed(lambda: monitor.status_counts(task_id=TASKS[0]), args.runs)
        print(f"{label}: status_counts(task_id=...): {seconds * 1000:.1f} ms")
        seconds, tasks = timed(monitor.tasks, args.runs)
        print(f"{label}: tasks() with counts ({len(tasks)} tasks): {seconds * 1000:.1f} ms")
        busiest = parents[0]  # the first parent drew the most children
        seconds, tree = timed(lambda: monitor.family_tree(busiest, depth=3), args.runs)
        print(f"{label}: family_tree of {len(tree.nodes)} nodes: {seconds * 1000:.1f} ms")
        seconds, _ = timed(lambda: monitor.invocation_detail(busiest), args.runs)
        print(f"{label}: invocation_detail: {seconds * 1000:.1f} ms")
    finally:
        if args.backend_url:
            app.purge()
        app.close()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)  # the 100,000-invocation file is over 100 MB


if __name__ == "__main__":
    main()
