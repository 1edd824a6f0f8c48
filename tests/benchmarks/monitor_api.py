"""Response times of the monitor's HTTP API over many stored invocations (figures, never assertions).

Invocations are written straight through the ports (``populate`` of ``monitor_timeline.py``): the
most recent ``--recent`` within the last ten minutes, the rest a day earlier. The app is recorded
in a private app registry and ``pynenc monitor`` is started on it as a user would (its own
process, a free port, the printed token); requests go over one keep-alive connection, the way a
browser polls. The same handlers serve the Jupyter server extension, so the figures hold there
too (minus Jupyter's own per-request work).

    .venv/bin/python tests/benchmarks/monitor_api.py                    # 100,000 stored
    .venv/bin/python tests/benchmarks/monitor_api.py --stored 10000 --runs 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pynenc_nb import Pynenc  # noqa: E402
from pynenc_nb.app_registry import public_key, record  # noqa: E402
from pynenc_nb.monitor import Monitor  # noqa: E402
from pynenc_nb.records import new_id  # noqa: E402
from pynenc_nb.web import queries  # noqa: E402
from tests.benchmarks.monitor_timeline import populate, register_runners  # noqa: E402


def start_monitor(registry: Path, workdir: Path) -> tuple[subprocess.Popen[str], int, str]:
    out = workdir / "monitor.out"
    env = {**os.environ, "PYNENC_NB_APP_REGISTRY": str(registry), "PYTHONPATH": str(ROOT)}
    with open(out, "w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "pynenc_nb", "monitor", "--port", "0"],
            env=env,
            cwd=str(workdir),
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"open http://[^:/]+:(\d+)/\?token=(\S+)", out.read_text())
        if match:
            return process, int(match[1]), match[2]
        if process.poll() is not None:
            raise SystemExit(f"pynenc monitor exited: {out.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise SystemExit("pynenc monitor did not start within 30 s")


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"token {token}", "Accept-Encoding": "identity"}

    def get(self, path: str) -> tuple[float, int, Any]:
        began = time.perf_counter()
        self.connection.request("GET", "/pynenc/api/" + path, headers=self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        seconds = time.perf_counter() - began
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {payload[:300]!r}")
        return seconds, len(payload), json.loads(payload)


def figure(client: Client, label: str, path: str, runs: int) -> Any:
    first, size, data = client.get(path)
    seconds = [client.get(path)[0] for _ in range(runs)]
    print(
        f"{label:<44} first {first * 1000:7.1f} ms   median {statistics.median(seconds) * 1000:7.1f} ms   "
        f"p90 {sorted(seconds)[int(0.9 * (len(seconds) - 1))] * 1000:7.1f} ms   {size / 1000:8.1f} kB"
    )
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stored", type=int, default=100_000, help="invocations stored")
    parser.add_argument("--recent", type=int, default=2_000, help="of which in the last ten minutes")
    parser.add_argument("--runs", type=int, default=10, help="timed requests per route (after a first one)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pynenc-monitor-api-"))
    registry = workdir / "apps.json"
    os.environ["PYNENC_NB_APP_REGISTRY"] = str(registry)
    url = f"sqlite://{workdir / 'bench.db'}"
    app = Pynenc(config_values={"app_id": f"bench-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})
    process: subprocess.Popen[str] | None = None
    rng = random.Random(7)
    try:
        register_runners(app)
        now = time.time()
        began = time.perf_counter()
        older = args.stored - args.recent
        populate(app, older, now - 86_400 - older * 0.01, 0.01, rng)
        parents = populate(app, args.recent, now - 590, 580 / max(args.recent, 1), rng)
        print(
            f"stored {args.stored:,} invocations ({args.recent:,} in the last 10 min) in {time.perf_counter() - began:.0f} s"
        )
        record(app.app_id, url, working_dir=str(workdir))
        key = public_key(app.app_id, url)

        monitor = Monitor(app)
        began = time.perf_counter()
        queries.summary(monitor, {})
        print(f"in process, no HTTP: summary query {1000 * (time.perf_counter() - began):.1f} ms (cold)")

        process, port, token = start_monitor(registry, workdir)
        client = Client(port, token)
        print(f"pynenc monitor on port {port}; {args.runs} timed requests per route after the first:")
        figure(client, "GET apps", "apps", args.runs)
        summary = figure(client, "GET summary", f"apps/{key}/summary", args.runs)
        assert summary["total"] == args.stored, summary["total"]
        page = figure(client, "GET invocations (first page, 50)", f"apps/{key}/invocations", args.runs)
        figure(client, "GET invocations (first page, 500)", f"apps/{key}/invocations?limit=500", args.runs)
        figure(
            client,
            "GET invocations (second page, 50)",
            f"apps/{key}/invocations?cursor={page['next_cursor']}",
            args.runs,
        )
        figure(client, "GET invocations?status=FAILED (50)", f"apps/{key}/invocations?status=FAILED", args.runs)
        figure(client, "GET runners", f"apps/{key}/runners", args.runs)
        figure(client, "GET tasks (with counts)", f"apps/{key}/tasks", args.runs)
        view = figure(client, "GET timeline since=10m (first page, 2000)", f"apps/{key}/timeline?since=10m", args.runs)
        print(
            f"  (timeline page: {len(view['invocations']):,} invocations, {len(view['segments']['start']):,} segments)"
        )
        figure(client, "GET timeline since=10m&figure=1", f"apps/{key}/timeline?since=10m&figure=1", args.runs)
        figure(client, "GET invocation detail", f"apps/{key}/invocations/{parents[0]}", args.runs)
        figure(client, "GET family tree (depth 3)", f"apps/{key}/invocations/{parents[0]}/tree", args.runs)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        app.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
