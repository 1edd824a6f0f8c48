"""Typed configuration: every tunable with its unit in the name and a default that is safe.

Priority, lowest to highest: defaults < ``[tool.pynenc]`` in pyproject.toml < config file <
``PYNENC__*`` environment < constructor / builder values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

RunnerClsName = Literal["ThreadRunner", "MultiThreadRunner", "ProcessRunner", "PersistentProcessRunner"]

SECRET_FIELDS = frozenset({"serializer_secret"})
POSITIVE_FIELDS = (
    "runner_heartbeat_interval_s",
    "runner_dead_after_s",
    "max_pending_seconds",
    "services_interval_s",
    "graceful_stop_timeout_s",
    "arg_cache_min_bytes",
    "payload_warn_bytes",
    "payload_max_bytes",
    "trigger_composite_window_s",
    "trigger_chain_max_depth",
    "event_retention_days",
    "event_max_records",
    "trigger_run_max_records",
    "truncate_arguments_length",
)


LOGGING_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class PynencConfig:
    app_id: str = "pynenc"
    # Backends, chosen by URL. Empty backend_url = embedded SQLite under ./.pynenc/<app_id>.db
    backend_url: str = ""
    broker_url: str = ""  # empty = same as backend_url
    # Runners
    runner_cls: RunnerClsName = "ThreadRunner"
    min_threads: int = 1
    max_threads: int = 4
    num_processes: int = 0  # 0 = one per CPU core
    max_processes: int = 0  # 0 = one per CPU core
    queues: tuple[str, ...] = ("default",)
    # Calls of short tasks a ThreadRunner worker may start at once on a backend that can (Redis);
    # 0 = one call per take.
    max_batch: int = 16
    # Serialization
    serializer: Literal["auto", "json", "pickle"] = "auto"
    serializer_secret: str = ""
    arg_cache_min_bytes: int = 64 * 1024
    # One argument or result, serialized: warned about past the first, refused past the second
    # (below every backend's own cap: Redis 512 MB a value; MongoDB has its own 16 MB check). A warn
    # limit above the max one never fires: the refusal comes first.
    payload_warn_bytes: int = 16 * 1024 * 1024
    payload_max_bytes: int = 256 * 1024 * 1024
    # Behaviour
    dev_mode_force_sync_tasks: bool = False
    # Record the app in the app registry (pynenc_nb/app_registry.py) when its shareable backends
    # open, so the JupyterLab sidebar and `pynenc monitor` list it.
    discoverable: bool = True
    logging_level: str = "info"
    log_format: Literal["text", "json"] = "text"
    log_stream: Literal["stderr", "stdout"] = "stderr"
    # What the monitor, logs and widgets show of a call's arguments (stored at registration):
    # short reprs cut at truncate_arguments_length, full reprs, only the names, or nothing.
    argument_print_mode: Literal["truncated", "full", "keys", "hidden"] = "truncated"
    truncate_arguments_length: int = 80
    # Liveness and recovery
    runner_heartbeat_interval_s: float = 1.0
    runner_dead_after_s: float = 5.0
    max_pending_seconds: float = 15.0
    services_interval_s: float = 1.0
    max_runner_loss_retries: int = 3
    graceful_stop_timeout_s: float = 10.0
    # Triggers (evaluated by the services lease holder; see docs/guide/triggers.md)
    trigger_task_modules: tuple[str, ...] = ()  # imported by runners at start: their tasks' triggers are stored
    # A trigger fired by an invocation a trigger created (or by an event it emitted) is one level
    # deeper; past this many levels the chain is stopped with a TriggerError (a task that re-triggers
    # itself would otherwise run forever).
    trigger_chain_max_depth: int = 100
    trigger_composite_window_s: float = 3600.0  # an AND fires when all its conditions held within this window
    event_retention_days: float = 7.0
    event_max_records: int = 100_000
    trigger_run_max_records: int = 100_000
    event_auto_purge_enabled: bool = True
    # Task options from files and the environment: "*" holds app-wide defaults, "module#qualname"
    # the settings of one task (see TaskOptions for the names). Filled by the loader.
    task: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from pynenc_nb.exceptions import ConfigError

        for name in POSITIVE_FIELDS:
            if getattr(self, name) <= 0:
                raise ConfigError(
                    f"{name}={getattr(self, name)!r} is not valid: it must be greater than 0", variable=name
                )
        if self.max_batch < 0:
            raise ConfigError(
                f"max_batch={self.max_batch!r} is not valid: it must be 0 (no batches) or more", variable="max_batch"
            )
        if self.logging_level.lower() not in LOGGING_LEVELS:
            raise ConfigError(
                f"logging_level={self.logging_level!r} is not valid: use {', '.join(LOGGING_LEVELS)}",
                variable="logging_level",
                value=self.logging_level,
            )

    def replace(self, **changes: Any) -> PynencConfig:
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:  # the generated repr would show the secret and URL passwords
        return f"PynencConfig({', '.join(f'{k}={v!r}' for k, v in self.public_dict().items())})"

    def public_dict(self) -> dict[str, Any]:
        """The config as shown by ``pynenc show_config``: secrets masked, URLs redacted."""
        from pynenc_nb.conf.urls import redact_url

        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "***"
            elif f.name.endswith("_url") and value:
                value = redact_url(value)
            out[f.name] = value
        return out


CONFIG_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(PynencConfig)}
