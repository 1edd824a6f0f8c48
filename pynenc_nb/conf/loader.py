"""Reads configuration sources and coerces raw values to the typed fields.

A bad value raises :class:`ConfigError` naming where it came from (the environment variable, the
file key), the value and what is allowed.
"""

from __future__ import annotations

import json
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pynenc_nb.conf.pynenc_names import TASK_OPTION_NAMES, VALUE_SPELLINGS, is_pynenc_name, nearest, translate
from pynenc_nb.conf.settings import CONFIG_FIELDS, PynencConfig
from pynenc_nb.exceptions import ConfigError

ENV_PREFIX = "PYNENC__"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_HINTS = typing.get_type_hints(PynencConfig)


def coerce(value: Any, hint: Any, source: str) -> Any:
    """Turn ``value`` (often a string from the environment) into ``hint``, or say what is wrong."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value in choices:
            return value
        raise ConfigError(
            f"{source}={value!r} is not valid: expected one of {', '.join(map(repr, choices))}",
            variable=source,
            value=value,
        )
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{source}={value!r} is not valid: expected true or false", variable=source, value=value)
    if hint in (int, float):
        if isinstance(value, bool) or (hint is int and isinstance(value, float) and not value.is_integer()):
            kind = "an integer" if hint is int else "a number"
            raise ConfigError(f"{source}={value!r} is not valid: expected {kind}", variable=source, value=value)
        try:
            number = hint(value)
        except (TypeError, ValueError):
            kind = "an integer" if hint is int else "a number"
            raise ConfigError(
                f"{source}={value!r} is not valid: expected {kind}", variable=source, value=value
            ) from None
        if number < 0:
            raise ConfigError(f"{source}={value!r} is not valid: must not be negative", variable=source, value=value)
        return number
    if hint is str:
        if isinstance(value, str | int | float):
            return str(value)
        raise ConfigError(f"{source}={value!r} is not valid: expected a string", variable=source, value=value)
    if origin is tuple:
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, list | tuple):
            items = [str(v) for v in value]
        else:
            raise ConfigError(
                f"{source}={value!r} is not valid: expected a comma-separated list", variable=source, value=value
            )
        if not items:
            raise ConfigError(f"{source} must not be empty", variable=source, value=value)
        return tuple(items)
    if origin is dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"{source} must be a JSON object", variable=source, value=value) from None
        if not isinstance(value, dict):
            raise ConfigError(f"{source} must be a mapping", variable=source, value=value)
        return dict(value)
    return value


def read_file(path: str | Path) -> dict[str, Any]:
    """A YAML, TOML or JSON config file; a pyproject.toml contributes its ``[tool.pynenc]`` table."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(file)!r} does not exist", variable="config_filepath", value=str(file))
    text = file.read_text()
    try:
        if file.suffix == ".toml":
            data: Any = tomllib.loads(text)
            if file.name == "pyproject.toml":
                data = data.get("tool", {}).get("pynenc", {})
        elif file.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {str(file)!r} cannot be parsed: {exc}", variable="config_filepath") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(file)!r} must hold a mapping of settings", variable="config_filepath")
    return data


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _flatten(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Accept flat keys and one level of sections (``[tool.pynenc.runner] max_threads = 4``)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = key.lower()
        if name == "task" and isinstance(value, Mapping) and isinstance(flat.get("task"), dict):
            flat["task"] = {**flat["task"], **value}
        elif name == "task":
            flat["task"] = value
        elif name in TASK_OPTION_NAMES:  # pynenc reads task options app-wide: the defaults of every task
            flat.setdefault("task", {}).setdefault("*", {})[name] = value
        elif name in CONFIG_FIELDS:
            flat[name] = value
        elif is_pynenc_name(name):
            if (translated := translate(name, value, source)) is not None:
                flat[translated[0]] = translated[1]
        elif isinstance(value, Mapping):
            for sub, sub_value in value.items():
                if sub.lower() in CONFIG_FIELDS:
                    flat[sub.lower()] = sub_value
                elif sub.lower() in TASK_OPTION_NAMES:
                    flat.setdefault("task", {}).setdefault("*", {})[sub.lower()] = sub_value
                elif is_pynenc_name(sub.lower()):
                    if (translated := translate(sub.lower(), sub_value, source)) is not None:
                        flat[translated[0]] = translated[1]
                else:
                    raise ConfigError(
                        f"{source}: unknown setting {key}.{sub}{nearest(sub.lower(), CONFIG_FIELDS)}",
                        variable=f"{key}.{sub}",
                    )
        else:
            raise ConfigError(
                f"{source}: unknown setting {key!r}{nearest(name, CONFIG_FIELDS)}", variable=key, value=value
            )
    return flat


def env_values(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """App settings from ``PYNENC__FIELD`` / ``PYNENC__SECTION__FIELD``, task settings from ``PYNENC__TASK__…``.

    Returns (app values keyed by field, task values keyed by ``module#func`` or ``*`` for defaults).
    """
    values: dict[str, Any] = {}
    tasks: dict[str, dict[str, str]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "PYNENC__FILEPATH":
            continue
        parts = name[len(ENV_PREFIX) :].split("__")
        if parts[0].upper() == "TASK" and len(parts) >= 2:
            # PYNENC__TASK__<FIELD> or PYNENC__TASK__<module#func>__<FIELD>; the scope may itself
            # hold "__" (tasks of __main__, defined in a notebook), the field never does
            scope, _, option = name[len(ENV_PREFIX) + len("TASK__") :].rpartition("__")
            tasks.setdefault(scope or "*", {})[option.lower()] = raw
            continue
        field = parts[-1].lower()
        if parts[0].upper() == "CONFIGTASK" and len(parts) >= 2:  # pynenc's PYNENC__CONFIGTASK__...
            scope, _, option = name[len(ENV_PREFIX) + len("CONFIGTASK__") :].rpartition("__")
            tasks.setdefault(scope or "*", {})[option.lower()] = raw
            continue
        if field not in CONFIG_FIELDS and field in TASK_OPTION_NAMES and len(parts) <= 2:
            tasks.setdefault("*", {})[field] = raw  # PYNENC__MAX_RETRIES: every task's default
            continue
        if field not in CONFIG_FIELDS and is_pynenc_name(field) and len(parts) <= 2:
            if (translated := translate(field, raw, name)) is not None:
                values[translated[0]] = (name, translated[1])
            continue
        if field not in CONFIG_FIELDS or len(parts) > 2:
            raise ConfigError(
                f"{name} is not a pynenc_nb setting{nearest(field, CONFIG_FIELDS)}; known settings: "
                + ", ".join(f"PYNENC__{f.upper()}" for f in CONFIG_FIELDS if f != "task"),
                variable=name,
                value=raw,
            )
        values[field] = (name, raw)
    return values, tasks


def load_config(
    values: Mapping[str, Any] | None = None,
    config_filepath: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[PynencConfig, dict[str, dict[str, Any]]]:
    """Merge every source; return the config and the per-task option overrides (``module#func``)."""
    environ = os.environ if environ is None else environ
    merged: dict[str, tuple[str, Any]] = {}
    task_overrides: dict[str, dict[str, Any]] = {}

    def take(data: Mapping[str, Any], source: str) -> None:
        for key, value in _flatten(data, source).items():
            if key == "task":
                _merge_task_section(task_overrides, value, source)
            else:
                merged[key] = (f"{source}:{key}", value)

    pyproject = find_pyproject(cwd or Path.cwd())
    if pyproject is not None:
        take(read_file(pyproject), str(pyproject))
    filepath = config_filepath or environ.get("PYNENC__FILEPATH")
    if filepath:
        take(read_file(filepath), str(filepath))
    env, env_tasks = env_values(environ)
    merged.update(env)
    for scope, options in env_tasks.items():
        task_overrides.setdefault(scope, {}).update(options)
    for key, value in (values or {}).items():
        if key not in CONFIG_FIELDS and key in TASK_OPTION_NAMES:
            task_overrides.setdefault("*", {})[key] = value
            continue
        if key not in CONFIG_FIELDS and is_pynenc_name(key):
            if (translated := translate(key, value, "config_values")) is not None:
                merged[translated[0]] = (key, translated[1])
            continue
        if key not in CONFIG_FIELDS:
            raise ConfigError(
                f"unknown setting {key!r}{nearest(key, CONFIG_FIELDS)}; known settings: {', '.join(CONFIG_FIELDS)}",
                variable=key,
                value=value,
            )
        if key == "task":
            _merge_task_section(task_overrides, value, "config_values")
        else:
            merged[key] = (key, value)
    typed = {
        key: coerce(VALUE_SPELLINGS[key](value) if key in VALUE_SPELLINGS else value, _HINTS[key], source)
        for key, (source, value) in merged.items()
    }
    typed["task"] = task_overrides
    return PynencConfig(**typed), task_overrides


def _merge_task_section(target: dict[str, dict[str, Any]], section: Any, source: str) -> None:
    """``task: {max_retries: 2, "mod#func": {max_retries: 5}}``: defaults plus per-task entries."""
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: the task section must be a mapping", variable="task")
    for key, value in section.items():
        if isinstance(value, Mapping):
            target.setdefault(key, {}).update(value)
        else:
            target.setdefault("*", {})[key] = value
