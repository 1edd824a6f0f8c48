"""pynenc's setting names are accepted: aliases map onto ours, names with no meaning here warn once;
our own unknown names still fail, with the nearest match."""

from __future__ import annotations

import logging

import pytest

from pynenc_nb.conf.loader import load_config
from pynenc_nb.conf.pynenc_names import ALIASES, IGNORED
from pynenc_nb.exceptions import ConfigError

SAMPLE = {
    "runner_considered_dead_after_minutes": "2",
    "recover_pending_invocations_after_minutes": "0.5",
    "sqlite_db_path": "/tmp/app.db",
    "redis_url": "redis://127.0.0.1:6379/3",
    "serializer_cls": "JsonPickleSerializer",
}


@pytest.mark.parametrize("name", sorted(ALIASES) + sorted(IGNORED))
def test_every_pynenc_name_is_accepted_from_the_environment(name: str, tmp_path: object) -> None:
    value = SAMPLE.get(name, "1")
    conf, _ = load_config(environ={f"PYNENC__{name.upper()}": value}, cwd=tmp_path)  # type: ignore[arg-type]
    assert conf is not None


def test_aliases_convert_their_units() -> None:
    conf, _ = load_config(
        environ={
            "PYNENC__RUNNER_CONSIDERED_DEAD_AFTER_MINUTES": "2",
            "PYNENC__RECOVER_PENDING_INVOCATIONS_AFTER_MINUTES": "0.5",
            "PYNENC__SERIALIZER_CLS": "JsonSerializer",
        }
    )
    assert conf.runner_dead_after_s == 120 and conf.max_pending_seconds == 30 and conf.serializer == "json"
    conf, _ = load_config({"sqlite_db_path": "/tmp/x.db"}, environ={})
    assert conf.backend_url == "sqlite:///tmp/x.db"


def test_a_name_without_meaning_here_warns_once_naming_the_replacement(caplog: pytest.LogCaptureFixture) -> None:
    from pynenc_nb.conf import pynenc_names

    pynenc_names._warned.discard("orchestrator_cls")
    with caplog.at_level(logging.WARNING, logger="pynenc.config"):
        load_config(environ={"PYNENC__ORCHESTRATOR_CLS": "RedisOrchestrator"})
        load_config(environ={"PYNENC__ORCHESTRATOR_CLS": "RedisOrchestrator"})
    lines = [r.getMessage() for r in caplog.records if "orchestrator_cls" in r.getMessage()]
    assert len(lines) == 1 and "backend_url" in lines[0]


def test_pynenc_file_sections_and_configtask_variables(tmp_path: object) -> None:
    conf, tasks = load_config(
        {"min_processes": 1, "max_processes": 1, "max_threads": 1},
        environ={"PYNENC__CONFIGTASK__MAX_RETRIES": "2"},
    )
    assert conf.max_processes == 1 and conf.max_threads == 1
    assert tasks["*"]["max_retries"] == "2"


def test_our_unknown_names_still_fail_with_the_nearest_match() -> None:
    with pytest.raises(ConfigError, match="did you mean max_threads"):
        load_config(environ={"PYNENC__MAX_THREAD": "2"})
    with pytest.raises(ConfigError, match="did you mean runner_dead_after_s"):
        load_config({"runner_dead_after": 2}, environ={})


