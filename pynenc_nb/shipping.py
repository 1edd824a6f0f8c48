"""Task code shipped by value: tasks defined in a notebook cell (module ``__main__``) run anywhere.

A runner in another process cannot import ``__main__`` of a kernel, so the app stores such a task
by value — its function, referenced globals and imports (cloudpickle), options and kind — in the
state backend under a content-hash version. Invocations carry the version they were called with,
and runners load ``(task id, version)``: re-running a cell with changed code makes a new version
for new calls while running invocations finish on theirs.

Apps and tasks met inside shipped code (a task calling another task, or the app object) travel by
reference and resolve to the runner's own app (``live_apps``), so nothing with a live connection
is pickled. ``pack`` also names the tasks a payload refers to (directly, through plain functions,
``parallelize`` or direct tasks): the app publishes them with it, so a cell task calling another
cell task runs on any runner with nothing called first.
"""

from __future__ import annotations

import hashlib
import inspect
import linecache
import os
import types
from dataclasses import dataclass
from typing import Any

import cloudpickle

from pynenc_nb.exceptions import SerializationError, TaskLoadError
from pynenc_nb.live_apps import restore_app, restore_task
from pynenc_nb.task import DirectTask, Task, TaskHost, noting_pickled_tasks
from pynenc_nb.task_options import TaskOptions

# Older payloads name these here: shipped code pickled by an earlier version still loads.
__all__ = ["TaskSpec", "needs_shipping", "pack", "restore_app", "restore_task", "unpack"]


def needs_shipping(func: Any) -> bool:
    """Functions of ``__main__`` (notebooks, scripts run directly) cannot be imported elsewhere."""
    return getattr(func, "__module__", None) in ("__main__", None)


@dataclass(frozen=True)
class TaskSpec:
    """Everything needed to rebuild a task on a runner."""

    func: Any
    options: TaskOptions
    kind: str  # "task" | "workflow" | "direct"
    parallel_func: Any = None
    aggregate_func: Any = None
    # The function's own source lines and where they were (a notebook cell's made-up file name):
    # cloudpickle ships code without them, so a runner's traceback would show no line of the cell.
    source_file: str | None = None
    source_lines: tuple[str, ...] = ()
    # The same for the notebook functions it calls (transitively): (qualified name, file name,
    # lines) per function; cloudpickle gives their code a placeholder file name, restored here.
    helper_sources: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


def pack(task: Task[Any, Any]) -> tuple[str, bytes, list[Task[Any, Any]]]:
    """(version, payload, the other tasks it refers to) of a task's code; the version is a hash of
    the payload."""
    kind = "direct" if isinstance(task, DirectTask) else "workflow" if task.is_workflow else "task"
    source_file, source_lines = _source_of(task.func)
    spec = TaskSpec(
        task.func,
        task.options,
        kind,
        getattr(task, "parallel_func", None),
        getattr(task, "aggregate_func", None),
        source_file,
        source_lines,
        _helper_sources(task.func),
    )
    try:
        with noting_pickled_tasks() as referenced:
            payload = cloudpickle.dumps(spec)
    except Exception as exc:
        raise SerializationError(
            f"task {task.task_id} is defined in a notebook cell, so its code is shipped to runners by value, "
            f"but it cannot be pickled: {exc}. Move what it references that holds a connection, lock or "
            "file (e.g. a client object) inside the function, or define the task in an importable module."
        ) from exc
    others = list({id(t): t for t in referenced if t is not task}.values())
    return hashlib.sha256(payload).hexdigest()[:16], payload, others


_MAX_SOURCE_LINES = 2000


def _source_of(func: Any) -> tuple[str | None, tuple[str, ...]]:
    """The file name and lines 1..end of the function (only its own lines filled in, the rest
    empty), so that only the function's text, not its neighbours', is part of its version."""
    code = getattr(func, "__code__", None)
    if code is None:
        return None, ()
    try:
        lines, start = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return None, ()
    if start < 1 or len(lines) > _MAX_SOURCE_LINES:
        return None, ()
    return code.co_filename, tuple([""] * (start - 1) + lines)


_MAX_HELPERS = 200


def _names_in(code: types.CodeType) -> set[str]:
    """Global names ``code`` (and the code nested in it) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_in(const)
    return names


def _helpers(func: Any) -> list[types.FunctionType]:
    """The plain notebook functions ``func`` calls, directly or through one another."""
    found: list[types.FunctionType] = []
    seen: set[int] = {id(func)}
    pending = [func]
    while pending and len(found) < _MAX_HELPERS:
        current = pending.pop()
        code = getattr(current, "__code__", None)
        scope = getattr(current, "__globals__", {})
        for name in sorted(_names_in(code)) if code is not None else ():
            candidate = scope.get(name)
            if isinstance(candidate, types.FunctionType) and needs_shipping(candidate) and id(candidate) not in seen:
                seen.add(id(candidate))
                found.append(candidate)
                pending.append(candidate)
    return found


def _helper_sources(func: Any) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(qualified name, file name, lines) of each helper: shipped with the task so a runner's
    traceback through them shows their cells' lines."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for helper in _helpers(func):
        filename, lines = _source_of(helper)
        if filename and lines:
            out.append((helper.__qualname__, filename, lines))
    return tuple(out)


def _renamed(code: types.CodeType, filename: str) -> types.CodeType:
    """``code`` and the code nested in it (inner functions, comprehensions) under ``filename``."""
    consts = tuple(_renamed(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _restore_source(spec: TaskSpec) -> None:
    helpers = getattr(spec, "helper_sources", ())  # absent from older payloads
    if helpers:
        by_name = {name: (filename, lines) for name, filename, lines in helpers}
        merged: dict[str, list[str]] = {}
        for filename, lines in by_name.values():
            into = merged.setdefault(filename, [])
            into.extend([""] * (len(lines) - len(into)))
            for index, line in enumerate(lines):
                into[index] = into[index] or line
        for filename, lines in merged.items():
            if not os.path.exists(filename):
                linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
        for helper in _helpers(spec.func):
            if helper.__qualname__ in by_name:
                helper.__code__ = _renamed(helper.__code__, by_name[helper.__qualname__][0])
    if not spec.source_file or not spec.source_lines or not hasattr(spec.func, "__code__"):
        return
    if not os.path.exists(spec.source_file):  # a real file is read as it is (other code may use it)
        lines = list(spec.source_lines)
        linecache.cache[spec.source_file] = (sum(map(len, lines)), None, lines, spec.source_file)
    spec.func.__code__ = _renamed(spec.func.__code__, spec.source_file)


def unpack(app: TaskHost, task_id: str, payload: bytes) -> Task[Any, Any]:
    try:
        spec: TaskSpec = cloudpickle.loads(payload)
    except Exception as exc:
        raise TaskLoadError(task_id, f"its shipped code cannot be loaded here: {exc!r}") from exc
    _restore_source(spec)
    task: Task[Any, Any]
    if spec.kind == "direct":
        task = DirectTask(app, spec.func, spec.options, spec.parallel_func, spec.aggregate_func)
    else:
        task = Task(app, spec.func, spec.options, is_workflow=spec.kind == "workflow")
    return task
