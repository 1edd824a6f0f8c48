"""Recursive fibonacci(n) where every call waits on two children, on each runner type.

Without blocking control this deadlocks with few slots; here it must complete. Prints seconds and
the cost per nested invocation, and first the in-process floor measured in the same run: the same
recursion on ``concurrent.futures`` threads, each call submitting its two children and waiting on
them (a pool as large as the call tree, so that it cannot deadlock: the least any thread-based
fork-join costs in Python, with nothing stored).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

RUNNERS = {
    "ThreadRunner": ["--max-threads", "{slots}"],
    "MultiThreadRunner": ["--num-processes", "1", "--max-threads", "{slots}"],
    "PersistentProcessRunner": ["--num-processes", "{slots}"],
    "ProcessRunner": ["--max-processes", "{slots}"],
}


def calls_of(n: int) -> int:
    return 1 if n < 2 else 1 + calls_of(n - 1) + calls_of(n - 2)


def futures_floor(n: int) -> float:
    """Seconds for fibonacci(n) on a ThreadPoolExecutor, every call submitting and waiting."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=calls_of(n))

    def fibonacci(k: int) -> int:
        if k < 2:
            return k
        first, second = pool.submit(fibonacci, k - 1), pool.submit(fibonacci, k - 2)
        return first.result() + second.result()

    start = time.perf_counter()
    assert pool.submit(fibonacci, n).result() >= 0
    elapsed = time.perf_counter() - start
    pool.shutdown()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=15)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--runner", action="append", help="runner class (default: all)")
    parser.add_argument("--backend", help="backend URL, e.g. redis://127.0.0.1:6379/0 (default: a fresh SQLite file)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-nested-"))
    calls = calls_of(args.n)
    floor = futures_floor(args.n)
    print(
        f"{'concurrent.futures floor':<24} fibonacci({args.n}): {floor:7.2f} s ({calls} calls, "
        f"{floor / calls * 1000:.3f} ms per call)"
    )
    for index, (runner, options) in enumerate(RUNNERS.items()):
        if args.runner and runner not in args.runner:
            continue
        os.environ.update(
            {
                "PYNENC__APP_ID": f"nested-{index}-{os.getpid()}",
                "PYNENC__BACKEND_URL": args.backend or f"sqlite://{workdir / f'nested-{index}.db'}",
                "PYNENC__LOGGING_LEVEL": "error",
            }
        )
        from tests.support import tasks_app
        from tests.support.processes import runner_process

        module = tasks_app.load()
        env = {k: v for k, v in os.environ.items() if k.startswith("PYNENC__")}
        cli_args = [a.format(slots=args.slots) for a in options]
        with runner_process(module.app, env, "--runner-cls", runner, *cli_args):
            start = time.perf_counter()
            value = module.fibonacci(args.n).result
            elapsed = time.perf_counter() - start
        counts = module.app.state_backend.count_by_status()
        total = sum(counts.values())
        print(
            f"{runner:<24} fibonacci({args.n}) = {value} with {args.slots} slots: {elapsed:7.2f} s ({total} invocations, "
            f"{elapsed / total * 1000:.2f} ms per invocation, {elapsed / floor:.1f}x the floor)"
        )
        if args.backend:
            module.app.purge()  # a shared server keeps nothing of the run
        module.app.close()


if __name__ == "__main__":
    main()
