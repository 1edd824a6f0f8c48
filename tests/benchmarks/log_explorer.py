"""Seconds for the log explorer to parse and resolve the log of a real run (figures, never assertions).

A SQLite app runs nested tasks on a 4-thread ThreadRunner, logging at DEBUG to a file, until the
file holds ``--lines`` lines; the whole file is then pasted into ``Monitor.logs`` (parse every
line, resolve every invocation and runner, build the mini-timeline) and, separately, into the
server route's answer (``web.queries.logs``: the same plus the Plotly figure). Both formats.

    .venv/bin/python tests/benchmarks/log_explorer.py
    .venv/bin/python tests/benchmarks/log_explorer.py --lines 1000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pynenc_nb import Pynenc  # noqa: E402
from pynenc_nb.monitor import Monitor  # noqa: E402
from pynenc_nb.web import queries  # noqa: E402
from tests.monitor.log_workload import run_logged  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pynenc-logs-bench-"))
    try:
        for log_format in ("text", "json"):
            app = Pynenc(
                config_values={
                    "app_id": f"bench-logs-{log_format}",
                    "backend_url": f"sqlite://{folder / (log_format + '.db')}",
                    "logging_level": "debug",
                }
            )
            log = folder / f"run.{log_format}.log"
            run_logged(app, log, log_format, args.lines)
            text = log.read_text(encoding="utf-8")
            lines = text.splitlines()[: args.lines]
            pasted = "\n".join(lines)
            monitor = Monitor(app)
            view_s, answer_s = [], []
            for _ in range(args.runs):
                started = time.perf_counter()
                view = monitor.logs(pasted)
                view_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                answer = queries.logs(monitor, pasted)
                json.dumps(answer)
                answer_s.append(time.perf_counter() - started)
            found = sum(1 for inv in view.invocations if inv.found)
            print(
                f"{log_format}: {len(lines)} lines, {view.parsed} parsed, {found}/{len(view.invocations)} invocations "
                f"resolved, {len(view.timeline.lanes)} lanes | Monitor.logs median {statistics.median(view_s):.3f} s "
                f"(min {min(view_s):.3f}) | route answer with figure median {statistics.median(answer_s):.3f} s"
            )
            app.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
