"""PynencBuilder with pynenc 0.4's method and parameter names: ported builder chains build the
same app, a knob with no meaning here warns once, and what we deliberately lack is an error."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from pynenc_nb import ConcurrencyControlType, ConfigError, Pynenc, PynencBuilder
from pynenc_nb.conf import PynencConfig, pynenc_names
from pynenc_nb.exceptions import PynencWarning


def test_sqlite_takes_pynencs_sqlite_db_path(builder: PynencBuilder, tmp_path: Path) -> None:
    app = builder.sqlite(sqlite_db_path=str(tmp_path / "p.db")).build()
    assert app.conf.backend_url == f"sqlite://{tmp_path / 'p.db'}"


def test_redis_takes_url_and_db(builder: PynencBuilder) -> None:
    assert builder.redis(url="redis://h:6379", db=3).build().conf.backend_url == "redis://h:6379/3"
    assert builder.redis(url="redis://:pw@h:6379/0", db=5).build().conf.backend_url == "redis://:pw@h:6379/5"
    assert builder.redis(url="redis://h:6379/2").build().conf.backend_url == "redis://h:6379/2"


def test_mongo_takes_a_database_name(builder: PynencBuilder) -> None:
    assert builder.mongo("mongodb://h:27017", database="orders").build().conf.backend_url == "mongodb://h:27017/orders"


def test_rabbitmq_broker_takes_pynencs_host_parameters(builder: PynencBuilder) -> None:
    app = (
        builder.sqlite()
        .rabbitmq_broker(host="mq", port=5673, username="u", password="p@ss", virtual_host="/jobs")
        .build()
    )
    assert app.conf.broker_url == "amqp://u:p%40ss@mq:5673/%2Fjobs"
    with pytest.raises(ConfigError, match="not both"):
        builder.rabbitmq_broker("amqp://mq/", host="mq")


def test_thread_runner_takes_min_and_max_threads_in_pynencs_order(builder: PynencBuilder) -> None:
    app = builder.memory().thread_runner(2, 6).build()
    assert (app.conf.runner_cls, app.conf.min_threads, app.conf.max_threads) == ("ThreadRunner", 2, 6)
    fresh = PynencBuilder().app_id("fresh").logging_level("warning").memory()
    default = fresh.thread_runner(max_threads=0).build()  # pynenc's 0: keep the default
    assert default.conf.max_threads == PynencConfig().max_threads
    default.close()


def test_multi_thread_runner_warns_about_enforce_max_processes(builder: PynencBuilder) -> None:
    with pytest.warns(PynencWarning, match="enforce_max_processes has no effect"):
        app = builder.memory().multi_thread_runner(min_threads=1, max_threads=2, enforce_max_processes=True).build()
    assert (app.conf.runner_cls, app.conf.max_threads) == ("MultiThreadRunner", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        builder.multi_thread_runner(min_threads=1, max_threads=2)  # its default says nothing


def test_persistent_process_runner_zero_means_one_per_cpu(builder: PynencBuilder) -> None:
    app = builder.sqlite().persistent_process_runner(num_processes=0).build()
    assert (app.conf.runner_cls, app.conf.num_processes) == ("PersistentProcessRunner", 0)


def test_dummy_runner_is_an_error_that_names_dev_mode(builder: PynencBuilder) -> None:
    with pytest.raises(ConfigError, match=r"no DummyRunner: use \.dev_mode\(\)"):
        builder.dummy_runner()


def test_task_control_cannot_turn_off_what_is_always_on(builder: PynencBuilder) -> None:
    assert builder.task_control(cycle_control=True, blocking_control=True) is builder
    with pytest.raises(ConfigError, match="blocking_control cannot be turned off"):
        builder.task_control(blocking_control=False)


def test_runner_tuning_is_accepted_with_a_warning_per_knob(
    builder: PynencBuilder, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pynenc_names, "_warned", set())  # once per process: this test must see it
    app = builder.memory().runner_tuning(runner_loop_sleep_time_sec=0.05, min_parallel_slots=2).build()
    assert app.conf.backend_url == "memory:"
    assert "pynenc setting runner_loop_sleep_time_sec has no effect" in caplog.text


@pytest.mark.parametrize(
    ("name", "ours"),
    [("json", "json"), ("pickle", "pickle"), ("JsonSerializer", "json"), ("JsonPickleSerializer", "auto")],
)
def test_serializer_by_pynencs_names(builder: PynencBuilder, name: str, ours: str) -> None:
    assert builder.memory().serializer(name).build().conf.serializer == ours
    assert builder.memory().serializer_json_pickle().build().conf.serializer == "auto"
    with pytest.raises(ConfigError, match="json, pickle, json_pickle or auto"):
        builder.serializer("yaml")


def test_concurrency_control_takes_mode_names(builder: PynencBuilder) -> None:
    app = builder.memory().concurrency_control(running_concurrency="task", registration_concurrency="KEYS").build()
    assert app.conf.task["*"]["running_concurrency"] is ConcurrencyControlType.TASK
    with pytest.raises(ConfigError, match="DISABLED, TASK, ARGUMENTS or KEYS"):
        builder.concurrency_control(running_concurrency="sometimes")


def test_max_pending_seconds_and_client_data_store(builder: PynencBuilder) -> None:
    app = builder.memory().max_pending_seconds(9).client_data_store("memory", min_size_to_cache=2048).build()
    assert (app.conf.max_pending_seconds, app.conf.arg_cache_min_bytes) == (9.0, 2048)
    assert builder.memory().arg_cache("disabled").build().conf.arg_cache_min_bytes > 2**60


def test_logging_sets_level_and_format(builder: PynencBuilder) -> None:
    app = builder.memory().logging(level="error", log_format="json").build()
    assert (app.conf.logging_level, app.conf.log_format) == ("error", "json")


@pytest.mark.parametrize(
    ("method", "shown"),
    [
        ("hide_arguments", {}),
        ("show_argument_keys", {"text": "…", "n": "…"}),
        ("show_full_arguments", {"text": repr("x" * 200), "n": "7"}),
    ],
)
def test_argument_print_modes_decide_what_is_stored_for_display(
    builder: PynencBuilder, method: str, shown: dict[str, str]
) -> None:
    app = getattr(builder.memory(), method)().build()

    @app.task
    def echo(text: str, n: int) -> str:
        return text

    invocation = echo("x" * 200, 7)
    assert json.loads(invocation.record.args_display) == shown


def test_truncated_arguments_cut_at_the_given_length(builder: PynencBuilder) -> None:
    app = builder.memory().show_truncated_arguments(truncate_length=10).build()

    @app.task
    def echo(text: str) -> str:
        return text

    shown = json.loads(echo("y" * 50).record.args_display)["text"]
    assert len(shown) == 10 and shown.endswith("…")
    with pytest.raises(ConfigError, match="greater than 0"):
        builder.show_truncated_arguments(0)


def test_pynencs_print_arguments_setting_hides_them(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PYNENC__PRINT_ARGUMENTS", "False")
    clean_env.setenv("PYNENC__BACKEND_URL", "memory:")
    assert Pynenc(config_values={"app_id": "env-hidden"}).conf.argument_print_mode == "hidden"
    clean_env.setenv("PYNENC__ARGUMENT_PRINT_MODE", "KEYS")
    assert Pynenc(config_values={"app_id": "env-keys"}).conf.argument_print_mode == "keys"
