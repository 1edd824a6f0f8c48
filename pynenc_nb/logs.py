"""Log lines in pynenc's text format, or one JSON object per line.

Text: ``<timestamp> LEVEL pynenc.<app_id> [<runner> <invocation id>:<task>] message`` — the
bracket holds whatever context is known, so the log explorer can resolve runners and invocations.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pynenc_nb import context
from pynenc_nb.conf.urls import redact_text

if TYPE_CHECKING:
    from pynenc_nb.conf import PynencConfig

_HANDLER_NAME = "pynenc_nb"
# The lowest level the console handler shows. In a notebook kernel, WARNING: runners there log
# their INFO lines to their own log file (``add_runner_log_file``), not into the cells' output.
_console_level = logging.NOTSET


def _context_label(fields: dict[str, str | None]) -> str:
    parts = []
    if fields["runner"]:
        parts.append(str(fields["runner"]))
    if fields["invocation_id"]:
        parts.append(f"{fields['invocation_id']}:{fields['task_id']}")
    return f"[{' '.join(parts)}] " if parts else ""


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = context.log_fields()
        message = redact_text(record.getMessage())
        line = f"{_timestamp(record)} {record.levelname} {record.name} {_context_label(fields)}{message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            **context.log_fields(),
            "message": redact_text(record.getMessage()),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging(conf: PynencConfig) -> None:
    """One handler on the ``pynenc`` logger, with the level and format of ``conf``.

    Called by whoever runs things in this process (the CLI, a runner's ``run()``, ``%load_ext``),
    never by building an app: the last call wins, and building an app must not change logging.
    """
    logger = logging.getLogger("pynenc")
    handler = next((h for h in logger.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        logger.addHandler(handler)
        logger.propagate = False
    handler.setFormatter(_formatter(conf))
    handler.setLevel(_console_level)
    logger.setLevel(conf.logging_level.upper())  # validated by PynencConfig


def _formatter(conf: PynencConfig) -> logging.Formatter:
    return JsonFormatter() if conf.log_format == "json" else TextFormatter()


def set_console_level(level: str) -> None:
    """The lowest level pynenc's console handler shows from now on (``%load_ext``: WARNING)."""
    global _console_level
    _console_level = logging.getLevelName(level.upper())
    for handler in logging.getLogger("pynenc").handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.setLevel(_console_level)


class _OfRunner(logging.Filter):
    """Lines logged in a runner's context: its workers, its loop and its services."""

    def __init__(self, runner_id: str) -> None:
        super().__init__()
        self.runner_id = runner_id

    def filter(self, record: logging.LogRecord) -> bool:
        return bool(context.log_fields()["runner_id"] == self.runner_id)


def add_runner_log_file(path: str, runner_id: str, conf: PynencConfig) -> logging.Handler:
    """Write a runner's lines, in the app's format, to ``path`` (a runner living in a notebook
    kernel, whose console shows only warnings); remove the handler with ``remove_handler``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(_formatter(conf))
    handler.addFilter(_OfRunner(runner_id))
    logging.getLogger("pynenc").addHandler(handler)
    return handler


def remove_handler(handler: logging.Handler) -> None:
    logging.getLogger("pynenc").removeHandler(handler)
    handler.close()
