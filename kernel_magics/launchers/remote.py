"""A user's command template (``ssh HOST {python} -m pynenc_nb {runner_args}``), run without a shell.

The local process is the command (``ssh``): it is what is watched and signalled.
"""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING

from kernel_magics.launchers.process import ProcessLauncher, runner_cli
from pynenc_nb.exceptions import ConfigError
from pynenc_nb.launched_runners import process_alive

if TYPE_CHECKING:
    from kernel_magics.launchers.base import LaunchOptions
    from pynenc_nb.app import Pynenc
    from pynenc_nb.launched_runners import LaunchedRunner


class RemoteLauncher(ProcessLauncher):
    def command(self, app: Pynenc, entry: LaunchedRunner, options: LaunchOptions) -> list[str]:
        """The template as an argument list (never a shell string), placeholders filled per argument."""
        values = {"python": sys.executable, "app_id": app.app_id, "app": app.app_id, "name": entry.name}
        out: list[str] = []
        for part in shlex.split(options.command or ""):
            if part == "{runner_args}":
                out.extend(runner_cli(app, entry, options))
                continue
            try:
                out.append(part.format(**values))
            except (KeyError, IndexError) as exc:
                raise ConfigError(
                    f"unknown placeholder {exc} in --command; use {{python}}, {{app_id}}, {{name}}, {{runner_args}}",
                    variable="--command",
                ) from None
        if not out:
            raise ConfigError("--command is empty", variable="--command")
        return out

    def alive(self, entry: LaunchedRunner) -> bool:
        process = self.popens.get(entry.name)
        return process.poll() is None if process is not None else process_alive(entry.pid)
