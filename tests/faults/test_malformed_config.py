"""Malformed settings, for every field of every type: a ``ConfigError`` naming the variable, the
value and what is allowed, from the environment and from the CLI (which exits non-zero)."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from pynenc_nb.conf.loader import load_config
from pynenc_nb.conf.settings import CONFIG_FIELDS, PynencConfig
from pynenc_nb.exceptions import ConfigError
from tests.support.processes import ROOT

HINTS = typing.get_type_hints(PynencConfig)
BAD_BY_KIND = {"int": "twelve", "float": "fast", "bool": "maybe", "Literal": "no-such-choice"}
EXPECTED_BY_KIND = {"int": "expected an integer", "float": "expected a number", "bool": "expected true or false"}


def _kind(name: str) -> str | None:
    hint = HINTS[name]
    if typing.get_origin(hint) is typing.Literal:
        return "Literal"
    return {int: "int", float: "float", bool: "bool"}.get(hint)


FIELDS = sorted(name for name in CONFIG_FIELDS if _kind(name) is not None)


@pytest.mark.parametrize("name", FIELDS)
def test_a_malformed_value_of_every_field_names_the_variable_value_and_what_is_allowed(
    name: str, tmp_path: Path
) -> None:
    kind = _kind(name)
    assert kind is not None
    value = BAD_BY_KIND[kind]
    variable = f"PYNENC__{name.upper()}"
    with pytest.raises(ConfigError) as raised:
        load_config(environ={variable: value}, cwd=tmp_path)
    message = str(raised.value)
    assert variable in message and repr(value) in message
    if kind == "Literal":
        choices = typing.get_args(HINTS[name])
        assert all(repr(choice) in message for choice in choices), message
    else:
        assert EXPECTED_BY_KIND[kind] in message


def test_every_typed_field_is_covered() -> None:
    untyped = sorted(n for n in CONFIG_FIELDS if _kind(n) is None)
    # Text, lists and the task section take any string: what they accept is checked where used.
    assert untyped == [
        "app_id",
        "backend_url",
        "broker_url",
        "logging_level",
        "queues",
        "serializer_secret",
        "task",
        "trigger_task_modules",
    ]


def test_a_logging_level_that_is_not_one_names_the_levels(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"logging_level='chatty' is not valid: use debug, info, warning"):
        load_config(environ={"PYNENC__LOGGING_LEVEL": "chatty"}, cwd=tmp_path)


def test_the_cli_exits_non_zero_naming_the_variable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pynenc_nb", "--app", "tests.support.tasks_app:app", "runner", "start"],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PYNENC__BACKEND_URL": f"sqlite://{tmp_path / 'x.db'}",
            "PYNENC__MAX_THREADS": "lots",
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT),
    )
    assert done.returncode != 0
    assert "PYNENC__MAX_THREADS" in done.stderr + done.stdout and "'lots'" in done.stderr + done.stdout
