"""PynencBuilder: a fluent, fully typed way to build an app (no methods injected at runtime)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote, urlsplit, urlunsplit

from pynenc_nb.app import Pynenc
from pynenc_nb.conf.urls import scheme_of
from pynenc_nb.exceptions import ConfigError, PynencWarning
from pynenc_nb.task_options import ConcurrencyControlType

_NEVER = 2**62  # arg_cache_min_bytes that no value reaches: the cache is off
_SERIALIZER_NAMES = {
    "json": "json",
    "pickle": "pickle",
    "auto": "auto",
    "json_pickle": "auto",
    "jsonpickle": "auto",
    "JsonSerializer": "json",
    "PickleSerializer": "pickle",
    "JsonPickleSerializer": "auto",
}


def _concurrency(value: ConcurrencyControlType | str) -> ConcurrencyControlType:
    if isinstance(value, ConcurrencyControlType):
        return value
    try:
        return ConcurrencyControlType[str(value).rpartition(".")[2].upper()]
    except KeyError:
        raise ConfigError(
            f"concurrency mode {value!r} is not valid: use DISABLED, TASK, ARGUMENTS or KEYS",
            variable="running_concurrency",
        ) from None


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

    def sqlite(self, sqlite_db_path: str | None = None) -> Self:
        """A SQLite file shared by runners on this host; default ``.pynenc/<app_id>.db``."""
        # absolute, so runners started from another folder open the same file
        return self._set(backend_url=f"sqlite://{Path(sqlite_db_path).resolve()}" if sqlite_db_path else "")

    def redis(self, url: str = "redis://127.0.0.1:6379/0", db: int | None = None) -> Self:
        """State, queues, triggers and arg cache on Redis; ``db`` replaces the URL's database number."""
        if db is not None:
            parts = urlsplit(url)
            url = urlunsplit(parts._replace(path=f"/{int(db)}"))
        return self._backend_url(url, ("redis", "rediss"))

    def mongo(self, url: str = "mongodb://127.0.0.1:27017/pynenc", database: str | None = None) -> Self:
        """State, triggers and arg cache (and queues, unless a broker is set) on MongoDB;
        ``database`` replaces the URL's database name."""
        if database is not None:
            url = urlunsplit(urlsplit(url)._replace(path=f"/{quote(database, safe='')}"))
        return self._backend_url(url, ("mongodb", "mongodb+srv"))

    def rabbitmq_broker(
        self,
        url: str | None = None,
        *,
        host: str | None = None,
        port: int = 5672,
        username: str = "guest",
        password: str = "guest",
        virtual_host: str = "/",
    ) -> Self:
        """RabbitMQ carries the queues; state stays on the backend chosen separately. Give a URL
        or pynenc's ``host=``/``port=``/``username=``/``password=``/``virtual_host=``."""
        if url is None:
            user = f"{quote(username, safe='')}:{quote(password, safe='')}@"
            url = f"amqp://{user}{host or '127.0.0.1'}:{int(port)}/{quote(virtual_host, safe='')}"
        elif host is not None:
            raise ConfigError("rabbitmq_broker takes a URL or host=..., not both", variable="broker_url")
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

    def arg_cache(
        self,
        mode: Literal["redis", "mongo", "sqlite", "memory", "disabled"] | str = "redis",
        min_size_to_cache: int = 1024,
        local_cache_size: int | None = None,
    ) -> Self:
        """pynenc's argument cache: values of ``min_size_to_cache`` bytes or more are stored once
        and passed by reference. Here the cache always lives on the app's backend, so any mode but
        ``"disabled"`` means "on"."""
        if local_cache_size is not None:
            self._pynenc_only("local_cache_size", "the arg cache keeps no per-process copy: reads go to the backend")
        if mode == "disabled":
            return self._set(arg_cache_min_bytes=_NEVER)
        if mode not in ("redis", "mongo", "sqlite", "memory"):
            raise ConfigError(
                f"arg_cache mode {mode!r} is not valid: use redis, mongo, sqlite, memory or disabled",
                variable="arg_cache_min_bytes",
            )
        return self._set(arg_cache_min_bytes=min_size_to_cache)

    client_data_store = arg_cache  # pynenc 0.4's name for the same store

    # --- runners ---------------------------------------------------------------------------------

    def thread_runner(self, min_threads: int = 1, max_threads: int | None = None) -> Self:
        """Worker threads in the runner's process; ``max_threads`` 0 (pynenc's default) or None
        keeps the app's setting."""
        self._set(runner_cls="ThreadRunner", min_threads=min_threads)
        return self._set(max_threads=max_threads) if max_threads else self

    def multi_thread_runner(
        self,
        min_threads: int = 1,
        max_threads: int = 4,
        enforce_max_processes: bool = False,
        num_processes: int | None = None,
    ) -> Self:
        """``num_processes`` worker processes (0/None: one per CPU, or ``max_processes``) with
        ``max_threads`` threads each."""
        if enforce_max_processes:
            self._pynenc_only("enforce_max_processes", "num_processes and max_processes are always enforced")
        self._set(runner_cls="MultiThreadRunner", min_threads=min_threads, max_threads=max_threads)
        return self._set(num_processes=num_processes) if num_processes is not None else self

    def process_runner(self, max_processes: int | None = None) -> Self:
        self._set(runner_cls="ProcessRunner")
        return self._set(max_processes=max_processes) if max_processes is not None else self

    def persistent_process_runner(self, num_processes: int | None = None) -> Self:
        """A pool of single-slot worker processes; 0 (pynenc's default) or None: one per CPU."""
        self._set(runner_cls="PersistentProcessRunner")
        return self._set(num_processes=num_processes) if num_processes is not None else self

    def dummy_runner(self) -> Self:
        raise ConfigError(
            "pynenc_nb has no DummyRunner: use .dev_mode() to run every call synchronously in the caller "
            "(what tests usually want), or .thread_runner() for a runner in this process",
            variable="runner_cls",
            value="DummyRunner",
        )

    def runner_tuning(
        self,
        runner_loop_sleep_time_sec: float | None = None,
        invocation_wait_results_sleep_time_sec: float | None = None,
        min_parallel_slots: int | None = None,
    ) -> Self:
        """pynenc's loop knobs: accepted for ported code, each with one warning saying why it has
        no effect here (runners block on the broker, waits are event-driven)."""
        given = {
            "runner_loop_sleep_time_sec": runner_loop_sleep_time_sec,
            "invocation_wait_results_sleep_time_sec": invocation_wait_results_sleep_time_sec,
            "min_parallel_slots": min_parallel_slots,
        }
        return self._set(**{k: v for k, v in given.items() if v is not None})

    def task_control(
        self, cycle_control: bool = True, blocking_control: bool = True, queue_timeout_sec: float | None = None
    ) -> Self:
        """Cycle detection and blocking control are always on here: turning either off is an error."""
        for name, on in (("cycle_control", cycle_control), ("blocking_control", blocking_control)):
            if not on:
                raise ConfigError(
                    f"{name} cannot be turned off in pynenc_nb: it is what keeps waits from deadlocking; "
                    "remove task_control(...) from the builder",
                    variable=name,
                    value=False,
                )
        if queue_timeout_sec is not None:
            self._pynenc_only("queue_timeout_sec", "runners block on the broker until work arrives")
        return self

    # --- behaviour -------------------------------------------------------------------------------

    def dev_mode(self, force_sync_tasks: bool = True) -> Self:
        return self._set(dev_mode_force_sync_tasks=force_sync_tasks)

    def logging_level(self, level: Literal["debug", "info", "warning", "error", "critical"] | str) -> Self:
        return self._set(logging_level=level)

    def logging(self, level: str | None = None, log_format: Literal["text", "json"] | None = None) -> Self:
        """Level and line format (``"text"``, pynenc's layout, or ``"json"``) in one call."""
        if level is not None:
            self._set(logging_level=level)
        return self._set(log_format=log_format) if log_format is not None else self

    def serializer(self, serializer: str) -> Self:
        """By pynenc's short or class name: json, pickle, json_pickle (``auto`` here), or
        ``JsonSerializer``, ``PickleSerializer``, ``JsonPickleSerializer``."""
        name = serializer.rpartition(".")[2]
        chosen = _SERIALIZER_NAMES.get(name, _SERIALIZER_NAMES.get(name.lower()))
        if chosen is None:
            raise ConfigError(
                f"serializer {serializer!r} is not known: use json, pickle, json_pickle or auto",
                variable="serializer",
                value=serializer,
            )
        return self._set(serializer=chosen)

    def serializer_auto(self) -> Self:
        return self._set(serializer="auto")

    serializer_json_pickle = serializer_auto  # pynenc's JSON-with-pickle-fallback: what "auto" is here

    def serializer_json(self) -> Self:
        return self._set(serializer="json")

    def serializer_pickle(self) -> Self:
        return self._set(serializer="pickle")

    def serializer_secret(self, secret: str) -> Self:
        return self._set(serializer_secret=secret)

    def concurrency_control(
        self,
        running_concurrency: ConcurrencyControlType | str | None = None,
        registration_concurrency: ConcurrencyControlType | str | None = None,
    ) -> Self:
        """App-wide defaults for the tasks' concurrency options (an enum member or its name)."""
        task = dict(self._values.get("task", {}))
        if running_concurrency is not None:
            task["running_concurrency"] = _concurrency(running_concurrency)
        if registration_concurrency is not None:
            task["registration_concurrency"] = _concurrency(registration_concurrency)
        return self._set(task=task)

    def max_pending_seconds(self, seconds: float) -> Self:
        """How long an invocation may stay PENDING (claimed, not started) before it is recovered."""
        return self._set(max_pending_seconds=seconds)

    # --- what the monitor and logs show of arguments -----------------------------------------------

    def argument_print_mode(self, mode: str, truncate_length: int = 32) -> Self:
        """``"HIDDEN"``, ``"KEYS"``, ``"FULL"`` or ``"TRUNCATED"`` (pynenc's names, any case, or its enum)."""
        chosen = str(getattr(mode, "name", mode)).rpartition(".")[2].lower()
        if chosen not in ("hidden", "keys", "full", "truncated"):
            raise ConfigError(
                f"argument_print_mode {mode!r} is not valid: use HIDDEN, KEYS, FULL or TRUNCATED",
                variable="argument_print_mode",
                value=str(mode),
            )
        if chosen == "truncated":
            if truncate_length <= 0:
                raise ConfigError(
                    f"truncate_length={truncate_length} is not valid: it must be greater than 0",
                    variable="truncate_arguments_length",
                )
            self._set(truncate_arguments_length=truncate_length)
        return self._set(argument_print_mode=chosen)

    def hide_arguments(self) -> Self:
        return self.argument_print_mode("hidden")

    def show_argument_keys(self) -> Self:
        return self.argument_print_mode("keys")

    def show_full_arguments(self) -> Self:
        return self.argument_print_mode("full")

    def show_truncated_arguments(self, truncate_length: int = 32) -> Self:
        return self.argument_print_mode("truncated", truncate_length)

    def trigger_task_modules(self, modules: list[str] | tuple[str, ...]) -> Self:
        """Modules runners import at start, so the triggers of their tasks are stored (pynenc's name)."""
        return self._set(trigger_task_modules=tuple(modules))

    def config_file(self, path: str) -> Self:
        self._config_filepath = path
        return self

    def custom_config(self, **values: Any) -> Self:
        """Any setting by name (checked when the app is built)."""
        return self._set(**values)

    def _pynenc_only(self, name: str, why: str) -> None:
        """A pynenc parameter with no meaning here: one warning, never silence."""
        warnings.warn(f"PynencBuilder: {name} has no effect in pynenc_nb: {why}", PynencWarning, stacklevel=3)

    def build(self) -> Pynenc:
        return Pynenc(config_values=self._values, config_filepath=self._config_filepath)
