"""Where a sequential call's time goes, from the invocations' own history timestamps (printed, never
asserted).

``noop(i).result`` is called ``--calls`` times in a row on a ``pynenc runner start`` process with one
slot (``pynenc benchmark``'s app and runner), after a warm-up; then each call's steps are the gaps
between the caller's clock around it and the times its history recorded:

- call → REGISTERED: the caller's Python before its register request (the record's time is taken
  before the request is sent);
- call returned: register + send, what ``noop(i)`` costs the caller;
- REGISTERED → PENDING: the rest of the registration, the send, the broker's delivery and the
  runner's Python up to its claim request;
- PENDING → RUNNING: inside one claim-and-start (a script on Redis);
- RUNNING → SUCCESS: the claim's round trip, the task and its ending's planning;
- SUCCESS → result: the ending's write and the caller's wake-up and decoding.

Medians over the calls, in ms. Both processes run on this machine, so their clocks agree.

Then the CPU time each process spent per call over the same calls (user + system, from
``/proc/<pid>/stat``): the caller, the runner, and the servers found running here (``redis-server``,
RabbitMQ's ``beam.smp``). On a 2-core machine a sequential call is as much a matter of CPU shared by
four processes as of round trips: their sum against the call's own time says how busy both cores
were.

    .venv/bin/python tests/benchmarks/round_trip_steps.py                                   # Redis + RabbitMQ
    .venv/bin/python tests/benchmarks/round_trip_steps.py --broker '' --calls 1000           # Redis alone
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pynenc_nb import benchmark  # noqa: E402
from pynenc_nb.records import StatusChange  # noqa: E402

STEPS = (
    "call -> REGISTERED",
    "call returned",
    "REGISTERED -> PENDING",
    "PENDING -> RUNNING",
    "RUNNING -> SUCCESS",
    "SUCCESS -> result",
    "whole call",
)


def steps_of(began: float, sent: float, done: float, history: list[StatusChange]) -> tuple[float, ...]:
    at = {change.status.value: change.at for change in history}
    return (
        at["REGISTERED"] - began,
        sent - began,
        at["PENDING"] - at["REGISTERED"],
        at["RUNNING"] - at["PENDING"],
        at["SUCCESS"] - at["RUNNING"],
        done - at["SUCCESS"],
        done - began,
    )


SERVERS = {"redis": "redis-server", "rabbitmq": "beam.smp"}


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False).stdout.split()
    return [int(pid) for pid in found if int(pid) != os.getpid()]


def _cpu_s(pids: list[int]) -> float:
    """User + system seconds of these processes (0 for one that is gone or not readable)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default=os.environ.get("PYNENC_NB_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--broker",
        default=os.environ.get("PYNENC_NB_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        help="a broker beside the backend ('' for none)",
    )
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    env = {
        "PYNENC__APP_ID": f"round-trip-steps-{os.getpid()}",
        "PYNENC__BACKEND_URL": args.backend,
        **({"PYNENC__BROKER_URL": args.broker} if args.broker else {}),
        "PYNENC__RUNNER_CLS": "ThreadRunner",
        "PYNENC__MAX_THREADS": "1",
        "PYNENC__LOGGING_LEVEL": "warning",
        "PYNENC__DISCOVERABLE": "false",
    }
    bench = benchmark._load_app(env)
    app, noop = bench.app, bench.noop
    calls: list[tuple[float, float, float, str]] = []
    try:
        with benchmark._runner(app, env, 1, in_process=False):
            for i in range(30):  # warm-up: connections, code paths
                _ = noop(i).result
            runner = _pids("pynenc_nb --app pynenc_nb.benchmark_tasks:app")  # the one started above
            processes = {"caller": [os.getpid()], "runner": runner, **{k: _pids(v) for k, v in SERVERS.items()}}
            cpu_before = {name: _cpu_s(pids) for name, pids in processes.items()}
            for i in range(args.calls):
                began = time.time()
                invocation = noop(i)
                sent = time.time()
                _ = invocation.result
                calls.append((began, sent, time.time(), invocation.invocation_id))
            cpu_ms = {
                name: (_cpu_s(pids) - cpu_before[name]) * 1000 / args.calls for name, pids in processes.items() if pids
            }
        histories = app.state_backend.histories([c[3] for c in calls])
        rows = [steps_of(began, sent, done, histories[i]) for began, sent, done, i in calls]
        print(
            f"{args.calls} sequential calls, {app.conf.backend_url.split('://')[0]} state, broker {args.broker.split('://')[0] or 'the backend'}:"
        )
        for index, name in enumerate(STEPS):
            print(f"  {name:<24} {statistics.median(r[index] for r in rows) * 1000:7.3f} ms (median)")
        wall_ms = (calls[-1][2] - calls[0][0]) * 1000 / len(calls)
        print(
            "  CPU per call: "
            + ", ".join(f"{name} {ms:.3f}" for name, ms in cpu_ms.items())
            + f" ms; total {sum(cpu_ms.values()):.3f} ms against {wall_ms:.3f} ms of wall time per call"
        )
    finally:
        app.purge()
        delete_queues = getattr(app.broker, "delete_queues", None)  # this run's own queue on a shared server
        if delete_queues is not None:
            delete_queues()
        app.close()


if __name__ == "__main__":
    main()
