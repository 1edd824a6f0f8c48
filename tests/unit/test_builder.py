"""PynencBuilder: each method sets what it says; nothing connects until the app is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynenc_nb import (
    ConcurrencyControlType,
    ConfigError,
    MultiThreadRunner,
    PersistentProcessRunner,
    ProcessRunner,
    Pynenc,
    PynencBuilder,
    ThreadRunner,
)
from pynenc_nb.conf.urls import default_sqlite_url, sqlite_path


def test_every_method_returns_the_builder(builder: PynencBuilder) -> None:
    chain = (
        builder.memory()
        .thread_runner(max_threads=2)
        .dev_mode()
        .serializer_auto()
        .serializer_secret("s")
        .concurrency_control(ConcurrencyControlType.TASK)
        .custom_config(max_pending_seconds=3.0)
    )
    assert chain is builder


def test_app_id(builder: PynencBuilder) -> None:
    app = builder.app_id("my-app").memory().build()
    assert app.app_id == "my-app" and app.conf.app_id == "my-app"


def test_memory(builder: PynencBuilder) -> None:
    app = builder.memory().build()
    assert app.conf.backend_url == "memory:"
    assert app.backends.serves_other_processes is False


def test_sqlite_with_an_absolute_path(builder: PynencBuilder, tmp_path: Path) -> None:
    path = tmp_path / "data" / "app.db"
    app = builder.sqlite(str(path)).build()
    assert Path(sqlite_path(app.conf.backend_url)) == path
    app.state_backend.kv_put("t", "k", "v")  # opening creates the file where asked
    assert path.is_file()


def test_sqlite_with_a_relative_path_is_under_the_working_directory(builder: PynencBuilder, tmp_path: Path) -> None:
    app = builder.sqlite("rel/app.db").build()
    assert Path(sqlite_path(app.conf.backend_url)).resolve() == (tmp_path / "rel" / "app.db").resolve()


def test_sqlite_without_a_path_is_the_embedded_default(builder: PynencBuilder, tmp_path: Path) -> None:
    app = builder.sqlite().build()
    assert app.conf.backend_url == default_sqlite_url("built", tmp_path)
    assert app.backends.serves_other_processes is True


def test_redis_only_sets_the_url(builder: PynencBuilder) -> None:
    url = "redis://user:pw@127.0.0.1:1/3"  # nothing listens on port 1: building must not connect
    app = builder.redis(url).build()
    assert app.conf.backend_url == url
    assert app._backends is None
    assert "pw" not in repr(app)


def test_redis_default_and_rediss(builder: PynencBuilder) -> None:
    assert builder.redis().build().conf.backend_url == "redis://127.0.0.1:6379/0"
    assert builder.redis("rediss://h:6380/0").build().conf.backend_url == "rediss://h:6380/0"


def test_mongo_only_sets_the_url(builder: PynencBuilder) -> None:
    app = builder.mongo("mongodb+srv://u:p@cluster.example/db").build()
    assert app.conf.backend_url == "mongodb+srv://u:p@cluster.example/db"
    assert app._backends is None
    assert builder.mongo().build().conf.backend_url.startswith("mongodb://")


def test_rabbitmq_broker_sets_the_broker_url_only(builder: PynencBuilder) -> None:
    app = builder.sqlite().rabbitmq_broker("amqp://guest:guest@mq:5672/%2F").build()
    assert app.conf.broker_url == "amqp://guest:guest@mq:5672/%2F"
    assert sqlite_path(app.conf.backend_url).endswith("built.db")
    assert app._backends is None


@pytest.mark.parametrize(
    ("method", "url", "variable"),
    [
        ("redis", "mongodb://h/db", "backend_url"),
        ("redis", "http://h", "backend_url"),
        ("mongo", "redis://h", "backend_url"),
        ("rabbitmq_broker", "redis://h", "broker_url"),
    ],
)
def test_wrong_scheme_is_a_config_error(builder: PynencBuilder, method: str, url: str, variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        getattr(builder, method)(url)
    assert info.value.variable == variable
    assert url.split("://")[0] in str(info.value)


def test_thread_runner(builder: PynencBuilder) -> None:
    app = builder.memory().thread_runner(max_threads=3).build()
    assert (app.conf.runner_cls, app.conf.max_threads) == ("ThreadRunner", 3)
    assert type(app.runner) is ThreadRunner
    assert app.runner.slots == 3


def test_multi_thread_runner(builder: PynencBuilder) -> None:
    app = builder.memory().multi_thread_runner(min_threads=2, max_threads=5, num_processes=3).build()
    conf = app.conf
    assert (conf.runner_cls, conf.min_threads, conf.max_threads, conf.num_processes) == ("MultiThreadRunner", 2, 5, 3)
    assert type(app.runner) is MultiThreadRunner
    assert app.runner.slots == 15


def test_process_runner(builder: PynencBuilder) -> None:
    app = builder.memory().process_runner(max_processes=2).build()
    assert (app.conf.runner_cls, app.conf.max_processes) == ("ProcessRunner", 2)
    assert type(app.runner) is ProcessRunner


def test_persistent_process_runner(builder: PynencBuilder) -> None:
    app = builder.memory().persistent_process_runner(num_processes=2).build()
    assert (app.conf.runner_cls, app.conf.num_processes) == ("PersistentProcessRunner", 2)
    assert type(app.runner) is PersistentProcessRunner
    assert app.runner.slots == 2


def test_dev_mode(builder: PynencBuilder) -> None:
    assert builder.memory().dev_mode().build().conf.dev_mode_force_sync_tasks is True
    assert builder.dev_mode(force_sync_tasks=False).build().conf.dev_mode_force_sync_tasks is False


def test_logging_level(builder: PynencBuilder) -> None:
    assert builder.memory().logging_level("error").build().conf.logging_level == "error"
    with pytest.raises(ConfigError, match="logging_level"):
        builder.logging_level("chatty").build()


@pytest.mark.parametrize("name", ["auto", "json", "pickle"])
def test_serializers(builder: PynencBuilder, name: str) -> None:
    app = getattr(builder.memory(), f"serializer_{name}")().build()
    assert app.conf.serializer == name
    assert app.serializer.name == name


def test_serializer_secret(builder: PynencBuilder) -> None:
    app = builder.memory().serializer_secret("k1").build()
    assert app.conf.serializer_secret == "k1"
    assert app.serializer.signer.enabled
    assert app.conf.public_dict()["serializer_secret"] == "***"


def test_concurrency_control_sets_task_defaults(builder: PynencBuilder) -> None:
    app = (
        builder.memory()
        .concurrency_control(
            running_concurrency=ConcurrencyControlType.TASK, registration_concurrency=ConcurrencyControlType.ARGUMENTS
        )
        .build()
    )

    @app.task
    def job(x: int) -> int:
        return x

    @app.task(running_concurrency=ConcurrencyControlType.DISABLED)
    def free(x: int) -> int:
        return x

    assert job.options.running_concurrency is ConcurrencyControlType.TASK
    assert job.options.registration_concurrency is ConcurrencyControlType.ARGUMENTS
    assert free.options.running_concurrency is ConcurrencyControlType.DISABLED  # decorator wins


def test_custom_config(builder: PynencBuilder) -> None:
    app = builder.memory().custom_config(max_pending_seconds=3.0, runner_dead_after_s=2).build()
    assert (app.conf.max_pending_seconds, app.conf.runner_dead_after_s) == (3.0, 2.0)
    with pytest.raises(ConfigError, match="no_such_setting"):
        builder.custom_config(no_such_setting=1).build()


def test_config_file(builder: PynencBuilder, tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("max_threads: 7\nbackend_url: 'memory:'\n")
    app = builder.config_file(str(file)).build()
    assert (app.conf.max_threads, app.conf.backend_url) == (7, "memory:")


def test_builder_values_beat_the_environment(builder: PynencBuilder, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PYNENC__MAX_THREADS", "2")
    clean_env.setenv("PYNENC__NUM_PROCESSES", "2")
    app = builder.memory().thread_runner(max_threads=7).build()
    assert (app.conf.max_threads, app.conf.num_processes) == (7, 2)


def test_build_returns_independent_apps(builder: PynencBuilder) -> None:
    first = builder.memory().build()
    second = builder.build()
    assert isinstance(first, Pynenc) and first is not second
    assert first.state_backend is not second.state_backend


def test_trigger_task_modules(builder: PynencBuilder) -> None:
    app = builder.memory().trigger_task_modules(["a.tasks", "b.tasks"]).build()
    assert app.conf.trigger_task_modules == ("a.tasks", "b.tasks")
