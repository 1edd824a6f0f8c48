"""Writes the example notebooks from this source, so their code is reviewed as code.

Run ``python tools/make_notebooks.py`` after editing; the test suite executes every notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def engine_basics() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# The engine in a notebook\n\n"
            "Tasks defined in cells, a `ThreadRunner` inside this kernel, and the embedded SQLite backend "
            "(`.pynenc/engine_basics.db` next to the notebook). Runners in other processes and kernels "
            "(`%pynenc runner start`) come with the notebook layer."
        ),
        new_code_cell(
            "%load_ext pynenc_nb\n"
            "from pynenc_nb import Pynenc, RetryError, ThreadRunner\n\n"
            'app = Pynenc(app_id="engine_basics")\n'
            "app.purge()  # start from an empty history each time the notebook runs"
        ),
        new_code_cell(
            "@app.task\n"
            "def add(x: int, y: int) -> int:\n"
            "    return x + y\n\n\n"
            "@app.task(max_retries=2)\n"
            "def needs_retries(times: int) -> str:\n"
            "    from pynenc_nb import context\n"
            "    done = context.current().record.num_retries\n"
            "    if done < times:\n"
            '        raise RetryError(f"attempt {done + 1} is too early")\n'
            '    return f"done after {done} retries"\n\n\n'
            "@app.task\n"
            "def divide(x: float, y: float) -> float:\n"
            "    return x / y"
        ),
        new_code_cell("runner = ThreadRunner(app, max_threads=2)\nrunner.start_in_thread();"),
        new_code_cell("inv = add(1, 2)\nassert inv.result == 3\ninv"),
        new_code_cell(
            "group = add.parallelize([(i, i) for i in range(20)])\n"
            "results = sorted(group.results)\n"
            "assert results == [2 * i for i in range(20)]\n"
            "group"
        ),
        new_code_cell("needs_retries(2).result"),
        new_code_cell(
            "try:\n"
            "    divide(1, 0).result\n"
            "except ZeroDivisionError as error:\n"
            '    print("raised in the caller with its original type:", repr(error))\n'
            "    print(error.__notes__[0].splitlines()[-1])"
        ),
        new_code_cell("%pynenc status"),
        new_code_cell("runner.stop()"),
    ]
    return new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )


def main() -> None:
    NOTEBOOKS.mkdir(exist_ok=True)
    nbformat.write(engine_basics(), NOTEBOOKS / "00_engine_basics.ipynb")


if __name__ == "__main__":
    main()
