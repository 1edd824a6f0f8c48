"""Recursive fibonacci(n) where every call waits on two children, on each runner type.

Without blocking control this deadlocks with few slots; here it must complete. Prints seconds.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=15)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--runner", action="append", help="runner class (default: all)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-nested-"))
    for index, (runner, options) in enumerate(RUNNERS.items()):
        if args.runner and runner not in args.runner:
            continue
        os.environ.update(
            {
                "PYNENC__APP_ID": f"nested-{index}",
                "PYNENC__BACKEND_URL": f"sqlite://{workdir / f'nested-{index}.db'}",
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
            f"{runner:<24} fibonacci({args.n}) = {value} with {args.slots} slots: {elapsed:7.2f} s ({total} invocations)"
        )
        module.app.close()


if __name__ == "__main__":
    main()
