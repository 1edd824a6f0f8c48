"""Log lines a test reads back: pynenc's logger does not propagate, so pytest's ``caplog`` misses them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class LogLines(logging.Handler):
    """Every record at ``level`` or above, as its message (``formatted``: as its full formatted line)."""

    def __init__(self, level: int = logging.WARNING, *, formatted: bool = False) -> None:
        super().__init__(level)
        self.formatted = formatted
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record) if self.formatted else record.getMessage())
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is not the test's to judge
            pass


@contextlib.contextmanager
def capturing(handler: LogLines, *names: str) -> Iterator[LogLines]:
    """``handler`` on the named loggers (``""``: the root) for the block."""
    loggers = [logging.getLogger(name) for name in names or ("pynenc",)]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
