"""The log explorer: pasted pynenc or pynenc_nb log lines, parsed and resolved against the app.

Reads both formats of both projects (see :mod:`pynenc_nb.logs`): text lines
``<timestamp> LEVEL logger [Parent(id).Runner(id)<invocation id>:<task id>] message`` (ANSI
colours stripped; our older ``[ThreadRunner(id@host:pid) <id>:<task>]`` bracket too), and JSON
lines with pynenc's keys (or our older ``ts``/``level``/``runner``). A line in neither format is
kept, marked unparsed; the lines of a traceback stay with the line they follow.

Resolution is a fixed number of bulk reads whatever the log's length: one ``get_many`` for the
invocations, the runner table once, one ``histories`` read for the timeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynenc_nb.conf.urls import redact_text
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.monitor.common import RunnerDirectory, cyclic_gc_paused, summary_of
from pynenc_nb.monitor.log_models import (
    LogExplorerView,
    LogFormat,
    LogInvocation,
    LogLine,
    LogRunner,
    LogRunnerRef,
)
from pynenc_nb.monitor.timeline import timeline_of

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource
    from pynenc_nb.records import RunnerInfo

MAX_TEXT_CHARS = 5_000_000
MAX_LINES = 20_000
MAX_INVOCATIONS = 2_000  # resolved and drawn; more are counted as truncated
LINES_PER_INVOCATION = 100
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TEXT = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+"
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(?P<logger>\S+)(?: (?P<rest>.*))?$"
)
_RUNNER = re.compile(r"(?P<cls>[A-Za-z_]\w*)\((?P<id>[^()@\s]+)(?:@(?P<host>[^()\s]+):(?P<pid>\d+))?\)")
_ID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}"
_CONTEXT_REST = re.compile(rf"^ ?(?P<inv>{_ID})?(?::(?P<task>\S+))?$")
_BARE_ID = re.compile(rf"(?<![\w-])(?:{_ID})(?![\w-])")
_REF = re.compile(
    r"(?<![\w-])(?P<kind>parent-invocation|child-invocation|new-invocation|invocation|task|"
    r"current-owner-runner|attempted-owner-runner|runner|worker):(?P<value>[\w.:+#-]+)"
)
_LABEL = re.compile(r"(?<![\w.])[A-Z]\w*\((?P<id>[0-9a-f]{8})@[^()\s]+:\d+\)")  # our runner label in a message
_REF_LIST = re.compile(r"(?<![\w-])(?P<kind>invocations|runners|workers|tasks):\[(?P<values>[^\]]*)\]")
_INVOCATION_KINDS = frozenset({"invocation", "parent-invocation", "child-invocation", "new-invocation", "invocations"})
_RUNNER_KINDS = frozenset({"runner", "worker", "current-owner-runner", "attempted-owner-runner", "runners", "workers"})


def normal_id(written: str) -> str:
    """An invocation id as this project stores it: a UUID's 32 hex digits, lower case."""
    if len(written) == 36 and written.count("-") == 4:
        return written.replace("-", "").lower()
    return written.lower() if len(written) == 32 else written


# --- parsing -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    number: int
    first: str
    extra: list[str] = field(default_factory=list)
    in_traceback: bool = False


def _entries(text: str) -> Iterator[_Entry]:
    """Each log entry with its continuation lines (a traceback, indented lines); blank lines dropped."""
    current: _Entry | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _ANSI.sub("", raw) if "\x1b" in raw else raw
        if not line.strip():
            if current is not None:
                current.in_traceback = False
            continue
        starts = _TEXT.match(line) is not None or line.lstrip().startswith("{")
        if not starts and current is not None and _continues(current, line):
            current.extra.append(line)
            current.in_traceback = current.in_traceback or line.startswith("Traceback")
            continue
        if current is not None:
            yield current
        current = _Entry(number, line)
    if current is not None:
        yield current


