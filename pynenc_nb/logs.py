"""Log lines in pynenc's format: plain text, or one JSON object per line.

Text (as pynenc's plain-text formatter writes it)::

    2026-03-05 07:56:07.476+01:00 INFO     pynenc.app [PR(3f2a1b0c).TR(9d8e7f6a)0a1b2c3d-...-...:mod.task] message

local time with its UTC offset and milliseconds, the level padded to eight, the logger, then a
bracket with the compact runner context (class initials and the first 8 characters of the id; a
worker runner inside another shows as ``Parent(id).Child(id)``), the invocation id in UUID form
and ``:`` task id — each part only when known, no bracket when nothing is. JSON carries pynenc's
keys (``timestamp``, ``severity``, ``logger``, ``message``, ``runner_class``, ``runner_id``,
``parent_runner_*``, ``invocation_id``, ``task_id``, ``text``, ``exception``) plus ``hostname``
and ``pid``. ``pynenc_nb.monitor.logs`` parses both, and pynenc's own tools parse ours.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from pynenc_nb import context
from pynenc_nb.conf.urls import redact_text

if TYPE_CHECKING:
    from pynenc_nb.conf import PynencConfig
    from pynenc_nb.records import RunnerContext

_HANDLER_NAME = "pynenc_nb"
# The lowest level the console handler shows. In a notebook kernel, WARNING: runners there log
# their INFO lines to their own log file (``add_runner_log_file``), not into the cells' output.
_console_level = logging.NOTSET
ID_CHARS = 8  # of a runner id in the compact context
# Runner classes by runner id, learnt from the contexts this process formats: a worker runner's
# context names its parent by id only. Unknown parents (a spawned child process) show as ``R``.
_classes: dict[str, str] = {}
UNKNOWN_CLASS = "Runner"


def uuid_form(invocation_id: str) -> str:
    """Our 32-hex ids in pynenc's UUID form (``8-4-4-4-12``); any other id as it is."""
    if len(invocation_id) == 32 and "-" not in invocation_id:
        i = invocation_id
        return f"{i[:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:]}"
    return invocation_id


def compact_class(runner_cls: str) -> str:
    """Class initials, as pynenc abbreviates them: ``PersistentProcessRunner`` -> ``PPR``."""
    return "".join(char for char in runner_cls if char.isupper()) or runner_cls


def _timestamp(record: logging.LogRecord) -> str:
    moment = time.localtime(record.created)
    offset = time.strftime("%z", moment)
    offset = f"{offset[:3]}:{offset[3:]}" if len(offset) >= 5 else ""
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', moment)}.{int(record.msecs):03d}{offset}"


def _runner_text(runner: RunnerContext) -> str:
    own = f"{compact_class(runner.runner_cls)}({runner.runner_id[:ID_CHARS]})"
    if runner.parent_runner_id is None:
        return own
    parent_cls = _classes.get(runner.parent_runner_id, UNKNOWN_CLASS)
    return f"{compact_class(parent_cls)}({runner.parent_runner_id[:ID_CHARS]}).{own}"


class _Context:
    """What is running where this record was logged (read once per record)."""

    __slots__ = ("invocation_id", "runner", "task_id")

    def __init__(self) -> None:
        execution = context.current()
        self.runner = context.current_runner()
        self.invocation_id = execution.record.invocation_id if execution is not None else None
        self.task_id = execution.record.task_id if execution is not None else None
        if self.runner is not None and self.runner.parent_runner_id is None:
            _classes.setdefault(self.runner.runner_id, self.runner.runner_cls)

    def prefix(self) -> str:
        text = _runner_text(self.runner) if self.runner is not None else ""
        if self.invocation_id is not None:
            text += uuid_form(self.invocation_id)
        if self.task_id is not None:
            text += (":" if self.invocation_id is not None else "") + self.task_id
        return text

    def fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        runner = self.runner
        if runner is not None:
            data["runner_class"] = runner.runner_cls
            data["runner_id"] = runner.runner_id
            if runner.parent_runner_id is not None:
                data["parent_runner_class"] = _classes.get(runner.parent_runner_id, UNKNOWN_CLASS)
                data["parent_runner_id"] = runner.parent_runner_id
            data["hostname"] = runner.hostname
            data["pid"] = runner.pid
        if self.invocation_id is not None:
            data["invocation_id"] = uuid_form(self.invocation_id)
        if self.task_id is not None:
            data["task_id"] = self.task_id
        return data


def _text_line(record: logging.LogRecord, timestamp: str, prefix: str, message: str) -> str:
    bracket = f"[{prefix}] " if prefix else ""
    return f"{timestamp} {record.levelname:<8} {record.name} {bracket}{message}"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        found = _Context()
        line = _text_line(record, _timestamp(record), found.prefix(), redact_text(record.getMessage()))
        if record.exc_info:
            line += "\n" + redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        found = _Context()
        timestamp = _timestamp(record)
        message = redact_text(record.getMessage())
        prefix = found.prefix()
        data: dict[str, Any] = {
            "timestamp": timestamp,
            "severity": record.levelname,
            "logger": record.name,
            "message": message,
            **found.fields(),
            "text": _text_line(record, timestamp, prefix, message),
        }
        if record.exc_info:
            data["exception"] = redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str)


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
    if isinstance(handler, logging.StreamHandler):
        # ``log_stream``: stdout suits containers that treat stderr as errors (pynenc's setting).
        # Assigned, not ``setStream``: that flushes the old stream, which may be closed by now.
        target = sys.stdout if conf.log_stream == "stdout" else sys.stderr
        if handler.stream is not target:
            handler.stream = target
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
