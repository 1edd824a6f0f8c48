"""pynenc's setting names, so its config files and ``PYNENC__*`` variables work here unchanged.

A name is either an alias of one of ours (converted where units differ: pynenc counts some
intervals in minutes), or a name that has no meaning here (a class choice our URL registry
replaces, a tuning knob of a loop we do not have): accepted, with one warning per name and
process naming what to use instead. Any other unknown name is still an error.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger("pynenc.config")


def _minutes(value: Any) -> float:
    return float(value) * 60


def _sqlite_url(value: Any) -> str:
    return f"sqlite://{value}" if str(value).startswith("/") else f"sqlite:///{value}"


_SERIALIZERS = {"JsonSerializer": "json", "PickleSerializer": "pickle", "JsonPickleSerializer": "auto"}


def _serializer(value: Any) -> str:
    name = str(value).rpartition(".")[2]
    return _SERIALIZERS.get(name, str(value))


SKIP = object()  # a conversion's answer when the value asks for what is already the default


def _no_store(value: Any) -> Any:
    """pynenc's ``disable_client_data_store=True``: no value is large enough to be stored apart."""
    on = value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
    return 2**62 if on else SKIP


def _no_cap(value: Any) -> Any:
    """pynenc counts 0 as "no cap" where we need a positive count."""
    return 2**62 if str(value).strip() in ("0", "0.0") else value


def _enum_name(value: Any) -> str:
    """``LogFormat.JSON`` / ``"JSON"`` / ``"pynenc.runner.ThreadRunner"`` -> its last name."""
    return str(getattr(value, "name", value)).rpartition(".")[2]


def _print_mode(value: Any) -> str:
    """pynenc's ``ArgumentPrintMode.HIDDEN`` / ``"HIDDEN"`` -> ``"hidden"``."""
    return str(getattr(value, "name", value)).rpartition(".")[2].lower()


def _print_arguments(value: Any) -> str:
    shown = value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
    return "truncated" if shown else "hidden"


# pynenc name -> (our name, conversion of the value)
ALIASES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "runner_considered_dead_after_minutes": ("runner_dead_after_s", _minutes),
    "recover_pending_invocations_after_minutes": ("max_pending_seconds", _minutes),
    "sqlite_db_path": ("backend_url", _sqlite_url),
    "redis_url": ("backend_url", str),
    "serializer_cls": ("serializer", _serializer),
    "print_arguments": ("argument_print_mode", _print_arguments),
    "runner_heartbeat_timeout_minutes": ("runner_dead_after_s", _minutes),
    "recovery_service_check_interval_minutes": ("services_interval_s", _minutes),
    "run_invocation_recovery_service_every_minutes": ("services_interval_s", _minutes),
    "min_size_to_cache": ("arg_cache_min_bytes", int),
    "disable_client_data_store": ("arg_cache_min_bytes", _no_store),
    "mongo_url": ("backend_url", str),
}
# Our own names whose values pynenc spells differently: converted before they are checked.
VALUE_SPELLINGS: dict[str, Callable[[Any], Any]] = {
    "argument_print_mode": _print_mode,
    "log_format": lambda value: _enum_name(value).lower(),
    "log_stream": lambda value: str(value).lower(),
    "runner_cls": _enum_name,
    "event_max_records": _no_cap,
    "trigger_run_max_records": _no_cap,
}
# pynenc's task options, which it also reads as app-wide names (``PYNENC__MAX_RETRIES``): here they
# are the defaults of every task (the ``task`` section's ``*``). Checked against TaskOptions by a test.
TASK_OPTION_NAMES: frozenset[str] = frozenset(
    {
        "max_retries",
        "retry_for",
        "running_concurrency",
        "registration_concurrency",
        "key_arguments",
        "on_diff_non_key_args_raise",
        "reroute_on_concurrency_control",
        "parallel_batch_size",
        "call_result_cache",
        "disable_cache_args",
    }
)

