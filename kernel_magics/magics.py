"""The ``%pynenc`` line magic. Thin: parsing here, every action a library function."""

from __future__ import annotations

import argparse
import collections
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.display import display

from kernel_magics.session import AlreadyShown, EmittedEvent, NotebookSession
from pynenc_nb.exceptions import PynencError


def _parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="%pynenc", description="pynenc_nb in a notebook")  # type: ignore[no-untyped-call]
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("app", help="choose the app").add_argument("expression", nargs="+")
    sub.add_parser("status", help="counts by status, runners, recent failures")
    sub.add_parser("config", help="the app's effective settings (secrets masked)")
    timeline = sub.add_parser("timeline", help="live timeline of the invocations (Plotly)")
    timeline.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d or seconds (default 10m)")
    timeline.add_argument("--task", default=None, help="only this task (its id or short name)")
    timeline.add_argument(
        "--live", action=argparse.BooleanOptionalAction, default=True, help="live updates (default) or a static figure"
    )
    tree = sub.add_parser("tree", help="family tree of an invocation")
    tree.add_argument("invocation", help="an invocation id, or a variable holding an Invocation")
    tree.add_argument("--depth", type=int, default=3)
    sub.add_parser("monitor", help="counts, timeline, runners and family trees in tabs")
    events = sub.add_parser("events", help="recent events and the invocations their triggers created")
    events.add_argument("--code", default=None, help="only events of this code")
    events.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d or seconds (default 10m)")
    events.add_argument("--limit", type=int, default=50, help="events shown at most (default 50)")
    matched = events.add_mutually_exclusive_group()
    matched.add_argument(
        "--matched", dest="matched", action="store_true", default=None, help="only events a trigger fired on"
    )
    matched.add_argument("--unmatched", dest="matched", action="store_false", help="only events no trigger fired on")
    events.add_argument(
        "--live", action=argparse.BooleanOptionalAction, default=True, help="live updates (default) or a static table"
    )
    workflows = sub.add_parser("workflows", help="workflow runs: type, status, duration, children")
    workflows.add_argument("--type", dest="workflow_type", default=None, help="only this workflow task (its id)")
    workflows.add_argument("--limit", type=int, default=50, help="runs shown at most (default 50)")
    workflows.add_argument(
        "--live", action=argparse.BooleanOptionalAction, default=True, help="live updates (default) or a static table"
    )
    workflow = sub.add_parser("workflow", help="one workflow run: steps, data keys, members, sub-workflows")
    workflow.add_argument("workflow", help="a workflow root's invocation id, or a variable holding its Invocation")
    workflow.add_argument(
        "--live", action=argparse.BooleanOptionalAction, default=True, help="live updates (default) or a static table"
    )
    explorer = sub.add_parser("logs", help="the log explorer: paste log lines, see their invocations and runners")
    explorer.add_argument("file", nargs="?", default=None, help="a log file to load (its last --tail lines)")
    explorer.add_argument("--tail", type=int, default=1000, help="lines of the file loaded (default 1000)")
    emit = sub.add_parser("emit", help="emit an event for on_event triggers; prints its id")
    emit.add_argument("event_code")
    emit.add_argument("payload", nargs="?", default=None, help='a JSON object, e.g. {"feed": "rss"}')
    kill = sub.add_parser("kill", help="end invocations KILLED; their runners interrupt them within a heartbeat")
    kill.add_argument("invocations", nargs="+", help="invocation ids, or variables holding an Invocation")
    kill.add_argument("--reason", default="killed from the notebook")
    runner = sub.add_parser("runner", help="start, list, stop runners and read their logs")
    rsub = runner.add_subparsers(dest="runner_command", required=True)
    start = rsub.add_parser("start")
    start.add_argument("--kind", default="thread", help="thread | process | kernel | remote")
    start.add_argument("--workers", type=int, default=None)
    start.add_argument(
        "--runner",
        default="ThreadRunner",
        help="ThreadRunner | MultiThreadRunner | ProcessRunner | PersistentProcessRunner",
    )
    start.add_argument(
        "--command",
        default=None,
        help="remote: a command template, e.g. 'ssh HOST {python} -m pynenc_nb {runner_args}'",
    )
    start.add_argument("--name", default=None)
    start.add_argument("--detach", action="store_true", help="keep running after this kernel shuts down")
    rsub.add_parser("list")
    stop = rsub.add_parser("stop")
    stop.add_argument("name", nargs="?")
    stop.add_argument("--all", action="store_true")
    logs = rsub.add_parser("logs")
    logs.add_argument("name")
    logs.add_argument("--tail", type=int, default=50)
    return parser


