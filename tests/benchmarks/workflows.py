"""Workflow figures (in-process, dev mode): the cost of a deterministic step recorded and replayed,
of a replayed ``execute_task``, and the time to replay a workflow of 1,000 steps. The floor is one
key-value read of the same backend, measured in the same run."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pynenc_nb import Pynenc, RetryError  # noqa: E402


def measure(url: str, steps: int) -> None:
    app = Pynenc(
        config_values={
            "app_id": f"wfbench-{time.time_ns()}",
            "backend_url": url,
            "dev_mode_force_sync_tasks": True,
            "logging_level": "error",
        }
    )
    timings: dict[str, float] = {}

    @app.task
    def child(n: int) -> int:
        return n

    @app.workflow(max_retries=1)
    def many(n: int, with_children: bool) -> int:
        root = many.wf.root
        attempt = "first" if "first" not in timings else "replay"
        started = time.perf_counter()
        for i in range(n):
            if with_children:
                root.execute_task(child, i)
            else:
                root.random()
        timings[attempt] = time.perf_counter() - started
        if attempt == "first":
            raise RetryError("replay")
        return n

    try:
        app.state_backend.kv_put("bench", "k", "v")
        started = time.perf_counter()
        for _ in range(steps):
            app.state_backend.kv_get("bench", "k")
        floor = (time.perf_counter() - started) / steps * 1e6
        assert many(steps, False).result == steps
        first, replay = timings["first"] / steps * 1e6, timings["replay"] / steps * 1e6
        print(f"{url.split(':')[0]:<7} kv read (floor) {floor:7.1f} µs")
        print(
            f"{'':<7} random() first {first:7.1f} µs ({first / floor:4.1f}x), replayed {replay:7.1f} µs ({replay / floor:4.1f}x)"
        )
        print(f"{'':<7} replay of {steps} recorded steps: {timings['replay'] * 1000:7.1f} ms")
        timings.clear()
        assert many(steps // 10, True).result == steps // 10
        first, replay = timings["first"] / (steps // 10) * 1e6, timings["replay"] / (steps // 10) * 1e6
        print(
            f"{'':<7} execute_task first {first:7.1f} µs ({first / floor:5.1f}x), replayed {replay:7.1f} µs ({replay / floor:4.1f}x)"
        )
    finally:
        app.purge()
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-wfbench-"))
    for url in (f"sqlite://{workdir / 'wf.db'}", "redis://127.0.0.1:6379/0"):
        measure(url, args.steps)


if __name__ == "__main__":
    main()