_BY_URL = "choose backends by URL: backend_url (state, triggers, arg cache) and broker_url"
# pynenc name -> what to use here instead
IGNORED: dict[str, str] = {
    **{
        f"{part}_cls": _BY_URL
        for part in ("orchestrator", "broker", "state_backend", "trigger", "arg_cache", "client_data_store")
    },
    "min_processes": "a MultiThreadRunner runs num_processes worker processes (0 = one per CPU)",
    "idle_timeout_process_sec": "worker processes live as long as their runner",
    "enforce_max_processes": "num_processes and max_processes are always enforced",
    "min_parallel_slots": "a runner's slots are max_threads (threads) or num_processes/max_processes",
    "runner_loop_sleep_time_sec": "runners block on the broker instead of sleeping in a loop",
    "invocation_wait_results_sleep_time_sec": "waits are event-driven",
    "scheduler_interval_seconds": "the services lease holder evaluates triggers every 0.2 s",
    "enable_scheduler": "triggers and cron are evaluated whenever a runner runs",
    "cycle_control": "cycle detection is always on",
    "blocking_control": "blocking control is always on",
    "cached_status_time": "status reads are not cached",
    "compact_log_context": "log lines always carry the compact runner context",
    "log_use_colors": "log lines carry no colour codes",
    "is_workflow_task": "decorate the root with @app.workflow",
    "force_new_workflow": "decorate the root with @app.workflow",
    "auto_final_invocation_purge_hours": "invocations are kept until app.purge() (no age-based purge yet)",
    "recovery_service_spread_margin_minutes": "the runner holding the services lease runs recovery",
    "recover_pending_invocations_cron": "recovery runs with the services every services_interval_s",
    "recover_running_invocations_cron": "recovery runs with the services every services_interval_s",
    **{
        f"atomic_service_{name}": "global services run on the one runner holding the services lease"
        for name in (
            "interval_minutes",
            "spread_margin_minutes",
            "check_interval_minutes",
            "execution_retention_minutes",
            "execution_max_records",
            "max_start_slot_fraction",
            "membership_stabilization_minutes",
            "min_run_margin_seconds",
        )
    },
    "queue_timeout_sec": "runners block on the broker until work arrives",
    "priority_rules": "give a task priority= in its decorator (or PYNENC__TASK__<module#task>__PRIORITY)",
    "warn_on_queue_mismatch": "pynenc status shows which queues no runner serves",
    "raise_on_queue_mismatch": "pynenc status shows which queues no runner serves",
    "pagination_batch_size": "monitor queries are paginated by the caller",
    "max_size_to_cache": "large values are stored whole in the arg cache",
    "local_cache_size": "the arg cache keeps no per-process copy",
    "warn_threshold": "values of any size are stored",
    "compression_enabled": "stored values are not compressed",
    "max_events_batch_size": "the trigger engine pages events itself",
    "final_invocation_cache_size": "final statuses are read once per wait",
    **{
        f"shared_memory_{name}": "process runners share state through the backend, not shared memory"
        for name in ("size_mb", "name_prefix", "cleanup_timeout_sec")
    },
    **{
        f"redis_{name}": "put it in backend_url: redis://user:password@host:port/db"
        for name in ("username", "password", "host", "port", "db")
    },
    **{
        f"redis_{name}": "the Redis client manages its own pool"
        for name in ("pool_max_connections", "pool_health_check_interval")
    },
    **{
        f"mongo_{name}": "put it in backend_url: mongodb://user:password@host:port/db?authSource=…"
        for name in ("username", "password", "host", "port", "db", "auth_source", "pool_max_connections")
    },
    **{
        f"rabbitmq_{name}": "put it in broker_url: amqp://user:password@host:port/vhost"
        for name in ("host", "port", "username", "password", "virtual_host")
    },
    **{
        f"rabbitmq_{name}": "the RabbitMQ broker sets it itself (see docs/guide/rabbitmq.md)"
        for name in (
            "queue_prefix",
            "exchange_name",
            "exchange_type",
            "connection_attempts",
            "retry_delay",
            "heartbeat",
            "prefetch_count",
            "message_ttl",
            "confirm_delivery",
            "pika_log_level",
        )
    },
    **{
        name: "connections retry with backoff on their own; timeouts come from the backend URL"
        for name in (
            "socket_timeout",
            "socket_connect_timeout",
            "health_check_interval",
            "max_connection_attempts",
            "retry_base_delay",
            "retry_max_delay",
            "retry_max_time",
            "retry_indefinitely",
            "max_pending_resolution_threads",
            "redis_retry_base_delay_sec",
            "redis_retry_max_delay_sec",
            "redis_retry_max_attempts",
        )
    },
    **{
        name: "MongoDB documents are written whole with compare-and-set updates"
        for name in (
            "gridfs_threshold",
            "chunk_threshold",
            "stale_lock_threshold_seconds",
            "lock_max_retries",
            "lock_retry_base_delay",
            "ownership_consensus_wait_seconds",
        )
    },
}

_warned: set[str] = set()


def translate(name: str, value: Any, source: str) -> tuple[str, Any] | None:
    """(our name, value) for a pynenc name; None for a name that means nothing here (warned once)
    or whose value asks for our default."""
    if name in ALIASES:
        ours, convert = ALIASES[name]
        converted = convert(value)
        return None if converted is SKIP else (ours, converted)
    if name in IGNORED:
        if name not in _warned:
            _warned.add(name)
            logger.warning("%s: pynenc setting %s has no effect in pynenc_nb: %s", source, name, IGNORED[name])
        return None
    return None


def is_pynenc_name(name: str) -> bool:
    return name in ALIASES or name in IGNORED


def nearest(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest known name, or ''."""
    match = difflib.get_close_matches(name, list(known) + list(ALIASES), n=1)
    return f" (did you mean {match[0]}?)" if match else ""
