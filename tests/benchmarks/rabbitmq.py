"""RabbitMQ broker + Redis (or SQLite) state: 2,000 no-op tasks through one runner process with one
slot, 200 sequential round trips, and in the same run the raw pika floor (publish with confirm,
consume + ack in another process, the result over Redis) so the figure is a ratio.

    .venv/bin/python tests/benchmarks/rabbitmq.py --repeat 2
"""

from __future__ import annotations

import argparse
import os

from pynenc_nb.benchmark import format_report, run_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--broker", default=os.environ.get("PYNENC_NB_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    )
    parser.add_argument("--backend", default=os.environ.get("PYNENC_NB_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.repeat):
        report = run_benchmark(
            args.backend,
            tasks=args.tasks,
            workers=args.workers,
            latency_calls=args.latency_calls,
            broker_url=args.broker,
        )
        print(format_report(report))


if __name__ == "__main__":
    main()
