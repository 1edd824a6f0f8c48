"""Seconds from ``kill -9`` of a runner process to its invocation running again elsewhere.

Two ThreadRunner processes share a SQLite file (or ``--backend URL``, e.g. Redis) with default
settings; the one running a long task is killed; we measure until the invocation is RUNNING under
another owner. Median of N.

    .venv/bin/python tests/benchmarks/recovery.py --runs 5 [--backend redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def measure_once(workdir: Path, index: int, backend: str | None) -> float:
    os.environ.update(
        {
            "PYNENC__APP_ID": f"recovery-{index}-{os.getpid()}",
            "PYNENC__BACKEND_URL": backend or f"sqlite://{workdir / f'recovery-{index}.db'}",
            "PYNENC__LOGGING_LEVEL": "error",
        }
    )
    from pynenc_nb import InvocationStatus
    from tests.support import tasks_app
    from tests.support.processes import poll, runner_process

    module = tasks_app.load()
    env = {k: v for k, v in os.environ.items() if k.startswith("PYNENC__")}
    with runner_process(module.app, env, "--max-threads", "1") as first:
        invocation = module.sleep_then(2.0, index)
        poll(lambda: invocation.status is InvocationStatus.RUNNING, message="the task to start")
        owner = invocation.record.owner_id
        with runner_process(module.app, env, "--max-threads", "1"):
            killed_at = time.monotonic()
            os.kill(first.pid, signal.SIGKILL)
            poll(
                lambda: (
                    invocation.record.owner_id not in (owner, None) and invocation.status is InvocationStatus.RUNNING
                ),
                timeout_s=60,
                interval_s=0.01,
                message="the invocation to run again",
            )
            elapsed = time.monotonic() - killed_at
            assert invocation.result == index
    module.app.purge()
    module.app.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", default=None, help="backend URL shared by the runners (default: SQLite file)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-recovery-"))
    times = [measure_once(workdir, i, args.backend) for i in range(args.runs)]
    print("kill -9 -> running again (s):", ", ".join(f"{t:.2f}" for t in times))
    print(f"median {statistics.median(times):.2f} s over {args.runs} runs (default settings)")


if __name__ == "__main__":
    main()
