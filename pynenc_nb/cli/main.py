"""The ``pynenc`` command: its arguments, and one handler per sub-command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pynenc_nb.app import Pynenc
from pynenc_nb.cli.discovery import discover_app, load_app
from pynenc_nb.exceptions import PynencError
from pynenc_nb.invocation.status import render_mermaid, render_table
from pynenc_nb.summary import app_summary, format_summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pynenc", description="pynenc_nb: distributed tasks, native in Jupyter")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--app", help="module.attr, module:attr or path.py[:attr]; default: the only app here")
    target.add_argument(
        "--app-id",
        help="an app defined elsewhere (a notebook): built from PYNENC__* settings, its tasks loaded from the backend",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    runner = sub.add_parser("runner", help="run tasks").add_subparsers(dest="runner_command", required=True)
    start = runner.add_parser("start", help="start a runner in this process (stops on SIGTERM / Ctrl-C)")
    start.add_argument("--runner-cls", help="ThreadRunner, MultiThreadRunner, ProcessRunner, PersistentProcessRunner")
    start.add_argument("--max-threads", type=int)
    start.add_argument("--num-processes", type=int)
    start.add_argument("--max-processes", type=int)
    start.add_argument("--queues", help="comma-separated queue names (default: the app's queues)")
    start.add_argument("--name", help="a label shown by `%%pynenc runner list` and monitors")
    start.add_argument("--stop-with-pid", type=int, help="stop gracefully when this process ends")

    status = sub.add_parser("status", help="counts by status and runners")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status_sub = status.add_subparsers(dest="status_command")
    render = status_sub.add_parser("render", help="print the invocation state machine")
    render.add_argument("--mermaid", action="store_true", help="as a Mermaid state diagram")

    monitor = sub.add_parser("monitor", help="the monitor API and a page in the browser, without JupyterLab")
    monitor.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    monitor.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    monitor.add_argument(
        "--app",
        dest="monitor_apps",
        action="append",
        metavar="APP_ID",
        help="show this app id only (repeatable); not in the app registry: built from PYNENC__* settings here",
    )
    monitor.add_argument("--registry", help="the app registry file (default: $PYNENC_NB_APP_REGISTRY or Jupyter's)")

    show = sub.add_parser("show_config", help="the effective configuration (secrets masked)")
    show.add_argument("--json", action="store_true")

    bench = sub.add_parser("benchmark", help="throughput and latency of no-op tasks on a backend")
    bench.add_argument("--backend", default=None, help="backend URL (default: a fresh SQLite file)")
    bench.add_argument("--broker", default=None, help="broker URL beside the backend (amqp://…)")
    bench.add_argument("--tasks", type=int, default=2000)
    bench.add_argument("--workers", type=int, default=1, help="slots of the runner process")
    bench.add_argument("--latency-calls", type=int, default=200)
    bench.add_argument("--json", action="store_true")
    return parser


def _app(args: argparse.Namespace) -> Pynenc:
    if args.app:
        return load_app(args.app)
    if args.app_id:
        return Pynenc(app_id=args.app_id)
    return discover_app()


def _runner_start(args: argparse.Namespace) -> int:
    from pynenc_nb.runners import make_runner

    app = _app(args)
    app.require_shared_backend("`pynenc runner start`")
    overrides: dict[str, Any] = {}
    for name in ("max_threads", "num_processes", "max_processes"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.queues:
        overrides["queues"] = tuple(q.strip() for q in args.queues.split(",") if q.strip())
    if args.runner_cls:
        overrides["runner_cls"] = args.runner_cls
    if overrides:
        from pynenc_nb.conf import coerce
        from pynenc_nb.conf.loader import _HINTS

        typed = {k: coerce(v, _HINTS[k], f"--{k.replace('_', '-')}") for k, v in overrides.items()}
        app.conf = app.conf.replace(**typed)
    runner = make_runner(app)
    runner.name = args.name
    runner.install_signal_handlers()
    if args.stop_with_pid:
        runner.stop_when_process_ends(args.stop_with_pid)
    runner.run()
    return 0


def _status(args: argparse.Namespace) -> int:
    if args.status_command == "render":
        print(render_mermaid() if args.mermaid else render_table())
        return 0
    summary = app_summary(_app(args))
    print(json.dumps(summary) if args.json else format_summary(summary))
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from pynenc_nb.cli.monitor import run_monitor

    apps = [load_app(args.app)] if args.app else [Pynenc(app_id=args.app_id)] if args.app_id else []
    return run_monitor(args.host, args.port, apps, args.monitor_apps or [], args.registry)


def _show_config(args: argparse.Namespace) -> int:
    app = _app(args)
    data = app.conf.public_dict()
    if args.json:
        print(json.dumps(data, default=str, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:<30} {value}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from pynenc_nb.benchmark import format_report, run_benchmark

    report = run_benchmark(
        args.backend, tasks=args.tasks, workers=args.workers, latency_calls=args.latency_calls, broker_url=args.broker
    )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "runner": _runner_start,
        "status": _status,
        "monitor": _monitor,
        "show_config": _show_config,
        "benchmark": _benchmark,
    }
    try:
        return handlers[args.command](args)
    except PynencError as exc:
        print(f"pynenc: error: {exc}", file=sys.stderr)
        return 2