def _continues(entry: _Entry, line: str) -> bool:
    return entry.in_traceback or line[:1].isspace() or line.startswith("Traceback")


def parse_lines(text: str) -> list[LogLine]:
    """Every entry of ``text``, parsed when it is in a known format, kept as it is when not."""
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidMonitorQueryError(
            f"the pasted log has {len(text)} characters; paste at most {MAX_TEXT_CHARS}", argument="text", value=None
        )
    lines: list[LogLine] = []
    for entry in _entries(text):
        if len(lines) == MAX_LINES:
            raise InvalidMonitorQueryError(
                f"the pasted log has more than {MAX_LINES} lines; paste fewer", argument="text", value=None
            )
        lines.append(parse_line(entry.first, entry.number, entry.extra))
    return lines


def parse_line(line: str, number: int = 1, extra: Iterable[str] = ()) -> LogLine:
    """One entry; URL passwords in it are redacted (the answer may be shown anywhere)."""
    raw = "\n".join([line, *extra])
    if "://" in raw:
        raw, line = redact_text(raw), redact_text(line)
    stripped = line.strip()
    if stripped.startswith("{"):
        parsed = _json_line(stripped, raw, number)
        if parsed is not None:
            return parsed
    match = _TEXT.match(line)
    if match is None:
        return _unparsed(raw, number)
    return _text_line(match, raw, number, "text")


def _unparsed(raw: str, number: int) -> LogLine:
    return LogLine(number, raw, "unparsed", False, None, None, None, None, None, None, raw, (), (), ())


def _text_line(match: re.Match[str], raw: str, number: int, fmt: LogFormat) -> LogLine:
    rest = match["rest"] or ""
    runner, invocation_id, task_id, message = _context(rest)
    return _line(
        number, raw, fmt, _epoch(match["ts"]), match["level"], match["logger"], runner, invocation_id, task_id, message
    )


def _context(rest: str) -> tuple[LogRunner | None, str | None, str | None, str]:
    """The bracket at the start of the message, when it is a runner/invocation context."""
    if not rest.startswith("["):
        return None, None, None, rest
    close = rest.find("]")
    if close < 0:
        return None, None, None, rest
    bracket, message = rest[1:close], rest[close + 1 :].removeprefix(" ")
    found: list[re.Match[str]] = []
    position = 0
    while (runner := _RUNNER.match(bracket, position)) is not None and len(found) < 2:
        found.append(runner)
        position = runner.end()
        if bracket.startswith(".", position):
            position += 1
    tail = _CONTEXT_REST.match(bracket[position:])
    if tail is None or not (found or tail["inv"]):
        return None, None, None, rest
    runner_view = None
    if found:
        top, worker = found[0], (found[1] if len(found) > 1 else None)
        source = worker or top
        runner_view = LogRunner(
            top["cls"],
            top["id"],
            worker["cls"] if worker else None,
            worker["id"] if worker else None,
            source["host"],
            int(source["pid"]) if source["pid"] else None,
        )
    invocation = normal_id(tail["inv"]) if tail["inv"] else None
    return runner_view, invocation, tail["task"], message


def _json_line(text: str, raw: str, number: int) -> LogLine | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    level = data.get("severity", data.get("level"))
    message = data.get("message")
    if not isinstance(level, str) or level.upper() not in LEVELS or not isinstance(message, str):
        return None
    stamp = data.get("timestamp", data.get("ts"))
    runner = _json_runner(data)
    invocation, task = _str(data.get("invocation_id")), _str(data.get("task_id"))
    text_line = data.get("text")
    if runner is None and invocation is None and isinstance(text_line, str):  # only the text field has the context
        match = _TEXT.match(text_line)
        if match is not None:
            runner, invocation, task, _ = _context(match["rest"] or "")
    return _line(
        number,
        raw,
        "json",
        _epoch(stamp) if isinstance(stamp, str) else None,
        level.upper(),
        _str(data.get("logger")),
        runner,
        normal_id(invocation) if invocation else None,
        task,
        message,
    )