def _words(line: str) -> list[str]:
    """The magic's arguments. An event payload is the rest of the line as typed, so that
    ``%pynenc emit order {"id": 3}`` keeps its quotes (quoting it as one word works too)."""
    head = line.split(None, 2)
    if len(head) == 3 and head[0] == "emit" and not head[1].startswith("-"):
        payload = head[2].strip()
        if len(payload) >= 2 and payload[0] == payload[-1] and payload[0] in "'\"":
            payload = shlex.split(payload)[0] if len(shlex.split(payload)) == 1 else payload
        return ["emit", head[1], payload]
    return shlex.split(line)


@magics_class
class PynencMagics(Magics):
    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.session = NotebookSession(lambda: self.shell.user_ns if self.shell is not None else {})
        self.parser = _parser()

    @no_var_expand  # command templates hold {python}/{runner_args}: IPython must not fill them
    @line_magic
    def pynenc(self, line: str) -> Any:
        """%pynenc app|status|config|timeline|tree|monitor|events|workflows|workflow|logs|emit|kill|runner start/list/stop/logs — see `%pynenc --help`."""
        args = self.parser.parse_args(_words(line))
        try:
            return self._dispatch(args)
        except PynencError as exc:
            raise UsageError(str(exc)) from None

    def _dispatch(self, args: Any) -> Any:
        session = self.session
        if args.command == "app":
            return session.choose(" ".join(args.expression))
        if args.command == "status":
            return session.status()
        if args.command == "config":
            return session.config()
        if args.command == "timeline":
            return session.timeline(since=args.since, task=args.task, live=args.live)
        if args.command == "tree":
            return session.tree(args.invocation, depth=args.depth)
        if args.command == "monitor":
            return session.monitor()
        if args.command == "events":
            return session.events(
                since=args.since, code=args.code, matched=args.matched, limit=args.limit, live=args.live
            )
        if args.command == "workflows":
            return session.workflows(workflow_type=args.workflow_type, limit=args.limit, live=args.live)
        if args.command == "workflow":
            return session.workflow(args.workflow, live=args.live)
        if args.command == "logs":
            from pynenc_nb.widgets import LogExplorer

            text = ""
            if args.file is not None:
                with open(args.file, encoding="utf-8", errors="replace") as log:
                    text = "".join(collections.deque(log, maxlen=max(1, args.tail)))
            return LogExplorer(session.app, text)
        if args.command == "emit":
            event_id = session.emit(args.event_code, args.payload)
            print(f"event {args.event_code} emitted: {event_id}")  # each emit line of a cell says so
            return EmittedEvent(event_id)
        if args.command == "kill":
            statuses = session.kill(args.invocations, reason=args.reason)
            for invocation_id, status in statuses.items():
                print(f"{invocation_id}: {status.value}")
            return statuses
        if args.runner_command == "start":
            started = session.start_runner(
                kind=args.kind,
                workers=args.workers,
                runner_cls=args.runner,
                command=args.command,
                name=args.name,
                detach=args.detach,
            )
            display(started)  # type: ignore[no-untyped-call]  # now: each `runner start` line shows its runner
            return AlreadyShown(started.text, started.rows, started.header, started.grid)
        if args.runner_command == "list":
            return session.list_runners()
        if args.runner_command == "stop":
            if not args.all and not args.name:
                raise UsageError("usage: %pynenc runner stop NAME | --all")
            return session.stop_runners(None if args.all else args.name)
        return session.logs(args.name, args.tail)
