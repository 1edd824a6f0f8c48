"""``pynenc`` finds the user's app: ``--app`` in every form, auto-discovery, and clear errors."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pynenc_nb.records import new_id
from tests.e2e.support import PYNENC_SCRIPT, PYTHON_M, TIMEOUT_S, cli_runner, run_cli
from tests.support.oracle import assert_histories_valid
from tests.support.processes import ROOT

USER_APP = """from pynenc_nb import Pynenc

app = Pynenc()


@app.task
def double(x: int) -> int:
    return 2 * x
"""


@pytest.fixture
def user_app(shared_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A user's ``.py`` file with one app, alone in ``tmp_path``, imported here as the user would."""
    name = f"user_app_{new_id()[:8]}"
    (tmp_path / f"{name}.py").write_text(USER_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    monkeypatch.setitem(sys.modules, name, module)  # forgotten after the test
    yield module
    try:
        assert_histories_valid(module.app)
    finally:
        module.app.close()


APP_FORMS: dict[str, Callable[[Path, str], str]] = {
    "file": lambda folder, name: str(folder / f"{name}.py"),
    "file:attr": lambda folder, name: f"{folder / name}.py:app",
    "module:attr": lambda folder, name: f"{name}:app",
    "module.attr": lambda folder, name: f"{name}.app",
    "module": lambda folder, name: name,
}


@pytest.mark.parametrize("form", list(APP_FORMS))
def test_runner_start_finds_the_app_from_every_app_form(
    user_app: ModuleType, shared_env: dict[str, str], tmp_path: Path, form: str
) -> None:
    spec = APP_FORMS[form](tmp_path, user_app.__name__)
    # A file path works from anywhere; a module name is found from the folder the user is in.
    cwd = ROOT if form.startswith("file") else tmp_path
    with cli_runner(user_app.app, shared_env, "--app", spec, "runner", "start", cwd=cwd):
        assert user_app.double(21).result_or(TIMEOUT_S) == 42


def test_console_script_runs_a_runner_like_python_m(
    user_app: ModuleType, shared_env: dict[str, str], tmp_path: Path
) -> None:
    spec = str(tmp_path / f"{user_app.__name__}.py")
    with cli_runner(user_app.app, shared_env, "--app", spec, "runner", "start", command=[str(PYNENC_SCRIPT)]):
        assert user_app.double(4).result_or(TIMEOUT_S) == 8


def test_runner_start_discovers_the_only_app_in_the_folder(
    user_app: ModuleType, shared_env: dict[str, str], tmp_path: Path
) -> None:
    with cli_runner(user_app.app, shared_env, "runner", "start", cwd=tmp_path):
        assert user_app.double(5).result_or(TIMEOUT_S) == 10


def test_show_config_discovers_the_only_app_in_the_folder(tmp_path: Path, shared_env: dict[str, str]) -> None:
    (tmp_path / "tasks.py").write_text('from pynenc_nb import Pynenc\n\napp = Pynenc(app_id="found-by-discovery")\n')
    (tmp_path / "notes.py").write_text("print('not an app, never imported')\n")

    done = run_cli("show_config", env=shared_env, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "found-by-discovery" in done.stdout
    assert "never imported" not in done.stdout


def _two_apps(folder: Path) -> None:
    for name in ("first", "second"):
        (folder / f"{name}.py").write_text(f'from pynenc_nb import Pynenc\n\napp = Pynenc(app_id="{name}")\n')


ERROR_CASES = {
    "no app here": ((), None, "no Pynenc app found"),
    "two apps here": ((), _two_apps, "several apps found (first.app, second.app)"),
    "missing module": (("--app", "no_such_module_e2e:app"), None, "cannot import the app module 'no_such_module_e2e'"),
    "missing dotted module": (("--app", "no_such_module_e2e.app"), None, "cannot import the app module"),
    "missing file": (("--app", "/no/such/folder/app.py"), None, "no such file"),
    "attribute not an app": (("--app", "tests.support.tasks_app:add"), None, "tasks_app.add is not a Pynenc app"),
    "dotted attribute not an app": (("--app", "tests.support.tasks_app.add"), None, "is not a Pynenc app"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
@pytest.mark.parametrize("command", ["status", "runner start"])
def test_app_resolution_errors_exit_2_with_a_message(
    tmp_path: Path, shared_env: dict[str, str], case: str, command: str
) -> None:
    app_args, prepare, message = ERROR_CASES[case]
    if prepare is not None:
        prepare(tmp_path)

    done = run_cli(*app_args, *command.split(), env=shared_env, cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr.startswith("pynenc: error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_runner_start_refuses_a_memory_backend(shared_env: dict[str, str]) -> None:
    env = {**shared_env, "PYNENC__BACKEND_URL": "memory:"}

    done = run_cli("--app", "tests.support.tasks_app:app", "runner", "start", env=env)

    assert done.returncode == 2
    assert "lives in this process only" in done.stderr and "Traceback" not in done.stderr


def test_runner_start_refuses_an_unknown_runner_class(shared_env: dict[str, str]) -> None:
    done = run_cli(
        "--app", "tests.support.tasks_app:app", "runner", "start", "--runner-cls", "FastRunner", env=shared_env
    )

    assert done.returncode == 2
    assert "FastRunner" in done.stderr and "ThreadRunner" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_m_prints_the_same_as_the_console_script(shared_env: dict[str, str]) -> None:
    for args in (("--help",), ("status", "render", "--mermaid")):
        via_module = run_cli(*args, env=shared_env, command=PYTHON_M)
        via_script = run_cli(*args, env=shared_env, command=[str(PYNENC_SCRIPT)])

        assert via_module.returncode == via_script.returncode == 0
        assert via_module.stdout == via_script.stdout and via_module.stdout
