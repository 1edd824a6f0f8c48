"""Task code shipped by value: tasks defined in a notebook cell (module ``__main__``) run anywhere.

A runner in another process cannot import ``__main__`` of a kernel, so the app stores such a task
by value — its function, referenced globals and imports (cloudpickle), options and kind — in the
state backend under a content-hash version. Invocations carry the version they were called with,
and runners load ``(task id, version)``: re-running a cell with changed code makes a new version
for new calls while running invocations finish on theirs.

Apps and tasks met inside shipped code (a task calling another task, or the app object) travel by
reference and resolve to the runner's own app, so nothing with a live connection is pickled.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cloudpickle

from pynenc_nb.exceptions import SerializationError, TaskLoadError
from pynenc_nb.task_options import TaskOptions

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.task import Task

CODE_NAMESPACE = "task_code"
_live_apps: weakref.WeakValueDictionary[str, Pynenc] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def needs_shipping(func: Any) -> bool:
    """Functions of ``__main__`` (notebooks, scripts run directly) cannot be imported elsewhere."""
    return getattr(func, "__module__", None) in ("__main__", None)


def remember_app(app: Pynenc) -> None:
    """The app by-reference pickles resolve to in this process (the latest one per app id)."""
    with _lock:
        _live_apps[app.app_id] = app


def app_by_id(app_id: str) -> Pynenc:
    with _lock:
        app = _live_apps.get(app_id)
    if app is None:
        from pynenc_nb.app import Pynenc

        app = Pynenc(app_id=app_id)  # configured from PYNENC__* like the runner that loads this code
    return app


@dataclass(frozen=True)
class TaskSpec:
    """Everything needed to rebuild a task on a runner."""

    func: Any
    options: TaskOptions
    kind: str  # "task" | "workflow" | "direct"
    parallel_func: Any = None
    aggregate_func: Any = None


def pack(task: Task[Any, Any]) -> tuple[str, bytes]:
    """(version, payload) of a task's code; the version is a hash of the payload."""
    from pynenc_nb.task import DirectTask

    kind = "direct" if isinstance(task, DirectTask) else "workflow" if task.is_workflow else "task"
    spec = TaskSpec(
        task.func,
        task.options,
        kind,
        getattr(task, "parallel_func", None),
        getattr(task, "aggregate_func", None),
    )
    try:
        payload = cloudpickle.dumps(spec)
    except Exception as exc:
        raise SerializationError(
            f"task {task.task_id} is defined in a notebook cell, so its code is shipped to runners by value, "
            f"but it cannot be pickled: {exc}. Move what it references that holds a connection, lock or "
            "file (e.g. a client object) inside the function, or define the task in an importable module."
        ) from exc
    return hashlib.sha256(payload).hexdigest()[:16], payload


def unpack(app: Pynenc, task_id: str, payload: bytes) -> Task[Any, Any]:
    from pynenc_nb.task import DirectTask, Task

    try:
        spec: TaskSpec = cloudpickle.loads(payload)
    except Exception as exc:
        raise TaskLoadError(task_id, f"its shipped code cannot be loaded here: {exc!r}") from exc
    task: Task[Any, Any]
    if spec.kind == "direct":
        task = DirectTask(app, spec.func, spec.options, spec.parallel_func, spec.aggregate_func)
    else:
        task = Task(app, spec.func, spec.options, is_workflow=spec.kind == "workflow")
    return task


class TaskReference:
    """A task met inside shipped code: resolved on first use to the runner's task of that id."""

    def __init__(self, app_id: str, task_id: str) -> None:
        self._app_id = app_id
        self._task_id = task_id
        self._task: Task[Any, Any] | None = None

    def _resolve(self) -> Task[Any, Any]:
        if self._task is None:
            self._task = app_by_id(self._app_id).get_task(self._task_id)
        return self._task

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._resolve(), name)

    def __repr__(self) -> str:
        return f"<TaskReference {self._task_id}>"


def restore_task(app_id: str, task_id: str) -> TaskReference:
    return TaskReference(app_id, task_id)


def restore_app(app_id: str) -> Pynenc:
    return app_by_id(app_id)