def _json_runner(data: dict[str, Any]) -> LogRunner | None:
    host, pid = _str(data.get("hostname")), data.get("pid")
    pid = pid if isinstance(pid, int) and not isinstance(pid, bool) else None
    runner_id = _str(data.get("runner_id"))
    runner_cls = _str(data.get("runner_class"))
    label = _str(data.get("runner"))  # our older JSON: a label "ThreadRunner(id@host:pid)"
    if runner_cls is None and label:
        match = _RUNNER.match(label)
        if match is not None:
            runner_cls, host = match["cls"], host or match["host"]
            pid = pid if pid is not None else (int(match["pid"]) if match["pid"] else None)
    if runner_id is None and runner_cls is None:
        return None
    parent_id, parent_cls = _str(data.get("parent_runner_id")), _str(data.get("parent_runner_class"))
    if parent_id is not None:
        return LogRunner(parent_cls, parent_id, runner_cls, runner_id, host, pid)
    return LogRunner(runner_cls, runner_id, None, None, host, pid)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _epoch(stamp: str) -> float | None:
    try:
        moment = datetime.fromisoformat(stamp.replace(",", "."))
    except ValueError:
        return None
    return moment.timestamp()  # naive: local time, as pynenc's older lines were


def _line(
    number: int,
    raw: str,
    fmt: LogFormat,
    timestamp: float | None,
    level: str | None,
    logger: str | None,
    runner: LogRunner | None,
    invocation_id: str | None,
    task_id: str | None,
    message: str,
) -> LogLine:
    invocations: dict[str, None] = {invocation_id: None} if invocation_id else {}
    tasks: dict[str, None] = {task_id: None} if task_id else {}
    runners: dict[str, None] = {}
    if runner is not None:
        runners.update((i, None) for i in (runner.runner_id, runner.worker_id) if i)
    if ":" in message:
        for ref in _REF.finditer(message):
            _add_ref(ref["kind"], ref["value"], invocations, tasks, runners)
        for refs in _REF_LIST.finditer(message):
            for value in refs["values"].split(","):
                if value.strip():
                    _add_ref(refs["kind"], value.strip(), invocations, tasks, runners)
    if "@" in message:
        for label in _LABEL.finditer(message):
            runners.setdefault(label["id"], None)
    for bare in _BARE_ID.findall(message):  # an id without a kind: an invocation if the app knows one
        invocations.setdefault(normal_id(bare), None)
    return LogLine(
        number,
        raw,
        fmt,
        True,
        timestamp,
        level,
        logger,
        runner,
        invocation_id,
        task_id,
        message,
        tuple(invocations),
        tuple(tasks),
        tuple(r for r in runners if normal_id(r) not in invocations),
    )


def _add_ref(
    kind: str, value: str, invocations: dict[str, None], tasks: dict[str, None], runners: dict[str, None]
) -> None:
    if kind in _INVOCATION_KINDS:
        invocations.setdefault(normal_id(value), None)
    elif kind in _RUNNER_KINDS:
        runners.setdefault(value, None)
    elif kind in ("task", "tasks"):
        tasks.setdefault(value, None)


# --- resolution ----------------------------------------------------------------------------------


class _RunnerIndex:
    """Runner ids as a log writes them (8 characters, or whole) to the runners this app knows."""

    def __init__(self, directory: RunnerDirectory) -> None:
        self.directory = directory
        self.by_prefix: dict[str, list[RunnerInfo]] = {}
        for info in directory.infos.values():
            self.by_prefix.setdefault(info.context.runner_id[:8], []).append(info)

    def find(self, written: str) -> RunnerInfo | None:
        exact = self.directory.infos.get(written)
        if exact is not None:
            return exact
        candidates = [i for i in self.by_prefix.get(written[:8], ()) if i.context.runner_id.startswith(written)]
        return candidates[0] if len(candidates) == 1 else None


