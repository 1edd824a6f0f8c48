"""Finding the app: ``--app module.attr``, ``--app path/to/file.py[:attr]``, or the only one here.

Modules are imported under their module name (the file's folder goes on ``sys.path``), so task
ids match between the process that calls a task and the runner that executes it.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType

from pynenc_nb.app import Pynenc
from pynenc_nb.exceptions import ConfigError

_MENTIONS_APP = re.compile(r"\b(Pynenc|PynencBuilder)\s*\(")


def _import(module_name: str, folder: Path | None = None) -> ModuleType:
    if folder is not None and str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    elif "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import the app module {module_name!r}: {exc}", variable="--app") from exc


def _apps_in(module: ModuleType) -> dict[str, Pynenc]:
    return {name: value for name, value in vars(module).items() if isinstance(value, Pynenc)}


def _pick(module: ModuleType, attr: str | None, spec: str) -> Pynenc:
    if attr:
        value = getattr(module, attr, None)
        if not isinstance(value, Pynenc):
            raise ConfigError(f"--app {spec}: {module.__name__}.{attr} is not a Pynenc app", variable="--app")
        return value
    apps = _apps_in(module)
    if len(apps) != 1:
        found = ", ".join(sorted(apps)) or "none"
        raise ConfigError(
            f"--app {spec}: expected exactly one Pynenc app in {module.__name__}, found {found}; name it as "
            f"{module.__name__}.ATTR",
            variable="--app",
        )
    return next(iter(apps.values()))


def load_app(spec: str) -> Pynenc:
    """Resolve ``--app``: ``pkg.mod``, ``pkg.mod.attr``, ``pkg.mod:attr``, ``file.py`` or ``file.py:attr``."""
    head, colon, tail = spec.rpartition(":")
    # ``:attr`` only when what follows the last colon is a name (not a Windows drive's path).
    path_part, attr = (head, tail) if colon and tail.isidentifier() else (spec, "")
    if path_part.endswith(".py") or "/" in path_part:
        file = Path(path_part).resolve()
        if not file.is_file():
            raise ConfigError(f"--app {spec}: no such file {str(file)!r}", variable="--app")
        return _pick(_import(file.stem, file.parent), attr or None, spec)
    if attr:
        return _pick(_import(path_part), attr, spec)
    try:
        return _pick(_import(path_part), None, spec)
    except ConfigError:
        module_name, _, last = path_part.rpartition(".")
        if not module_name:
            raise
        return _pick(_import(module_name), last, spec)


def discover_app(folder: Path | None = None) -> Pynenc:
    """The one app defined by a ``*.py`` file in ``folder`` (only files that mention Pynenc are imported)."""
    folder = (folder or Path.cwd()).resolve()
    # Only files that construct an app, and never scripts (their top-level code would run here).
    candidates = sorted(
        p
        for p in folder.glob("*.py")
        if _MENTIONS_APP.search(text := p.read_text(errors="ignore")) and "__main__" not in text
    )
    found: dict[str, Pynenc] = {}
    skipped: list[str] = []
    for file in candidates:
        try:
            module = _import(file.stem, folder)
        except Exception as exc:  # a broken candidate must not hide the good one
            skipped.append(f"{file.name} ({type(exc).__name__}: {exc})")
            continue
        for name, app in _apps_in(module).items():
            found.setdefault(f"{file.stem}.{name}", app)
    unique = {id(app): app for app in found.values()}
    if len(unique) == 1:
        return next(iter(unique.values()))
    if skipped and not found:
        raise ConfigError(f"no importable Pynenc app in {folder}; skipped: {'; '.join(skipped)}", variable="--app")
    if not found:
        raise ConfigError(
            f"no Pynenc app found in {folder}: pass --app module.attr (or set it in the folder's only .py file)",
            variable="--app",
        )
    raise ConfigError(f"several apps found ({', '.join(sorted(found))}): choose one with --app", variable="--app")
