"""End-to-end throughput and round-trip latency of no-op tasks (one runner process, N slots)."""

from __future__ import annotations

import argparse

from pynenc_nb.benchmark import format_report, run_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="sqlite", help="sqlite, or a backend URL")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    url = None if args.backend == "sqlite" else args.backend
    for _ in range(args.repeat):
        report = run_benchmark(url, tasks=args.tasks, workers=args.workers, latency_calls=args.latency_calls)
        print(format_report(report))


if __name__ == "__main__":
    main()