def explore(app: MonitorSource, text: str, now: float) -> LogExplorerView:
    """Parse ``text`` and resolve what it mentions; see :class:`LogExplorerView`."""
    with cyclic_gc_paused():
        lines = parse_lines(text)
        mentioned: dict[str, list[int]] = {}
        for line in lines:
            for invocation_id in line.invocation_ids:
                mentioned.setdefault(invocation_id, []).append(line.number)
        state = app.state_backend
        wanted = list(mentioned)
        records = state.get_many(wanted) if wanted else {}
        # only ids the context or a reference named stay when unknown; unknown bare ids were guesses
        named = {i for line in lines for i in _named_invocations(line)}
        directory = RunnerDirectory(state)
        runner_index = _RunnerIndex(directory)
        found = [records[i] for i in wanted if i in records]
        truncated = len(found) > MAX_INVOCATIONS
        drawn = sorted(found, key=lambda r: r.created_at)[:MAX_INVOCATIONS]
        invocations = tuple(
            LogInvocation(
                invocation_id,
                invocation_id in records,
                summary_of(records[invocation_id]) if invocation_id in records else None,
                directory.label(records[invocation_id].owner_id) if invocation_id in records else None,
                tuple(numbers[:LINES_PER_INVOCATION]),
            )
            for invocation_id, numbers in mentioned.items()
            if invocation_id in records or invocation_id in named
        )
        runners, lanes = _runners(lines, runner_index)
        timeline = timeline_of(app, drawn, now, lanes=[lane for lane in lanes if lane in directory.infos])
        lane_ids = {lane.lane_id for lane in timeline.lanes}
        highlighted = tuple(
            lane.lane_id for lane in timeline.lanes if lane.lane_id in lanes or (lane.parent_runner_id or "") in lanes
        )
        tasks = dict.fromkeys(t for line in lines for t in line.task_ids)
        return LogExplorerView(
            lines=tuple(lines),
            parsed=sum(1 for line in lines if line.parsed),
            unparsed=sum(1 for line in lines if not line.parsed),
            invocations=invocations,
            runners=runners,
            tasks=tuple(tasks),
            timeline=timeline,
            highlighted_lanes=tuple(h for h in highlighted if h in lane_ids),
            truncated=truncated,
            generated_at=now,
        )


def _named_invocations(line: LogLine) -> Iterator[str]:
    if line.invocation_id:
        yield line.invocation_id
    if ":" in line.message:
        for ref in _REF.finditer(line.message):
            if ref["kind"] in _INVOCATION_KINDS:
                yield normal_id(ref["value"])
        for refs in _REF_LIST.finditer(line.message):
            if refs["kind"] == "invocations":
                yield from (normal_id(v.strip()) for v in refs["values"].split(",") if v.strip())


def _runners(lines: list[LogLine], index: _RunnerIndex) -> tuple[tuple[LogRunnerRef, ...], set[str]]:
    """Each runner and worker id written, with how many lines name it, resolved when possible;
    and the full ids of those resolved (the lanes to highlight)."""
    counts: dict[tuple[str, str], int] = {}
    for line in lines:
        runner = line.runner
        roles: dict[str, str] = {}
        if runner is not None:
            if runner.runner_id:
                roles[runner.runner_id] = "runner"
            if runner.worker_id:
                roles[runner.worker_id] = "worker"
        for written in line.runner_ids:
            roles.setdefault(written, "runner")
        for written, role in roles.items():
            counts[(written, role)] = counts.get((written, role), 0) + 1
    refs: list[LogRunnerRef] = []
    lanes: set[str] = set()
    for (written, role), count in counts.items():
        info = index.find(written)
        if info is not None:
            lanes.add(info.context.runner_id)
        refs.append(
            LogRunnerRef(
                written,
                "worker" if role == "worker" else "runner",
                info.context.runner_id if info is not None else None,
                info.label if info is not None else None,
                count,
            )
        )
    return tuple(refs), lanes
