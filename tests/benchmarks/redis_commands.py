"""Redis commands per task, as a ratio to a raw redis-py floor measured in the same run.

One runner process (``pynenc runner start``, one slot) serves this process, as in ``pynenc benchmark``.
For each phase the script diffs ``INFO commandstats`` (every command the server ran, including those
run inside Lua scripts) and prints commands per task, the top commands, and throughput:

* ``parallel``:   N no-op tasks from one ``parallelize``, results collected in completion order;
* ``sequential``: M calls of ``noop(i).result`` one after another (round-trip latency);
* ``idle``:       the runner and this client doing nothing for a few seconds (commands per second);
* ``floor``:      LPUSH by a producer, BRPOP + SET by a consumer process, GET by the producer, per item.

With ``--monitor`` the sequential phase is repeated under ``MONITOR`` to split top-level commands
(round trips, pipelined ones counted each) from the commands Lua scripts ran.

``INFO commandstats`` is server-wide: on a shared server other clients add noise. ``--private``
starts a throwaway ``redis-server`` on a free loopback port for the run and stops it afterwards.

    .venv/bin/python tests/benchmarks/redis_commands.py --tasks 2000 --private
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from pynenc_nb.benchmark import _load_app, _runner, commandstats, redis_floor  # noqa: E402
from pynenc_nb.records import new_id  # noqa: E402

IDLE_S = 5.0


@contextlib.contextmanager
def private_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--private needs redis-server on PATH")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="pynenc-redis-bench-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def report(name: str, delta: Counter[str], units: int, unit: str, seconds: float, top: int = 8) -> float:
    total = sum(delta.values())
    per = total / max(units, 1)
    print(
        f"{name:<11} {per:7.1f} commands/{unit}  {units / seconds:9.1f} {unit}s/s  ({units} {unit}s, {seconds:.2f} s)"
    )
    common = ", ".join(f"{cmd} {count / max(units, 1):.1f}" for cmd, count in delta.most_common(top))
    print(f"{'':<11} {common}")
    return per


def monitor_split(url: str, run: Any) -> tuple[int, int]:
    """(top-level commands, commands inside scripts) seen by MONITOR while ``run()`` runs."""
    counts = {"top": 0, "lua": 0}
    stop = threading.Event()
    ready = threading.Event()

    def watch() -> None:
        client = redis.Redis.from_url(url, decode_responses=True)
        with client.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                if stop.is_set():
                    return
                counts["lua" if command.get("client_type") == "lua" else "top"] += 1

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    run()
    stop.set()
    redis.Redis.from_url(url).ping()  # one more line so the monitor loop sees the stop flag
    thread.join(5)
    return counts["top"] - 1, counts["lua"]


def measure(url: str, tasks: int, calls: int, with_monitor: bool) -> None:
    env = {
        "PYNENC__APP_ID": f"bench-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": url,
        "PYNENC__RUNNER_CLS": "ThreadRunner",
        "PYNENC__MAX_THREADS": "1",
        "PYNENC__LOGGING_LEVEL": "warning",
    }
    bench = _load_app(env)
    app, noop = bench.app, bench.noop
    stats = redis.Redis.from_url(url, decode_responses=True)
    try:
        with _runner(app, env, 1, in_process=False):
            for i in range(20):
                _ = noop(i).result
            before = commandstats(stats)
            started = time.perf_counter()
            group = noop.parallelize([(i,) for i in range(tasks)])
            assert sum(1 for _ in group.results) == tasks
            parallel_s = time.perf_counter() - started
            parallel = commandstats(stats) - before
            parallel["info"] = 0
            report("parallel", +parallel, tasks, "task", parallel_s)

            before = commandstats(stats)
            latencies = []
            started = time.perf_counter()
            for i in range(calls):
                t0 = time.perf_counter()
                _ = noop(i).result
                latencies.append((time.perf_counter() - t0) * 1000)
            sequential_s = time.perf_counter() - started
            sequential = commandstats(stats) - before
            sequential["info"] = 0
            report("sequential", +sequential, calls, "call", sequential_s)
            print(f"{'':<11} latency p50 {statistics.median(latencies):.2f} ms")

            before = commandstats(stats)
            time.sleep(IDLE_S)  # the measured quantity is what happens while nothing is asked
            idle = commandstats(stats) - before
            idle["info"] = 0
            idle_total = sum((+idle).values())
            print(
                f"{'idle':<11} {idle_total / IDLE_S:7.1f} commands/s for one idle runner (1 slot) and one idle client"
            )
            print(f"{'':<11} {', '.join(f'{c} {n / IDLE_S:.1f}' for c, n in (+idle).most_common(6))}")

            if with_monitor:

                def sequential_calls() -> None:
                    for i in range(calls):
                        _ = noop(i).result

                top, lua = monitor_split(url, sequential_calls)
                print(
                    f"{'monitor':<11} {top / calls:7.1f} top-level commands/call, {lua / calls:.1f} inside scripts/call"
                )
    finally:
        app.purge()
        app.close()

    floor = redis_floor(url, tasks)
    per_item, items_per_s = floor["floor_commands_per_task"], floor["floor_tasks_per_s"]
    print(f"{'floor':<11} {per_item:7.1f} commands/item  {items_per_s:9.1f} items/s  (consumer in another process)")
    per_task = sum((+parallel).values()) / tasks
    print(
        f"ratio       {per_task / per_item:7.1f}x the floor's commands per item, "
        f"{tasks / parallel_s / items_per_s:.2f}x its throughput"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("PYNENC_NB_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--private", action="store_true", help="run against a throwaway redis-server")
    parser.add_argument("--monitor", action="store_true", help="split top-level and script commands")
    args = parser.parse_args()
    if args.private:
        with private_server() as url:
            print(f"private redis-server at {url}")
            measure(url, args.tasks, args.calls, args.monitor)
    else:
        measure(args.url, args.tasks, args.calls, args.monitor)


if __name__ == "__main__":
    main()
