"""What a launched runner needs to rebuild the caller's app: its settings, as ``PYNENC__*`` variables.

They travel in the child's environment (or a private file for kernels), never on a command line
and never printed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pynenc_nb.conf.settings import PynencConfig

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

_DEFAULTS = PynencConfig()


def app_environment(app: Pynenc) -> dict[str, str]:
    """``PYNENC__*`` for every setting that differs from its default, plus the app id and backend."""
    env: dict[str, str] = {}
    for f in dataclasses.fields(app.conf):
        value = getattr(app.conf, f.name)
        if f.name == "task":
            env.update(_task_variables(value))
            continue
        if f.name not in ("app_id", "backend_url") and value == getattr(_DEFAULTS, f.name):
            continue
        if isinstance(value, tuple):
            text = ",".join(value)
        elif isinstance(value, dict):
            if not value:
                continue
            text = json.dumps(value, default=str)
        else:
            text = str(value)
        env[f"PYNENC__{f.name.upper()}"] = text
    return env


def _task_variables(overrides: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Per-task settings as ``PYNENC__TASK__<module#func>__<FIELD>`` (``*``: ``PYNENC__TASK__<FIELD>``)."""
    env: dict[str, str] = {}
    for scope, options in overrides.items():
        for option, value in options.items():
            name = f"PYNENC__TASK__{option.upper()}" if scope == "*" else f"PYNENC__TASK__{scope}__{option.upper()}"
            if isinstance(value, (list, tuple)):
                env[name] = ",".join(str(v) for v in value)
            elif isinstance(value, dict):
                env[name] = json.dumps(value, default=str)
            else:
                env[name] = str(value)
    return env


def child_environment(app: Pynenc) -> dict[str, str]:
    """The full environment of a runner process: ours, minus stale PYNENC__*, plus the app's."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYNENC__")}
    cwd = str(Path.cwd())
    paths = [cwd, *[p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p]]
    base["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))  # modules beside the notebook import
    return {**base, **app_environment(app)}


def write_private_file(folder: Path, name: str, data: dict[str, str]) -> Path:
    """A 0600 file read (and deleted) by the runner kernel: keeps settings out of kernel history."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return path
