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


# pynenc name -> (our name, conversion of the value)
ALIASES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "runner_considered_dead_after_minutes": ("runner_dead_after_s", _minutes),
    "recover_pending_invocations_after_minutes": ("max_pending_seconds", _minutes),
    "sqlite_db_path": ("backend_url", _sqlite_url),
    "redis_url": ("backend_url", str),
    "serializer_cls": ("serializer", _serializer),
}

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
    "print_arguments": "the monitor shows short argument displays, never the values",
    "truncate_arguments_length": "argument displays are always truncated",
    "argument_print_mode": "the monitor shows short argument displays, never the values",
    "cached_status_time": "status reads are not cached",
    "compact_log_context": "log lines always carry the compact runner context",
}

_warned: set[str] = set()


def translate(name: str, value: Any, source: str) -> tuple[str, Any] | None:
    """(our name, value) for a pynenc name; None for a name that means nothing here (warned once)."""
    if name in ALIASES:
        ours, convert = ALIASES[name]
        return ours, convert(value)
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
