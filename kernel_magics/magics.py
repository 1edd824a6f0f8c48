"""The ``%pynenc`` line magic. Thin: parsing here, every action a library function."""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from kernel_magics.session import NotebookSession


@magics_class
class PynencMagics(Magics):
    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.session = NotebookSession(lambda: self.shell.user_ns if self.shell is not None else {})

    @line_magic
    def pynenc(self, line: str) -> Any:
        """%pynenc status | config | app EXPR"""
        words = shlex.split(line)
        if not words:
            raise UsageError("usage: %pynenc status | config | app EXPR")
        command, rest = words[0], words[1:]
        if command == "app":
            if not rest:
                raise UsageError("usage: %pynenc app EXPR (an expression naming a Pynenc app)")
            return self.session.choose(" ".join(rest))
        if command == "status":
            return self.session.status()
        if command == "config":
            return self.session.config()
        raise UsageError(f"unknown %pynenc command {command!r}: use status, config or app")
