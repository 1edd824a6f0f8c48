"""PynencBuilder: a fluent, fully typed way to build an app (no methods injected at runtime)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pynenc_nb.app import Pynenc
from pynenc_nb.conf.urls import scheme_of
from pynenc_nb.exceptions import ConfigError
from pynenc_nb.task_options import ConcurrencyControlType


class PynencBuilder:
    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._config_filepath: str | None = None

    def _set(self, **values: Any) -> Self:
        self._values.update(values)
        return self

    def app_id(self, app_id: str) -> Self:
        return self._set(app_id=app_id)

    # --- backends --------------------------------------------------------------------------------

    def memory(self) -> Self:
        """Everything in this process: tests, dev mode and thread runners only."""
        return self._set(backend_url="memory:")

    def sqlite(self, path: str | None = None) -> Self:
        """A SQLite file shared by runners on this host; default ``.pynenc/<app_id>.db``."""
        # absolute, so runners started from another folder open the same file
        return self._set(backend_url=f"sqlite://{Path(path).resolve()}" if path else "")

    def redis(self, url: str = "redis://127.0.0.1:6379/0") -> Self:
        return self._backend_url(url, ("redis", "rediss"))

    def mongo(self, url: str = "mongodb://127.0.0.1:27017/pynenc") -> Self:
        return self._backend_url(url, ("mongodb", "mongodb+srv"))

    def rabbitmq_broker(self, url: str = "amqp://guest:guest@127.0.0.1:5672/%2F") -> Self:
        """RabbitMQ carries the queues; state stays on the backend chosen separately."""
        if scheme_of(url) not in ("amqp", "amqps"):
            raise ConfigError(
                f"rabbitmq_broker takes an amqp:// URL, got scheme {scheme_of(url)!r}", variable="broker_url"
            )
        return self._set(broker_url=url)

    def _backend_url(self, url: str, schemes: tuple[str, ...]) -> Self:
        if scheme_of(url) not in schemes:
            raise ConfigError(
                f"expected a {' or '.join(s + '://' for s in schemes)} URL, got scheme {scheme_of(url)!r}",
                variable="backend_url",
            )
        return self._set(backend_url=url)

    # --- runners ---------------------------------------------------------------------------------

    def thread_runner(self, max_threads: int | None = None) -> Self:
        self._set(runner_cls="ThreadRunner")
        return self._set(max_threads=max_threads) if max_threads is not None else self

    def multi_thread_runner(self, min_threads: int = 1, max_threads: int = 4, num_processes: int | None = None) -> Self:
        self._set(runner_cls="MultiThreadRunner", min_threads=min_threads, max_threads=max_threads)
        return self._set(num_processes=num_processes) if num_processes is not None else self

    def process_runner(self, max_processes: int | None = None) -> Self:
        self._set(runner_cls="ProcessRunner")
        return self._set(max_processes=max_processes) if max_processes is not None else self

    def persistent_process_runner(self, num_processes: int | None = None) -> Self:
        self._set(runner_cls="PersistentProcessRunner")
        return self._set(num_processes=num_processes) if num_processes is not None else self

    # --- behaviour -------------------------------------------------------------------------------

    def dev_mode(self, force_sync_tasks: bool = True) -> Self:
        return self._set(dev_mode_force_sync_tasks=force_sync_tasks)

    def logging_level(self, level: Literal["debug", "info", "warning", "error", "critical"] | str) -> Self:
        return self._set(logging_level=level)

    def serializer_auto(self) -> Self:
        return self._set(serializer="auto")

    def serializer_json(self) -> Self:
        return self._set(serializer="json")

    def serializer_pickle(self) -> Self:
        return self._set(serializer="pickle")

    def serializer_secret(self, secret: str) -> Self:
        return self._set(serializer_secret=secret)

    def concurrency_control(
        self,
        running_concurrency: ConcurrencyControlType | None = None,
        registration_concurrency: ConcurrencyControlType | None = None,
    ) -> Self:
        """App-wide defaults for the tasks' concurrency options."""
        task = dict(self._values.get("task", {}))
        if running_concurrency is not None:
            task["running_concurrency"] = ConcurrencyControlType(running_concurrency)
        if registration_concurrency is not None:
            task["registration_concurrency"] = ConcurrencyControlType(registration_concurrency)
        return self._set(task=task)

    def trigger_task_modules(self, modules: list[str] | tuple[str, ...]) -> Self:
        """Modules runners import at start, so the triggers of their tasks are stored (pynenc's name)."""
        return self._set(trigger_task_modules=tuple(modules))

    def config_file(self, path: str) -> Self:
        self._config_filepath = path
        return self

    def custom_config(self, **values: Any) -> Self:
        """Any setting by name (checked when the app is built)."""
        return self._set(**values)

    def build(self) -> Pynenc:
        return Pynenc(config_values=self._values, config_filepath=self._config_filepath)
