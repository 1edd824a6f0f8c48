"""Configuration: defaults, source precedence, sections, bad values, per-task settings, masking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import ConfigError, InvalidTaskOptionsError, Pynenc, PynencConfig
from pynenc_nb.conf import load_config
from pynenc_nb.task import config_key_of


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def conf_of(tmp_path: Path, environ: dict[str, str] | None = None, **kwargs: Any) -> PynencConfig:
    conf, _ = load_config(environ=environ or {}, cwd=tmp_path, **kwargs)
    return conf


# --- defaults and precedence ---------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    conf = conf_of(tmp_path)
    assert conf == PynencConfig()
    assert conf.app_id == "pynenc"
    assert conf.backend_url == "" and conf.broker_url == ""
    assert conf.runner_cls == "ThreadRunner"
    assert conf.serializer == "auto"
    assert conf.max_threads == 4
    assert conf.queues == ("default",)
    assert conf.dev_mode_force_sync_tasks is False
    assert conf.runner_heartbeat_interval_s == 1.0
    assert conf.runner_dead_after_s == 5.0


def test_pyproject_tool_pynenc_is_read(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n[tool.pynenc]\napp_id = "from-pyproject"\nmax_threads = 2\n',
    )
    conf = conf_of(tmp_path)
    assert (conf.app_id, conf.max_threads) == ("from-pyproject", 2)


def test_pyproject_is_found_in_a_parent_folder(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.pynenc]\nmax_threads = 3\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert conf_of(nested).max_threads == 3


def test_pyproject_sections(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.pynenc]\napp_id = "s"\n[tool.pynenc.runner]\nmax_threads = 4\nmin_threads = 2\n',
    )
    conf = conf_of(tmp_path)
    assert (conf.max_threads, conf.min_threads) == (4, 2)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("conf.yaml", "max_threads: 7\nrunner:\n  min_threads: 3\nserializer: json\n"),
        ("conf.yml", "max_threads: 7\nrunner:\n  min_threads: 3\nserializer: json\n"),
        ("conf.toml", 'max_threads = 7\nserializer = "json"\n[runner]\nmin_threads = 3\n'),
        ("conf.json", json.dumps({"max_threads": 7, "runner": {"min_threads": 3}, "serializer": "json"})),
    ],
)
def test_config_file_formats_override_pyproject(tmp_path: Path, name: str, text: str) -> None:
    write(tmp_path / "pyproject.toml", '[tool.pynenc]\nmax_threads = 2\napp_id = "kept"\n')
    file = write(tmp_path / name, text)
    conf = conf_of(tmp_path, config_filepath=file)
    assert (conf.max_threads, conf.min_threads, conf.serializer) == (7, 3, "json")
    assert conf.app_id == "kept"  # what the file does not set comes from pyproject


def test_pynenc_filepath_names_the_config_file(tmp_path: Path) -> None:
    file = write(tmp_path / "settings.yaml", "max_threads: 9\n")
    assert conf_of(tmp_path, {"PYNENC__FILEPATH": str(file)}).max_threads == 9


def test_environment_overrides_file_and_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.pynenc]\nmax_threads = 2\nmin_threads = 2\n")
    file = write(tmp_path / "c.yaml", "max_threads: 3\n")
    env = {"PYNENC__FILEPATH": str(file), "PYNENC__MAX_THREADS": "5", "PYNENC__RUNNER__MIN_THREADS": "1"}
    conf = conf_of(tmp_path, env)
    assert (conf.max_threads, conf.min_threads) == (5, 1)


def test_constructor_values_override_everything(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.pynenc]\nmax_threads = 2\n")
    file = write(tmp_path / "c.yaml", "max_threads: 3\n")
    conf = conf_of(tmp_path, {"PYNENC__MAX_THREADS": "5"}, values={"max_threads": 6}, config_filepath=file)
    assert conf.max_threads == 6


def test_precedence_through_the_app(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    write(
        tmp_path / "pyproject.toml",
        '[tool.pynenc]\nmax_threads = 2\nmin_threads = 2\nnum_processes = 2\nlog_format = "json"\n',
    )
    file = write(tmp_path / "c.toml", "max_threads = 3\nmin_threads = 3\nnum_processes = 3\n")
    clean_env.setenv("PYNENC__FILEPATH", str(file))
    clean_env.setenv("PYNENC__MAX_THREADS", "5")
    clean_env.setenv("PYNENC__MIN_THREADS", "5")
    app = Pynenc(app_id="prec", config_values={"backend_url": "memory:", "max_threads": 6, "logging_level": "warning"})
    try:
        assert app.app_id == "prec"
        assert (app.conf.max_threads, app.conf.min_threads, app.conf.num_processes) == (6, 5, 3)
        assert app.conf.log_format == "json"
    finally:
        app.close()


def test_config_filepath_argument_of_the_app(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    file = write(tmp_path / "c.json", json.dumps({"app_id": "from-file", "backend_url": "memory:", "max_threads": 8}))
    app = Pynenc(config_filepath=str(file), config_values={"logging_level": "warning"})
    try:
        assert (app.app_id, app.conf.max_threads) == ("from-file", 8)
    finally:
        app.close()


def test_values_are_coerced_from_strings(tmp_path: Path) -> None:
    env = {
        "PYNENC__DEV_MODE_FORCE_SYNC_TASKS": "True",
        "PYNENC__RUNNER_DEAD_AFTER_S": "2.5",
        "PYNENC__QUEUES": "high, low",
        "PYNENC__RUNNER_CLS": "ProcessRunner",
    }
    conf = conf_of(tmp_path, env)
    assert conf.dev_mode_force_sync_tasks is True
    assert conf.runner_dead_after_s == 2.5
    assert conf.queues == ("high", "low")
    assert conf.runner_cls == "ProcessRunner"


# --- bad values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PYNENC__MAX_THREADS", "abc", "integer"),
        ("PYNENC__MAX_THREADS", "-1", "negative"),
        ("PYNENC__MAX_BATCH", "-1", "negative"),
        ("PYNENC__RUNNER_DEAD_AFTER_S", "soon", "number"),
        ("PYNENC__RUNNER_CLS", "Nope", "ThreadRunner"),
        ("PYNENC__SERIALIZER", "yaml", "pickle"),
        ("PYNENC__DEV_MODE_FORCE_SYNC_TASKS", "maybe", "true or false"),
    ],
)
def test_bad_environment_value_names_the_variable(tmp_path: Path, variable: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        conf_of(tmp_path, {variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value) and repr(value) in str(info.value)
    assert expected in str(info.value)


def test_batches_can_be_turned_off_and_not_set_below_zero(tmp_path: Path) -> None:
    assert conf_of(tmp_path, {"PYNENC__MAX_BATCH": "0"}).max_batch == 0
    assert PynencConfig().max_batch == 16
    with pytest.raises(ConfigError, match="max_batch=-2 is not valid"):
        PynencConfig(max_batch=-2)


def test_unknown_environment_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        conf_of(tmp_path, {"PYNENC__FOO": "1"})
    assert info.value.variable == "PYNENC__FOO"
    assert "PYNENC__FOO" in str(info.value) and "PYNENC__MAX_THREADS" in str(info.value)


def test_unrelated_environment_variables_are_ignored(tmp_path: Path) -> None:
    assert conf_of(tmp_path, {"PYNENCX": "1", "PATH": "/bin", "PYNENC_FOO": "1"}) == PynencConfig()


def test_bad_file_value_names_the_file_key(tmp_path: Path) -> None:
    file = write(tmp_path / "c.yaml", "max_threads: many\n")
    with pytest.raises(ConfigError) as info:
        conf_of(tmp_path, config_filepath=file)
    assert "max_threads" in str(info.value) and "c.yaml" in str(info.value)


def test_unknown_file_key_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.pynenc]\nmax_thread = 2\n")
    with pytest.raises(ConfigError, match="max_thread"):
        conf_of(tmp_path)


def test_missing_and_unparsable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        conf_of(tmp_path, config_filepath=tmp_path / "nope.yaml")
    broken = write(tmp_path / "broken.json", "{not json")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        conf_of(tmp_path, config_filepath=broken)


def test_float_for_an_integer_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_threads"):
        conf_of(tmp_path, values={"max_threads": 2.5})


def test_unknown_constructor_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_thread"):
        conf_of(tmp_path, values={"max_thread": 2})


def test_bad_environment_value_fails_when_building_the_app(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("PYNENC__MAX_THREADS", "abc")
    with pytest.raises(ConfigError, match="PYNENC__MAX_THREADS"):
        Pynenc(config_values={"backend_url": "memory:"})


def test_bad_logging_level_is_refused(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    with pytest.raises(ConfigError, match="logging_level"):
        Pynenc(config_values={"backend_url": "memory:", "logging_level": "loud"})


# --- per-task settings ---------------------------------------------------------------------------


def test_task_settings_precedence(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)

    def plain(x: int) -> int:
        return x

    def decorated(x: int) -> int:
        return x

    def overridden(x: int) -> int:
        return x

    clean_env.setenv("PYNENC__TASK__MAX_RETRIES", "1")
    clean_env.setenv(f"PYNENC__TASK__{config_key_of(overridden)}__MAX_RETRIES", "5")
    clean_env.setenv(f"PYNENC__TASK__{config_key_of(overridden)}__QUEUE", "special")
    app = Pynenc(config_values={"backend_url": "memory:", "logging_level": "warning"})
    try:
        assert app.task(plain).options.max_retries == 1  # app-wide task default
        assert app.task(max_retries=3)(decorated).options.max_retries == 3  # decorator beats default
        options = app.task(max_retries=3, queue="q")(overridden).options
        assert (options.max_retries, options.queue) == (5, "special")  # task-specific beats decorator
    finally:
        app.close()


def test_task_settings_from_a_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)

    def job(x: int) -> int:
        return x

    file = write(
        tmp_path / "c.yaml",
        f"backend_url: 'memory:'\ntask:\n  max_retries: 2\n  '{config_key_of(job)}':\n    priority: 9\n",
    )
    app = Pynenc(config_filepath=str(file), config_values={"logging_level": "warning"})
    try:
        options = app.task(job).options
        assert (options.max_retries, options.priority) == (2, 9)
    finally:
        app.close()


def test_task_defaults_in_constructor_values(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("PYNENC__TASK__MAX_RETRIES", "1")
    app = Pynenc(config_values={"backend_url": "memory:", "logging_level": "warning", "task": {"max_retries": 4}})
    try:
        assert app.task(lambda: None).options.max_retries == 4
    finally:
        app.close()


def test_bad_task_setting_in_environment_names_the_field(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)

    def job(x: int) -> int:
        return x

    clean_env.setenv(f"PYNENC__TASK__{config_key_of(job)}__MAX_RETRIES", "lots")
    app = Pynenc(config_values={"backend_url": "memory:", "logging_level": "warning"})
    try:
        with pytest.raises(InvalidTaskOptionsError) as info:
            app.task(job)
        assert "max_retries" in str(info.value) and "'lots'" in str(info.value)
        assert config_key_of(job) in str(info.value)
    finally:
        app.close()


# --- what is shown -------------------------------------------------------------------------------


def test_public_dict_masks_the_secret_and_redacts_url_passwords(tmp_path: Path) -> None:
    values = {
        "serializer_secret": "hunter2",
        "backend_url": "redis://user:pw-backend@cache:6379/0",
        "broker_url": "amqp://guest:pw-broker@mq:5672/%2F",
    }
    conf = conf_of(tmp_path, values=values)
    public = conf.public_dict()
    assert public["serializer_secret"] == "***"
    assert public["backend_url"] == "redis://user:***@cache:6379/0"
    assert public["broker_url"] == "amqp://guest:***@mq:5672/%2F"
    assert public["max_threads"] == 4
    shown = json.dumps(public, default=str)
    for secret in ("hunter2", "pw-backend", "pw-broker"):
        assert secret not in shown


def test_config_and_app_reprs_hide_secrets(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    values = {"serializer_secret": "hunter2", "backend_url": "redis://user:pw-backend@cache:6379/0"}
    app = Pynenc(config_values={**values, "logging_level": "warning"})  # redis is never contacted here
    for text in (repr(app.conf), str(app.conf), repr(app)):
        assert "hunter2" not in text and "pw-backend" not in text
    assert "cache:6379" in repr(app)


def test_empty_secret_is_not_masked(tmp_path: Path) -> None:
    assert conf_of(tmp_path).public_dict()["serializer_secret"] == ""
