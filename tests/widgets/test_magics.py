"""``%pynenc timeline | tree | monitor`` in IPython's in-process shell, and what they parse."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.terminal.interactiveshell import TerminalInteractiveShell
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output

from kernel_magics.magics import PynencMagics
from kernel_magics.session import NotebookSession
from pynenc_nb import InvocationNotFoundError, Pynenc
from pynenc_nb.exceptions import InvalidMonitorQueryError
from pynenc_nb.records import new_id
from pynenc_nb.widgets import FamilyTree, MonitorPanel, Timeline
from pynenc_nb.widgets.window import parse_duration
from tests.widgets.support import PLOTLY_MIME


@pytest.fixture
def ip() -> Iterator[Any]:
    """The shared in-process shell with the extension loaded, a fresh session, and an app ``app``
    (memory backend) with a task ``add`` and one invocation ``inv``."""
    shell = start_ipython() or TerminalInteractiveShell.instance()
    assert shell.run_cell("%load_ext pynenc_nb").success
    shell.register_magics(PynencMagics(shell))
    before = set(shell.user_ns)
    code = (
        "from pynenc_nb import Pynenc\n"
        f"app = Pynenc(app_id='widgets-{new_id()[:8]}', config_values={{'backend_url': 'memory:', 'logging_level': 'warning'}})\n"
        "@app.task\n"
        "def add(a, b):\n"
        "    return a + b\n"
        "inv = add(1, 2)\n"
        "not_an_invocation = 5\n"
    )
    result = shell.run_cell(code)
    assert result.success, result.error_in_exec
    yield shell
    app = shell.user_ns["app"]
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
    app.close()


def magic(ip: Any, line: str) -> Any:
    return ip.run_line_magic("pynenc", line)


@pytest.mark.parametrize(
    "text, seconds", [("30s", 30), ("10m", 600), ("10min", 600), ("1.5h", 5400), ("2d", 172800), ("600", 600)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten", "-5m", "10y", "", "m"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(InvalidMonitorQueryError, match="expected a duration such as 30s, 10m"):
        parse_duration(text)


def test_timeline_since_ten_minutes_is_live_by_default(ip: Any) -> None:
    began = time.time()
    timeline = magic(ip, "timeline --since 10m")
    assert isinstance(timeline, Timeline) and timeline.live and timeline.app is ip.user_ns["app"]
    assert timeline.start_time is not None and began - 600 - 1 <= timeline.start_time <= time.time() - 600
    assert timeline.task_id is None


def test_timeline_no_live_and_a_task_by_its_short_name(ip: Any) -> None:
    timeline = magic(ip, "timeline --since 90s --no-live --task add")
    assert not timeline.live
    assert timeline.task_id == ip.user_ns["add"].task_id
    assert timeline.start_time == pytest.approx(time.time() - 90, abs=5)
    assert magic(ip, "timeline --live").live


def test_timeline_in_a_cell_shows_the_static_figure_outside_a_kernel(ip: Any) -> None:
    with capture_output() as captured:
        assert ip.run_cell("%pynenc timeline --no-live").success
    (shown,) = captured.outputs
    queued = next(t for t in shown.data[PLOTLY_MIME]["data"] if t["name"] == "queued")
    assert queued["customdata"][-1] == ip.user_ns["inv"].invocation_id  # the oldest waiting


@pytest.mark.parametrize(
    "line, message",
    [
        ("timeline --since ten", "since='ten': expected a duration such as 30s, 10m"),
        ("timeline --task nope", "no task named 'nope'"),
        ("tree not_an_invocation", "not_an_invocation is a int, not an Invocation"),
    ],
)
def test_bad_arguments_are_usage_errors_saying_what_to_do(ip: Any, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        magic(ip, line)


def test_tree_of_a_variable_holding_an_invocation(ip: Any) -> None:
    inv = ip.user_ns["inv"]
    tree = magic(ip, "tree inv --depth 2")
    assert isinstance(tree, FamilyTree)
    assert (tree.invocation_id, tree.depth, tree.app) == (inv.invocation_id, 2, inv.app)


def test_tree_of_an_id(ip: Any) -> None:
    inv = ip.user_ns["inv"]
    assert magic(ip, f"tree {inv.invocation_id}").invocation_id == inv.invocation_id
    ip.user_ns["some_id"] = inv.invocation_id
    assert magic(ip, "tree some_id").invocation_id == inv.invocation_id


def test_tree_of_an_unknown_id_is_our_error_with_a_clear_message(ip: Any) -> None:
    session = NotebookSession(lambda: ip.user_ns)
    with pytest.raises(InvocationNotFoundError) as error:
        session.tree("0123456789abcdef")
    assert str(error.value) == (
        f"no invocation '0123456789abcdef' in app {ip.user_ns['app'].app_id!r}: pass an invocation id, "
        "or the name of a variable holding an Invocation"
    )
    assert error.value.invocation_id == "0123456789abcdef"  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="no invocation '0123456789abcdef'"):
        magic(ip, "tree 0123456789abcdef")


def test_monitor(ip: Any) -> None:
    monitor = magic(ip, "monitor")
    assert isinstance(monitor, MonitorPanel) and monitor.app is ip.user_ns["app"]


def test_the_widget_magics_need_an_app(ip: Any) -> None:
    app: Pynenc = ip.user_ns.pop("app")
    try:
        with pytest.raises(UsageError, match="no Pynenc app in this notebook yet"):
            magic(ip, "monitor")
    finally:
        ip.user_ns["app"] = app
