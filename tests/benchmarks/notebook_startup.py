"""Seconds from ``start_runner(kind=...)`` in a notebook to the first result of a cell-defined task.

For each kind (``process``, ``kernel``), N times: a fresh SQLite app in a temporary folder, a task
defined as in a notebook cell (module ``__main__``, so its code is shipped by value), then
``kernel_magics.launchers.start_runner`` and one call waited on. The clock covers the launch
(including waiting for the runner to register) and the first call's round trip. The runner is
stopped between runs. Prints each run and the median.

    .venv/bin/python tests/benchmarks/notebook_startup.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def measure_once(kind: str, workdir: Path, index: int) -> tuple[float, float]:
    """(seconds to the runner registered, seconds to the first result), both from the launch."""
    from kernel_magics import launchers
    from pynenc_nb import Pynenc

    folder = workdir / f"{kind}-{index}"
    folder.mkdir()
    os.chdir(folder)  # the state file and logs live beside "the notebook"
    app = Pynenc(
        config_values={
            "app_id": f"startup-{kind}-{index}",
            "backend_url": f"sqlite://{folder / 'app.db'}",
            "logging_level": "error",
        }
    )

    def square(x: int) -> int:
        return x * x

    square.__module__ = "__main__"
    task = app.task(square)
    started = time.perf_counter()
    entry = launchers.start_runner(app, kind)
    registered = time.perf_counter() - started
    result = task(7).result_or(120)
    first_result = time.perf_counter() - started
    assert result == 49, result
    launchers.stop_runner(app, entry.name)
    app.close()
    return registered, first_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kinds", default="process,kernel")
    args = parser.parse_args()
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="pynenc-startup-") as tmp:
        for kind in args.kinds.split(","):
            runs = []
            for index in range(args.runs):
                registered, first = measure_once(kind, Path(tmp), index)
                runs.append(first)
                print(f"{kind:<8} run {index + 1}: registered {registered:6.2f} s, first result {first:6.2f} s")
            print(
                f"{kind:<8} start_runner -> first result: median {statistics.median(runs):.2f} s "
                f"(min {min(runs):.2f}, max {max(runs):.2f}, n={len(runs)})"
            )
        os.chdir(home)


if __name__ == "__main__":
    main()
