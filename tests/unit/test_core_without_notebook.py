"""The engine runs where no notebook library is installed: its core imports no UI code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ("IPython", "ipywidgets", "plotly", "anywidget")

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = {blocked!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None

    sys.meta_path.insert(0, Block())

    import pynenc_nb
    from pynenc_nb import Pynenc, ThreadRunner

    app = Pynenc(config_values={{"app_id": "no-ui", "backend_url": "memory:", "logging_level": "warning"}})

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    runner = ThreadRunner(app)
    runner.start_in_thread()
    try:
        assert add(2, 3).result_or(30) == 5
        assert "<table" in add(1, 1)._repr_html_()
    finally:
        runner.stop()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not loaded, loaded
    print("ok")
    """
).format(blocked=BLOCKED)


def test_pynenc_nb_and_a_thread_runner_work_with_the_notebook_libraries_blocked() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
