"""Turning what users type (``10m``, a task's short name) into monitor query arguments."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.monitor import Monitor

Since = str | float | int | timedelta | datetime | None
_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>s|m|min|h|d)?\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds in ``"30s"``, ``"10m"``, ``"1.5h"``, ``"2d"`` or ``"600"`` (plain seconds)."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidMonitorQueryError(
            f"since={text!r}: expected a duration such as 30s, 10m, 2h or 1d (a plain number is seconds)",
            argument="since",
            value=text,
        )
    return float(match["n"]) * _UNIT_S[match["unit"]]


def window_start(since: Since, now: float) -> float | None:
    """The start of the window: ``since`` ago (a duration), at ``since`` (a datetime), or open."""
    if since is None:
        return None
    if isinstance(since, datetime):
        return since.timestamp()
    if isinstance(since, timedelta):
        seconds = since.total_seconds()
    elif isinstance(since, str):
        seconds = parse_duration(since)
    elif isinstance(since, int | float) and not isinstance(since, bool):
        seconds = float(since)
    else:
        raise InvalidMonitorQueryError(
            f"since={since!r}: expected a duration (10m, 600, a timedelta), a datetime or None",
            argument="since",
            value=since,
        )
    if seconds < 0:
        raise InvalidMonitorQueryError(f"since={since!r} is negative", argument="since", value=since)
    return now - seconds


def task_id_of(monitor: Monitor, task: Any) -> str | None:
    """A task object, its full id, or a name that ends exactly one known task id (``score``)."""
    if task is None:
        return None
    if not isinstance(task, str):
        task_id = getattr(task, "task_id", None)
        if isinstance(task_id, str):
            return task_id
        raise InvalidMonitorQueryError(f"task={task!r}: expected a task or its name", argument="task", value=task)
    known = [view.task_id for view in monitor.tasks(counts=False)]
    if task in known:
        return task
    matches = [task_id for task_id in known if task_id.rsplit(".", 1)[-1] == task or task_id.endswith("." + task)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidMonitorQueryError(
            f"task {task!r} is ambiguous: {', '.join(sorted(matches))}", argument="task", value=task
        )
    shown = ", ".join(known[:20]) + (", …" if len(known) > 20 else "") if known else "none yet"
    raise InvalidMonitorQueryError(f"no task named {task!r}; known tasks: {shown}", argument="task", value=task)
