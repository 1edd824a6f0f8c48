"""A real run logged to a file in our text or JSON format: what users paste into the log explorer."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from pynenc_nb import Pynenc
from pynenc_nb.logs import JsonFormatter, TextFormatter
from tests.unit.runner_support import running

TIMEOUT_S = 60.0


@contextlib.contextmanager
def logged_to(path: Path, log_format: str) -> Iterator[None]:
    """Every ``pynenc`` line at DEBUG, in ``log_format``, written to ``path`` while the block runs."""
    logger = logging.getLogger("pynenc")
    level = logger.level
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)


def run_logged(app: Pynenc, path: Path, log_format: str, min_lines: int = 1000) -> list[str]:
    """Run nested tasks on a 4-thread ThreadRunner until ``path`` holds ``min_lines`` log lines;
    return the invocation ids of the run. The app must log at DEBUG (``logging_level="debug"``)."""

    @app.task
    def square(x: int) -> int:
        square.logger.info("squaring %d", x)
        return x * x

    @app.task
    def total(n: int) -> int:
        total.logger.debug("summing %d squares", n)
        result = sum(square.parallelize([(i,) for i in range(n)]).results)
        total.logger.info("total of %d squares is %d", n, result)
        return result

    ids: list[str] = []
    with logged_to(path, log_format), running(app, max_threads=4):
        while len(path.read_text(encoding="utf-8").splitlines()) < min_lines:
            batch = [total(n) for n in range(3, 9)]
            for invocation in batch:
                invocation.result_or(TIMEOUT_S)
            ids += [invocation.invocation_id for invocation in batch]
    return ids
