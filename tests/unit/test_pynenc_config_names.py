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
