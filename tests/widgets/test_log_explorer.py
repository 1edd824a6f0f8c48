"""``LogExplorer(app)`` and ``%pynenc logs``: pasted lines as an escaped table and a mini-timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.display import display
from IPython.utils.capture import CapturedIO

from pynenc_nb import Pynenc
from pynenc_nb.logs import uuid_form
from pynenc_nb.widgets import LogExplorer
from tests.unit.runner_support import running
from tests.widgets.support import PLOTLY_MIME
from tests.widgets.test_magics import ip, magic  # noqa: F401  # the shell fixture

TIMEOUT_S = 60.0


def _ran(app: Pynenc) -> tuple[str, str, str]:
    @app.task
    def shout(text: str) -> str:
        return text.upper()

    with running(app, max_threads=1):
        done = shout("<script>x</script>")
        assert done.result_or(TIMEOUT_S) == "<SCRIPT>X</SCRIPT>"
    runner_id = next(c.runner_id for c in done.history() if c.runner_id)
    assert runner_id is not None
    return done.invocation_id, shout.task_id, runner_id


def _lines(invocation_id: str, task_id: str, runner_id: str) -> str:
    return (
        f"2026-03-05 07:56:08.002+01:00 INFO     pynenc.app [TR({runner_id[:8]}){uuid_form(invocation_id)}:{task_id}] "
        "said <b>hi</b>\n"
        "<img src=x onerror=alert(1)>\n"
    )


def test_without_a_kernel_the_explorer_is_a_static_table_and_figure(app: Pynenc, displayed: CapturedIO) -> None:
    invocation_id, task_id, runner_id = _ran(app)
    display(LogExplorer(app, _lines(invocation_id, task_id, runner_id)))
    (shown,) = displayed.outputs
    page = shown.data["text/html"]
    assert "1 parsed, 1 unparsed" in page and "1 of 1 invocations found" in page
    assert invocation_id[:8] in page and "SUCCESS" in page and "unparsed" in page
    assert "<b>hi</b>" not in page and "&lt;b&gt;hi&lt;/b&gt;" in page and "<img" not in page
    figure = shown.data[PLOTLY_MIME]
    assert any(invocation_id in (trace.get("customdata") or []) for trace in figure["data"])
    assert any(shape.get("name", "").startswith("highlight") for shape in figure["layout"]["shapes"])


def test_the_parse_button_parses_what_was_pasted(app: Pynenc) -> None:
    invocation_id, task_id, runner_id = _ran(app)
    explorer = LogExplorer(app)
    form = explorer.widget()
    area, button, table, figure = form.children
    assert "paste pynenc" in table.value
    area.value = _lines(invocation_id, task_id, runner_id)
    button.click()
    assert explorer.view.parsed == 1 and explorer.view.invocations[0].found
    assert invocation_id[:8] in table.value
    assert any(invocation_id in (trace.get("customdata") or ()) for trace in figure.current["data"])


def test_the_logs_magic_loads_the_tail_of_a_file(ip: Any, tmp_path: Path) -> None:  # noqa: F811
    log = tmp_path / "run.log"
    log.write_text("".join(f"2026-03-05 07:56:0{i}.000+01:00 INFO     pynenc.app line {i}\n" for i in range(5)))
    explorer = magic(ip, f"logs {log} --tail 2")
    assert isinstance(explorer, LogExplorer) and [line.message for line in explorer.view.lines] == ["line 3", "line 4"]
    assert isinstance(magic(ip, "logs"), LogExplorer)
