"""The app: configuration, task registry and the ports, opened lazily and reopened after fork."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, overload

from pynenc_nb import live_apps, shipping
from pynenc_nb.backends import Backends
from pynenc_nb.clients import ClientContexts
from pynenc_nb.conf import PynencConfig, load_config
from pynenc_nb.conf.urls import default_sqlite_url, redact_url, scheme_of, sqlite_path
from pynenc_nb.exceptions import ConfigError, TaskLoadError, TaskNotFoundError
from pynenc_nb.invocation.handle import Invocation
from pynenc_nb.orchestrator import Orchestrator
from pynenc_nb.ports import ArgCache, Broker, StateBackend, TriggerStore
from pynenc_nb.records import CODE_NAMESPACE, TASKS_NAMESPACE, RunnerContext
from pynenc_nb.runner_classes import Runner, runner_class
from pynenc_nb.serialization import make_serializer
from pynenc_nb.task import DirectTask, Task, config_key_of
from pynenc_nb.task_options import TaskOptions, build_options
from pynenc_nb.trigger.definition import TriggerDefinition
from pynenc_nb.trigger.manager import TriggerManager
from pynenc_nb.trigger.trigger_builder import definitions_of

P = ParamSpec("P")
R = TypeVar("R")


def _reset_after_fork() -> None:
    for app in live_apps.every_app():
        if isinstance(app, Pynenc):
            app._forget_connections()


os.register_at_fork(after_in_child=_reset_after_fork)


class Pynenc:
    """A pynenc_nb application.

    ``Pynenc(app_id="demo")`` uses the embedded SQLite default under ``./.pynenc/``; pass
    ``config_values={"backend_url": "redis://..."}``, a config file, ``PYNENC__*`` variables or use
    :class:`PynencBuilder` for anything else.

    Building an app has no process-wide effect but one: by-reference pickles of its id resolve to
    it (``live_apps``). Logging is set up by whoever runs things: the CLI, a runner's ``run()``,
    ``%load_ext pynenc_nb``.
    """

    def __init__(
        self,
        app_id: str | None = None,
        config_values: Mapping[str, Any] | None = None,
        config_filepath: str | None = None,
    ) -> None:
        values = dict(config_values or {})
        if app_id is not None:
            values["app_id"] = app_id
        conf, self._task_overrides = load_config(values, config_filepath)
        if not conf.backend_url:
            conf = conf.replace(backend_url=default_sqlite_url(conf.app_id))
        self.conf: PynencConfig = conf
        self.app_id = conf.app_id
        self.tasks: dict[str, Task[Any, Any]] = {}
        self.serializer = make_serializer(conf.serializer, conf.serializer_secret)
        self.orchestrator = Orchestrator(lambda: self.backends, self.serializer, lambda: self.conf)
        self.trigger = TriggerManager(self)
        self.logger = logging.getLogger(f"pynenc.{self.app_id}")
        self._backends: Backends | None = None
        self._lock = threading.Lock()
        self._published: set[str] = set()
        self._references: dict[str, list[Task[Any, Any]]] = {}  # shipped task -> the tasks its code calls
        self._shipped: dict[str, Task[Any, Any]] = {}  # "task_id@version" -> code loaded by value
        self._runner: Runner | None = None
        self._clients = ClientContexts(lambda: self.state_backend)
        # task id -> its trigger definitions, stored when the backends open and on each redefinition
        self._triggers: dict[str, list[TriggerDefinition]] = {}
        live_apps.remember(self)

    def __repr__(self) -> str:
        return f"<Pynenc {self.app_id} {redact_url(self.conf.backend_url)}>"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """By reference: code shipped from a notebook uses the runner's own app of this id."""
        return live_apps.restore_app, (self.app_id,)

    # --- backends --------------------------------------------------------------------------------

    @property
    def backends(self) -> Backends:
        backends = self._backends
        if backends is None:
            opened = False
            with self._lock:
                if self._backends is None:
                    if scheme_of(self.conf.backend_url) == "sqlite":
                        # arguments and results are stored there: private to this user
                        Path(sqlite_path(self.conf.backend_url)).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    self._backends = Backends.open(self.conf.backend_url, self.conf.broker_url, self.app_id)
                    opened = True
                backends = self._backends
            if opened:
                self._announce(backends)
                if self._triggers:
                    self.publish_triggers()
        return backends

    def _announce(self, backends: Backends) -> None:
        """Let monitors find this app (the app registry); never fails the app, logs at debug level."""
        if not (self.conf.discoverable and backends.serves_other_processes):
            return
        try:
            from pynenc_nb import app_registry

            app_registry.announce(self.app_id, self.conf.backend_url, self.conf.broker_url)
        except Exception as exc:
            self.logger.debug("not recorded in the app registry: %s", exc)

    def _forget_connections(self) -> None:
        """In a forked child: never reuse the parent's connections (memory stores are copied)."""
        if self._backends is not None and self._backends.serves_other_processes:
            self._backends = None
        self._lock = threading.Lock()

    @property
    def state_backend(self) -> StateBackend:
        return self.backends.state

    @property
    def broker(self) -> Broker:
        return self.backends.broker

    @property
    def trigger_store(self) -> TriggerStore:
        return self.backends.trigger_store

    @property
    def arg_cache(self) -> ArgCache:
        return self.backends.arg_cache

    def client_context(self, kind: str = "ExternalCaller") -> RunnerContext:
        """The context of this process when it acts outside any runner (``ExternalCaller``
        registering calls, ``DevModeRunner`` executing them inline); see :mod:`pynenc_nb.clients`."""
        return self._clients.get(kind)

    def require_shared_backend(self, what: str) -> None:
        """Raise the clear error for out-of-process work on a backend that lives in this process."""
        if not self.backends.serves_other_processes:
            raise ConfigError(
                f"{what} runs in another process, but backend {redact_url(self.conf.backend_url)!r} lives in this "
                "process only. Use the embedded SQLite default (leave backend_url unset, or "
                "backend_url='sqlite:///path/app.db') or Redis (backend_url='redis://127.0.0.1:6379/0').",
                variable="backend_url",
                value=redact_url(self.conf.backend_url),
            )

    def purge(self) -> None:
        """Delete every invocation, message, event and cached value this app stored."""
        self.state_backend.purge()
        self.broker.purge()
        self.trigger_store.purge()
        self.arg_cache.purge()
        self._published.clear()
        self._clients.clear()

    def close(self) -> None:
        if self._backends is not None:
            self._backends.close()
            self._backends = None

    # --- runner ----------------------------------------------------------------------------------

    @property
    def runner(self) -> Runner:
        """The runner configured by ``runner_cls`` (created on first use, not started)."""
        if self._runner is None:
            self._runner = runner_class(self.conf.runner_cls)(self)
        return self._runner

    @runner.setter
    def runner(self, runner: Runner) -> None:
        self._runner = runner

    # --- decorators ------------------------------------------------------------------------------

    def _options(self, func: Callable[..., Any], options: Mapping[str, Any]) -> TaskOptions:
        parameters = list(inspect.signature(func).parameters)
        base = build_options(self._task_overrides.get("*", {}), "task defaults")
        decorated = build_options(options, f"@app.task on {func.__qualname__}", base, parameters)
        specific = self._task_overrides.get(config_key_of(func))
        if specific:
            decorated = build_options(specific, f"settings of task {config_key_of(func)}", decorated, parameters)
        return decorated

    def _register(self, task: Task[Any, Any]) -> Task[Any, Any]:
        definitions = definitions_of(task.options.triggers, task.task_id, f"@app.task on {task.func.__qualname__}")
        had = task.task_id in self._triggers
        self.tasks[task.task_id] = task
        self._published.discard(task.task_id)
        if definitions:
            self._triggers[task.task_id] = definitions
        else:
            self._triggers.pop(task.task_id, None)
        if (definitions or had) and self._backends is not None:  # redefined in a live session
            self.publish_triggers([task.task_id])
        return task

    def publish_triggers(self, task_ids: list[str] | None = None) -> None:
        """Store the triggers of these tasks (default: every task of this app, those without
        triggers clearing what an earlier version stored), with each triggered task's code location.

        Runners do it at start for their tasks; a notebook does it for each cell it runs."""
        ids = list(self.tasks) if task_ids is None else task_ids
        for task_id in ids:
            if task_id in self._triggers:
                self.ensure_task_published(self.tasks[task_id])
        self.trigger.publish({task_id: self._triggers.get(task_id, []) for task_id in ids})

    @overload
    def task(self, func: Callable[P, R]) -> Task[P, R]: ...

    @overload
    def task(self, func: None = None, **options: Any) -> Callable[[Callable[P, R]], Task[P, R]]: ...

    def task(self, func: Callable[..., Any] | None = None, **options: Any) -> Any:
        """Make a function a task: calling it registers an invocation for a runner."""

        def decorate(f: Callable[..., Any]) -> Task[Any, Any]:
            return self._register(Task(self, f, self._options(f, options)))

        return decorate(func) if func is not None else decorate

    @overload
    def workflow(self, func: Callable[P, R]) -> Task[P, R]: ...

    @overload
    def workflow(self, func: None = None, **options: Any) -> Callable[[Callable[P, R]], Task[P, R]]: ...

    def workflow(self, func: Callable[..., Any] | None = None, **options: Any) -> Any:
        """A task that roots a workflow: tasks it calls inherit its workflow identity."""

        def decorate(f: Callable[..., Any]) -> Task[Any, Any]:
            return self._register(Task(self, f, self._options(f, options), is_workflow=True))

        return decorate(func) if func is not None else decorate

    def direct_task(
        self,
        func: Callable[..., Any] | None = None,
        *,
        parallel_func: Callable[..., Any] | None = None,
        aggregate_func: Callable[[list[Any]], Any] | None = None,
        **options: Any,
    ) -> Any:
        """A task called like a plain function: returns the value (runs on a runner unless dev mode)."""

        def decorate(f: Callable[..., Any]) -> DirectTask[Any, Any]:
            task = DirectTask(self, f, self._options(f, options), parallel_func, aggregate_func)
            self._register(task)
            return task

        return decorate(func) if func is not None else decorate

    # --- lookup ----------------------------------------------------------------------------------

    def ensure_task_published(self, task: Task[Any, Any]) -> None:
        """Record where a task's code lives, once per process and version, so any runner can load it.

        Importable tasks are found by module and name; tasks of ``__main__`` (notebook cells) are
        stored by value under a content-hash version (see :mod:`pynenc_nb.shipping`).
        """
        if task.task_id in self._published:
            for other in self._references.get(task.task_id, ()):
                if other.task_id not in self._published:  # its cell was re-run: publish the new code
                    self.ensure_task_published(self.tasks.get(other.task_id, other))
            return
        info: dict[str, Any] = {"module": task.func.__module__, "qualname": task.func.__qualname__}
        referenced: list[Task[Any, Any]] = []
        if shipping.needs_shipping(task.func):
            version, payload, referenced = shipping.pack(task)
            task.version = version
            self.state_backend.kv_put(CODE_NAMESPACE, f"{task.task_id}@{version}", self.serializer.wrap_bytes(payload))
            info["version"] = version
        self.state_backend.kv_put(TASKS_NAMESPACE, task.task_id, json.dumps(info))
        self._published.add(task.task_id)
        # The tasks its code calls are published with it (before any runner can run it), and again
        # whenever one of them is redefined: runners resolve them by id, to the latest version.
        mine = [other for other in referenced if other.app is self]
        self._references[task.task_id] = mine
        for other in mine:
            self.ensure_task_published(self.tasks.get(other.task_id, other))

    def get_task(self, task_id: str, version: str | None = None) -> Task[Any, Any]:
        """The task for ``task_id`` (at ``version`` for code shipped from a notebook)."""
        task = self.tasks.get(task_id)
        if task is not None and (version is None or task.version == version):
            return task
        if version is not None:
            return self._shipped_task(task_id, version)
        stored = self.state_backend.kv_get(TASKS_NAMESPACE, task_id)
        if stored is None:
            in_module = "import the module that defines it in the app module, or pass --app with that module"
            advice = (
                "in a notebook, re-run the cell that defines it (and the cells of the tasks that call it) in "
                f"the kernel that calls it; in a module, {in_module}"
                if task_id.startswith("__main__.")
                else in_module
            )
            raise TaskNotFoundError(
                task_id, f"it is not defined in app {self.app_id!r} and no caller has published it: {advice}"
            )
        info = json.loads(stored)
        if info.get("version"):
            return self._shipped_task(task_id, info["version"])
        try:
            module = importlib.import_module(info["module"])
        except Exception as exc:
            raise TaskLoadError(task_id, f"module {info['module']!r} cannot be imported here: {exc!r}") from exc
        obj: Any = module
        for part in info["qualname"].split("."):
            obj = getattr(obj, part, None)
        if not isinstance(obj, Task):
            raise TaskLoadError(task_id, f"{info['module']}.{info['qualname']} is not a pynenc_nb task")
        self.tasks[task_id] = obj
        return obj

    def _shipped_task(self, task_id: str, version: str) -> Task[Any, Any]:
        key = f"{task_id}@{version}"
        task = self._shipped.get(key)
        if task is None:
            stored = self.state_backend.kv_get(CODE_NAMESPACE, key)
            if stored is None:
                raise TaskLoadError(task_id, f"version {version} of its code is not stored in the backend")
            task = shipping.unpack(self, task_id, self.serializer.unwrap_bytes(stored))
            task.version = version
            self._shipped[key] = task
        return task

    def invocation(self, invocation_id: str) -> Invocation[Any]:
        """A handle on any stored invocation, e.g. one created in another process."""
        return Invocation(self, self.orchestrator.get(invocation_id))


def app_of(invocation: Invocation[Any]) -> Pynenc:
    """The app behind a handle, for layers above the app (widgets, magics) that need all of it."""
    app = invocation.app
    if not isinstance(app, Pynenc):
        raise ConfigError(f"{invocation!r} belongs to a {type(app).__name__}, not to a Pynenc app")
    return app


live_apps.set_factory(lambda app_id: Pynenc(app_id=app_id))  # configured from PYNENC__* like the runner
