"""Figures of the inline widgets (printed, never asserted).

1. A timeline of 10,000 invocations on SQLite (written through the ports, as eight 4-slot runners
   would have left them): seconds to compute the view-model, to build the Plotly figure from it,
   to hash it (what a live refresh does to decide whether to send), and to build the static bundle.
2. A live ``Timeline`` during a run of 1,000 tasks on an in-process ThreadRunner (SQLite): comm
   messages sent per second, counted by wrapping the ``send`` of each of its widgets' comms (here
   ipywidgets' dummy comm: the messages are built and counted exactly as in a kernel, then dropped).

    .venv/bin/python tests/benchmarks/widgets.py
    .venv/bin/python tests/benchmarks/widgets.py --window 10000 --tasks 1000 --task-ms 20 --threads 4 --interval 0.5
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pynenc_nb import Pynenc, ThreadRunner  # noqa: E402
from pynenc_nb.monitor import Monitor  # noqa: E402
from pynenc_nb.records import new_id  # noqa: E402
from pynenc_nb.widgets import Timeline  # noqa: E402
from pynenc_nb.widgets.figures import timeline_figure  # noqa: E402
from pynenc_nb.widgets.static import fingerprint  # noqa: E402
from tests.benchmarks.monitor_timeline import forget_walks, populate, register_runners, timed  # noqa: E402


def big_timeline(url: str, window: int, runs: int) -> None:
    app = Pynenc(config_values={"app_id": f"bench-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})
    try:
        register_runners(app)
        began = time.perf_counter()
        start = time.time() - window * 0.01 - 60
        populate(app, window, start, 0.01, random.Random(7))
        print(f"stored {window:,} invocations in {time.perf_counter() - began:.1f} s")
        # each call as the first timeline of the process: nothing kept from an earlier one
        monitor = Monitor(app)
        first = lambda: forget_walks(app)  # noqa: E731
        query_s, view = timed(lambda: monitor.timeline(start - 1, None, limit=window), runs, first)
        figure_s, figure = timed(lambda: timeline_figure(view), runs)
        both_s, _ = timed(lambda: timeline_figure(monitor.timeline(start - 1, None, limit=window)), runs, first)
        forget_walks(app)
        live = Monitor(app)  # a refresh, another widget: reads and walks only what was not final
        live.timeline(start - 1, None, limit=window)
        refresh_s, _ = timed(lambda: timeline_figure(live.timeline(start - 1, None, limit=window)), runs)
        hash_s, _ = timed(lambda: fingerprint(figure), runs)
        size_mb = len(json.dumps(figure)) / 1e6
        segments = sum(len(trace.get("x", ())) for trace in figure["data"] if trace["type"] == "bar")
        print(
            f"timeline of {len(view.invocations):,} invocations ({len(view.segments):,} segments, {segments:,} bars):"
        )
        print(f"  view-model (Monitor.timeline):         {query_s * 1000:7.0f} ms")
        print(f"  figure from the view (timeline_figure): {figure_s * 1000:7.0f} ms")
        print(f"  view-model + figure, one call after the other: {both_s * 1000:.0f} ms")
        print(f"  both again, after a first (a live refresh, another widget): {refresh_s * 1000:.0f} ms")
        print(f"  fingerprint (json + blake2b) of the figure: {hash_s * 1000:.0f} ms; figure JSON {size_mb:.1f} MB")
        widget = Timeline(app, since=None, live=False, limit=window)
        forget_walks(app)  # its view made as the first of the process
        bundle_s, bundle = timed(widget.static_bundle, 1)
        html_mb = len(bundle["text/html"]) / 1e6
        print(f"  static bundle (Plotly JSON + to_html): {bundle_s * 1000:.0f} ms, its HTML {html_mb:.1f} MB")
    finally:
        app.close()


def live_run(url: str, tasks: int, task_ms: float, threads: int, interval_s: float) -> None:
    app = Pynenc(config_values={"app_id": f"bench-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})
    try:

        @app.task
        def work(i: int) -> int:
            time.sleep(task_ms / 1000)
            return i

        timeline = Timeline(app, since="10m", interval_s=interval_s, grace_s=1.0)
        sent: list[tuple[float, int, bool]] = []  # (when, bytes of content, carries a figure change)
        for part in timeline.parts:
            comm = part.widget.comm
            send = comm.send

            def counting(data: Any = None, metadata: Any = None, buffers: Any = None, _send: Any = send) -> Any:
                state = (data or {}).get("state", {})
                content = (data or {}).get("content") if (data or {}).get("method") == "custom" else None
                change = (isinstance(content, dict) and content.get("type") in ("patch", "full")) or "value" in state
                sent.append((time.monotonic(), len(json.dumps(data or {}, default=str)), change))
                return _send(data=data, metadata=metadata, buffers=buffers)

            comm.send = counting
        runner = ThreadRunner(app, max_threads=threads)
        thread = runner.start_in_thread()
        timeline.start()
        began = time.monotonic()
        group = work.parallelize([(i,) for i in range(tasks)])
        done = sum(1 for _ in group.iter_results(timeout=600))
        ended = time.monotonic()
        run_s = ended - began
        timeline.join(120)
        static_after_s = time.monotonic() - ended
        runner.stop(timeout=30)
        thread.join(30)
        during = [(size, change) for at, size, change in sent if at <= ended]
        changes = sum(1 for _, change in during if change)
        print(
            f"live Timeline (interval {interval_s} s) during {done:,} tasks of {task_ms:g} ms on a {threads}-thread "
            f"ThreadRunner, SQLite ({run_s:.1f} s):"
        )
        print(
            f"  comm messages during the run: {len(during):,} = {len(during) / run_s:.1f} per second, of which "
            f"{changes} carry a change ({changes / run_s:.2f} per second); {sum(size for size, _ in during) / run_s / 1e3:.0f} KB/s of message content"
        )
        print(
            f"  after the run: {len(sent) - len(during)} more messages, then static {static_after_s:.1f} s later "
            f"({timeline.ended_because}); views computed {timeline.ticks} times, {timeline.updates_sent} updates in all"
        )
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=10_000, help="invocations in the big timeline")
    parser.add_argument("--runs", type=int, default=3, help="median of this many runs per figure")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks run while the live timeline is shown")
    parser.add_argument("--task-ms", type=float, default=20.0, help="how long each of those tasks sleeps")
    parser.add_argument("--threads", type=int, default=4, help="ThreadRunner threads")
    parser.add_argument("--interval", type=float, default=0.5, help="the live timeline's interval_s")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-widgets-"))
    try:
        big_timeline(f"sqlite://{workdir / 'big.db'}", args.window, args.runs)
        live_run(f"sqlite://{workdir / 'live.db'}", args.tasks, args.task_ms, args.threads, args.interval)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