# Every setting pynenc 0.4 and its redis, mongodb and rabbitmq plugins read (from their config
# classes), with a value of the kind pynenc takes. Each must be accepted: an alias of ours, a task
# default, or one warning naming what to use instead. None may fail the app.
PYNENC_SETTINGS: dict[str, str] = {
    # ConfigPynenc
    "app_id": "ported",
    "orchestrator_cls": "RedisOrchestrator",
    "trigger_cls": "RedisTrigger",
    "broker_cls": "RedisBroker",
    "state_backend_cls": "RedisStateBackend",
    "serializer_cls": "JsonSerializer",
    "client_data_store_cls": "RedisClientDataStore",
    "runner_cls": "pynenc.runner.MultiThreadRunner",
    "trigger_task_modules": "tests.support.tasks_app",
    "dev_mode_force_sync_tasks": "True",
    "logging_level": "debug",
    "print_arguments": "False",
    "truncate_arguments_length": "32",
    "argument_print_mode": "KEYS",
    "cached_status_time": "0.1",
    "compact_log_context": "True",
    "log_use_colors": "True",
    "log_stream": "STDOUT",
    "log_format": "JSON",
    "atomic_service_interval_minutes": "5",
    "atomic_service_spread_margin_minutes": "1",
    "atomic_service_check_interval_minutes": "0.5",
    "atomic_service_execution_retention_minutes": "60",
    "atomic_service_execution_max_records": "1000",
    "atomic_service_max_start_slot_fraction": "0.5",
    "atomic_service_membership_stabilization_minutes": "0",
    "atomic_service_min_run_margin_seconds": "0.05",
    "recover_pending_invocations_cron": "*/5 * * * *",
    "max_pending_seconds": "5",
    "recover_running_invocations_cron": "*/15 * * * *",
    "runner_considered_dead_after_minutes": "10",
    # runners
    "invocation_wait_results_sleep_time_sec": "0.1",
    "runner_loop_sleep_time_sec": "0.1",
    "min_parallel_slots": "1",
    "recovery_service_check_interval_minutes": "0.5",
    "min_threads": "2",
    "max_threads": "2",
    "final_invocation_cache_size": "10000",
    "min_processes": "1",
    "max_processes": "2",
    "idle_timeout_process_sec": "4",
    "enforce_max_processes": "True",
    "num_processes": "2",
    # orchestrator
    "blocking_control": "True",
    "auto_final_invocation_purge_hours": "24",
    "cycle_control": "True",
    "run_invocation_recovery_service_every_minutes": "5",
    "recovery_service_spread_margin_minutes": "1",
    "runner_heartbeat_timeout_minutes": "10",
    # broker and state
    "queue_timeout_sec": "0.1",
    "queues": "default,reports",
    "priority_rules": "[]",
    "warn_on_queue_mismatch": "True",
    "raise_on_queue_mismatch": "False",
    "pagination_batch_size": "100",
    # arg cache / client data store
    "min_size_to_cache": "1024",
    "local_cache_size": "1024",
    "disable_client_data_store": "True",
    "max_size_to_cache": "0",
    "warn_threshold": "10485760",
    "compression_enabled": "False",
    # triggers
    "scheduler_interval_seconds": "60",
    "enable_scheduler": "True",
    "max_events_batch_size": "100",
    "event_retention_days": "3",
    "event_auto_purge_enabled": "False",
    "event_max_records": "0",
    "trigger_run_max_records": "0",
    # task options, read app-wide
    "parallel_batch_size": "100",
    "retry_for": "ValueError",
    "max_retries": "2",
    "running_concurrency": "DISABLED",
    "registration_concurrency": "DISABLED",
    "key_arguments": "",
    "on_diff_non_key_args_raise": "False",
    "call_result_cache": "False",
    "disable_cache_args": "",
    "is_workflow_task": "False",
    "force_new_workflow": "False",
    "reroute_on_concurrency_control": "False",
    # redis, sqlite, shared memory
    "redis_username": "",
    "redis_password": "",
    "redis_host": "localhost",
    "redis_port": "6379",
    "redis_db": "0",
    "redis_url": "redis://127.0.0.1:6379/0",
    "socket_timeout": "5",
    "socket_connect_timeout": "5",
    "health_check_interval": "30",
    "max_connection_attempts": "3",
    "redis_pool_max_connections": "100",
    "redis_pool_health_check_interval": "30",
    "sqlite_db_path": "/tmp/pynenc.db",
    "shared_memory_size_mb": "10",
    "shared_memory_name_prefix": "pynenc",
    "shared_memory_cleanup_timeout_sec": "1",
    "max_pending_resolution_threads": "50",
    "redis_retry_base_delay_sec": "0.1",
    "redis_retry_max_delay_sec": "1",
    "redis_retry_max_attempts": "3",
    # mongodb
    "mongo_username": "",
    "mongo_password": "",
    "mongo_host": "localhost",
    "mongo_port": "27017",
    "mongo_db": "pynenc",
    "mongo_url": "mongodb://127.0.0.1:27017/pynenc",
    "mongo_auth_source": "",
    "mongo_pool_max_connections": "100",
    "retry_base_delay": "0.1",
    "retry_max_delay": "60",
    "retry_max_time": "300",
    "retry_indefinitely": "False",
    "gridfs_threshold": "15728640",
    "chunk_threshold": "15728640",
    "stale_lock_threshold_seconds": "5",
    "lock_max_retries": "3",
    "lock_retry_base_delay": "0.05",
    "ownership_consensus_wait_seconds": "0.1",
    # rabbitmq
    "rabbitmq_host": "localhost",
    "rabbitmq_port": "5672",
    "rabbitmq_username": "guest",
    "rabbitmq_password": "guest",
    "rabbitmq_virtual_host": "/",
    "rabbitmq_queue_prefix": "pynenc",
    "rabbitmq_exchange_name": "pynenc.direct",
    "rabbitmq_exchange_type": "direct",
    "rabbitmq_connection_attempts": "3",
    "rabbitmq_retry_delay": "5",
    "rabbitmq_heartbeat": "600",
    "rabbitmq_prefetch_count": "10",
    "rabbitmq_message_ttl": "86400000",
    "rabbitmq_confirm_delivery": "True",
    "rabbitmq_pika_log_level": "WARNING",
}
# Sample values that are also our defaults: accepted, nothing changes.
SAME_AS_OUR_DEFAULT: frozenset[str] = frozenset()
SETTING_CLASS_SECTIONS = ("CONFIGPYNENC", "CONFIGRUNNER", "CONFIGTHREADRUNNER", "CONFIGMULTITHREADRUNNER")


