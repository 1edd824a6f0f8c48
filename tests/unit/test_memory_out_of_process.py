"""A ``memory:`` backend lives in one process: asking it to serve other processes is a ConfigError."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_nb import (
    BaseRunner,
    ConfigError,
    MultiThreadRunner,
    PersistentProcessRunner,
    ProcessRunner,
    Pynenc,
    ThreadRunner,
)
from pynenc_nb.cli import main
from pynenc_nb.records import new_id


def assert_tells_to_use_a_shared_backend(message: str) -> None:
    assert "SQLite" in message and "Redis" in message
    assert "memory:" in message


def test_require_shared_backend_on_memory(memory_app: Pynenc) -> None:
    with pytest.raises(ConfigError) as info:
        memory_app.require_shared_backend("a ProcessRunner")
    assert info.value.variable == "backend_url"
    assert "a ProcessRunner" in str(info.value)
    assert_tells_to_use_a_shared_backend(str(info.value))


def test_require_shared_backend_on_sqlite_is_fine(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    app = Pynenc(config_values={"backend_url": f"sqlite://{tmp_path / 'a.db'}", "logging_level": "warning"})
    try:
        app.require_shared_backend("a ProcessRunner")
    finally:
        app.close()


@pytest.mark.parametrize("runner_cls", [ProcessRunner, PersistentProcessRunner, MultiThreadRunner])
def test_process_runners_refuse_a_memory_app(memory_app: Pynenc, runner_cls: type[BaseRunner]) -> None:
    runner = runner_cls(memory_app)
    with pytest.raises(ConfigError) as info:
        runner.run()
    assert runner_cls.__name__ in str(info.value)
    assert_tells_to_use_a_shared_backend(str(info.value))
    assert memory_app.state_backend.runners(include_stopped=True) == []  # refused before registering


def test_thread_runner_accepts_a_memory_app(memory_app: Pynenc) -> None:
    runner = ThreadRunner(memory_app, max_threads=1)
    thread = runner.start_in_thread()
    try:
        task = memory_app.task(lambda: 7)
        assert task().result_or(60.0) == 7
    finally:
        runner.stop(timeout=30)
    assert not thread.is_alive()


@pytest.fixture
def memory_app_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: pytest.MonkeyPatch) -> Iterator[Path]:
    """A module defining one app on ``memory:``; removed from ``sys.modules`` afterwards."""
    module_name = f"memapp_{new_id()[:8]}"
    file = tmp_path / f"{module_name}.py"
    file.write_text(
        "from pynenc_nb import Pynenc\n"
        "app = Pynenc(config_values={'backend_url': 'memory:', 'app_id': 'memcli', 'logging_level': 'warning'})\n"
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield file
    module = sys.modules.pop(module_name, None)
    if module is not None:
        module.app.close()


@pytest.mark.parametrize("extra", [[], ["--runner-cls", "ProcessRunner"], ["--runner-cls", "ThreadRunner"]])
def test_cli_runner_start_on_a_memory_app_exits_2(
    memory_app_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code = main(["--app", str(memory_app_file), "runner", "start", *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("pynenc: error:")
    assert_tells_to_use_a_shared_backend(captured.err)
