"""The apps alive in this process, by id: what apps and tasks pickled by reference resolve to.

Code shipped from a notebook cell refers to its app and to other tasks by id (never by value: an
app holds connections). In a runner those ids resolve here, to the runner's own app. The app
module registers every app it builds and the factory used when an id has no app in this process;
that build is logged, since it means the runner was started for another app id than the code's.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from pynenc_nb.exceptions import ConfigError

_log = logging.getLogger("pynenc.live_apps")


class LiveApp(Protocol):
    @property
    def app_id(self) -> str: ...

    def get_task(self, task_id: str, version: str | None = None) -> Callable[..., Any]: ...


_lock = threading.Lock()
_latest: weakref.WeakValueDictionary[str, LiveApp] = weakref.WeakValueDictionary()
_every: weakref.WeakSet[LiveApp] = weakref.WeakSet()
_factory: Callable[[str], LiveApp] | None = None


def remember(app: LiveApp) -> None:
    """``app`` is the one references to its id resolve to (the latest built per id)."""
    with _lock:
        _latest[app.app_id] = app
        _every.add(app)


def every_app() -> list[LiveApp]:
    """Every app alive in this process (after ``fork`` each drops its parent's connections)."""
    with _lock:
        return list(_every)


def set_factory(factory: Callable[[str], LiveApp]) -> None:
    """How to build an app for an id that has none here (the app module sets it)."""
    global _factory
    _factory = factory


def restore_app(app_id: str) -> LiveApp:
    with _lock:
        app = _latest.get(app_id)
        factory = _factory
    if app is not None:
        return app
    if factory is None:
        raise ConfigError(
            f"code refers to app {app_id!r}, which is not open in this process; import the module that builds it",
            variable="app_id",
            value=app_id,
        )
    _log.info("app %r is not open in this process: building it from its PYNENC__* settings", app_id)
    return factory(app_id)


class TaskReference:
    """A task met inside shipped code: resolved, at each use, to the runner's task of that id."""

    def __init__(self, app_id: str, task_id: str) -> None:
        self._app_id = app_id
        self._task_id = task_id

    def _resolve(self) -> Callable[..., Any]:
        """Resolved at each use: a task redefined in its notebook since (a new version published)
        is the one new calls get. The app caches task code by version, so this is one small read."""
        return restore_app(self._app_id).get_task(self._task_id)

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