@pytest.mark.parametrize("name", sorted(PYNENC_SETTINGS))
def test_every_pynenc_setting_is_an_alias_a_task_default_or_one_warning(
    name: str, tmp_path: object, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynenc_nb.conf import pynenc_names
    from pynenc_nb.conf.settings import CONFIG_FIELDS, PynencConfig

    monkeypatch.setattr(pynenc_names, "_warned", set())
    value = PYNENC_SETTINGS[name]
    with caplog.at_level(logging.WARNING, logger="pynenc.config"):
        conf, tasks = load_config(environ={f"PYNENC__{name.upper()}": value}, cwd=tmp_path)  # type: ignore[arg-type]
    warned = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    changed = {f for f in CONFIG_FIELDS if f != "task" and getattr(conf, f) != getattr(PynencConfig(), f)}
    if name in IGNORED:
        assert len(warned) == 1 and "has no effect in pynenc_nb" in warned[0], warned
    elif name in pynenc_names.TASK_OPTION_NAMES:
        assert tasks["*"][name] == value
    elif name in CONFIG_FIELDS or name in ALIASES:
        ours = ALIASES[name][0] if name in ALIASES else name
        if name in SAME_AS_OUR_DEFAULT:
            assert not changed, changed
        else:
            assert ours in changed, (name, changed)
    else:
        raise AssertionError(f"pynenc setting {name} is neither ours, an alias, a task option nor warned about")


def test_pynencs_class_sections_reach_our_fields(tmp_path: object) -> None:
    for section in SETTING_CLASS_SECTIONS:
        conf, _ = load_config(environ={f"PYNENC__{section}__MAX_THREADS": "3"}, cwd=tmp_path)  # type: ignore[arg-type]
        assert conf.max_threads == 3


def test_pynencs_spellings_of_our_values(tmp_path: object) -> None:
    conf, _ = load_config(
        environ={
            "PYNENC__LOG_FORMAT": "JSON",
            "PYNENC__RUNNER_CLS": "pynenc.runner.MultiThreadRunner",
            "PYNENC__EVENT_MAX_RECORDS": "0",
            "PYNENC__DISABLE_CLIENT_DATA_STORE": "True",
        },
        cwd=tmp_path,  # type: ignore[arg-type]
    )
    assert (conf.log_format, conf.runner_cls) == ("json", "MultiThreadRunner")
    assert conf.event_max_records > 10**15, "pynenc's 0 is no cap"
    assert conf.arg_cache_min_bytes > 10**15, "the store disabled: every value inline"
    default, _ = load_config(environ={"PYNENC__DISABLE_CLIENT_DATA_STORE": "False"}, cwd=tmp_path)  # type: ignore[arg-type]
    assert default.arg_cache_min_bytes == 64 * 1024


def test_task_option_names_are_the_options_of_a_task() -> None:
    import dataclasses

    from pynenc_nb.conf.pynenc_names import TASK_OPTION_NAMES
    from pynenc_nb.task_options import TaskOptions

    ours = {f.name for f in dataclasses.fields(TaskOptions)} - {"queue", "priority", "triggers"}
    assert ours == TASK_OPTION_NAMES


def test_app_wide_task_options_become_every_tasks_defaults(clean_env: pytest.MonkeyPatch) -> None:
    from pynenc_nb import Pynenc

    clean_env.setenv("PYNENC__MAX_RETRIES", "4")
    app = Pynenc(config_values={"app_id": "wide", "backend_url": "memory:"})

    @app.task
    def job() -> None:
        return None

    assert job.options.max_retries == 4
    app.close()
