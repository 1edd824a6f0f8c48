"""Where the time of a Redis run goes: CPU per task of the runner process, the server and the client.

    python tests/benchmarks/redis_cpu.py [--url redis://127.0.0.1:6379/0] [--tasks 4000] [--runs 2] [--calls 2000]

The same workload as ``pynenc benchmark`` (one ``pynenc runner start`` process with one slot, the
tasks registered with ``parallelize`` and their results read here), with the CPU seconds of the
three processes read from ``/proc`` around the run. Then ``--calls`` sequential ``noop(i).result``
calls, per run: their latency percentiles and the CPU per call of each process (what a lone caller
waits on). The server must run on this machine (its pid comes from ``INFO server``). Linux only.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from pynenc_nb.benchmark import _load_app, _runner


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per run (0: none)")
    args = parser.parse_args()
    env = {
        "PYNENC__APP_ID": "pynenc-redis-cpu",
        "PYNENC__BACKEND_URL": args.url,
        "PYNENC__RUNNER_CLS": "ThreadRunner",
        "PYNENC__MAX_THREADS": "1",
        "PYNENC__LOGGING_LEVEL": "warning",
        "PYNENC__DISCOVERABLE": "false",
    }
    bench = _load_app(env)
    app, noop = bench.app, bench.noop
    app.purge()
    server_pid = int(app.backends.owned[0].conn.run(lambda c: c.info("server"))["process_id"])
    try:
        with _runner(app, env, 1, in_process=False):
            for i in range(50):
                _ = noop(i).result
            (runner,) = [r for r in app.state_backend.runners() if r.state == "running"]
            pids = {"runner": runner.context.pid, "server": server_pid, "client": os.getpid()}
            for _ in range(args.runs):
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                started = time.perf_counter()
                group = noop.parallelize([(i,) for i in range(args.tasks)])
                registered = time.perf_counter() - started
                count = sum(1 for _ in group.results)
                elapsed = time.perf_counter() - started
                after = {name: cpu_seconds(pid) for name, pid in pids.items()}
                assert count == args.tasks
                print(f"{args.tasks / elapsed:7.0f} tasks/s  (registration {registered:.3f} s, total {elapsed:.3f} s)")
                for name in pids:
                    print(f"    {name:7s} {1e3 * (after[name] - before[name]) / args.tasks:.3f} ms CPU per task")
            for _ in range(args.runs if args.calls else 0):
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                latencies = []
                for i in range(args.calls):
                    started = time.perf_counter()
                    _ = noop(i).result
                    latencies.append(1e3 * (time.perf_counter() - started))
                after = {name: cpu_seconds(pid) for name, pid in pids.items()}
                latencies.sort()
                shown = "  ".join(f"p{q} {latencies[len(latencies) * q // 100]:.3f}" for q in (10, 50, 90))
                print(f"{args.calls} sequential calls: {shown} ms")
                for name in pids:
                    print(f"    {name:7s} {1e6 * (after[name] - before[name]) / args.calls:.0f} µs CPU per call")
    finally:
        app.purge()
        app.close()


if __name__ == "__main__":
    main()
