"""Where monitors find apps: a small private JSON file that shareable apps write themselves into.

An app whose backend other processes can open (a SQLite file, Redis, MongoDB — not ``memory:``)
records ``(app_id, backend URL, broker URL, working dir, first/last seen)`` when its backends are
first opened in a process, so the JupyterLab sidebar and ``pynenc monitor`` can list it without
being told. The file holds connection URLs, so it is created with mode 0600 in a 0700 folder and
its URLs never leave the server: :func:`public_key` and :func:`describe_backend` are what a
browser gets instead.

Location: ``$PYNENC_NB_APP_REGISTRY`` if set, else ``<jupyter data dir>/pynenc_nb/apps.json``.
Writers take an exclusive ``flock`` on a sibling lock file, then write a temporary file and rename
it over the registry, so a reader never sees half a file and concurrent writers never lose each
other's entries. The file keeps at most :data:`MAX_ENTRIES` entries (the least recently seen go).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pynenc_nb.conf.urls import redact_url, scheme_of, sqlite_path

ENV_VARIABLE = "PYNENC_NB_APP_REGISTRY"
MAX_ENTRIES = 200
MAX_KERNELS = 10  # kernel ids kept per app
FORMAT_VERSION = 1
_log = logging.getLogger("pynenc.app_registry")
_announced: set[tuple[str, str, str, str]] = set()  # per process (inherited by forked children)
_announced_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class AppEntry:
    """One app as recorded: server-side only (``backend_url`` may hold a password)."""

    app_id: str
    backend_url: str
    broker_url: str  # empty: same as backend_url
    working_dir: str  # where the app was last created: its ``.pynenc/runners.json`` lives there
    first_seen: float
    last_seen: float
    kernel_ids: tuple[str, ...] = ()  # Jupyter kernels that used it, newest last: a sidebar's default

    @property
    def key(self) -> str:
        return public_key(self.app_id, self.backend_url, self.broker_url)

    @classmethod
    def from_json(cls, data: Any) -> AppEntry | None:
        """None for an entry this version cannot read (hand-edited or from a newer version)."""
        if not isinstance(data, dict):
            return None
        try:
            entry = cls(
                app_id=str(data["app_id"]),
                backend_url=str(data["backend_url"]),
                broker_url=str(data.get("broker_url") or ""),
                working_dir=str(data.get("working_dir") or ""),
                first_seen=float(data.get("first_seen") or 0.0),
                last_seen=float(data.get("last_seen") or 0.0),
                kernel_ids=tuple(str(k) for k in data.get("kernel_ids") or () if isinstance(k, str)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return entry if entry.app_id and entry.backend_url else None


def registry_path() -> Path:
    """``$PYNENC_NB_APP_REGISTRY``, else ``<jupyter data dir>/pynenc_nb/apps.json``."""
    override = os.environ.get(ENV_VARIABLE)
    if override:
        return Path(override).expanduser()
    return _jupyter_data_dir() / "pynenc_nb" / "apps.json"


def _jupyter_data_dir() -> Path:
    try:
        from jupyter_core.paths import jupyter_data_dir
    except ImportError:  # the core install has no Jupyter: follow its rule for Linux and macOS
        env = os.environ.get("JUPYTER_DATA_DIR")
        if env:
            return Path(env).expanduser()
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(xdg) / "jupyter"
    return Path(jupyter_data_dir())


def public_key(app_id: str, backend_url: str, broker_url: str = "") -> str:
    """The opaque id a browser uses for an app.

    Hashed from the *redacted* URLs, so nothing derived from a password leaves the server (a hash
    of a URL with a weak password could be brute-forced); two entries differing only by password
    point at the same server and share a key (the most recently seen wins).
    """
    text = "\n".join((app_id, redact_url(backend_url), redact_url(broker_url)))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def describe_backend(url: str) -> str:
    """What a browser may see of a backend: the scheme and host, or a SQLite file's name.

    ``redis://user:pw@cache.local:6379/0`` -> ``redis://cache.local``;
    ``sqlite:///home/me/.pynenc/demo.db`` -> ``sqlite: demo.db``.
    """
    scheme = scheme_of(url)
    if scheme == "memory":
        return "memory"
    if scheme == "sqlite":
        return f"sqlite: {Path(sqlite_path(url)).name}"
    from urllib.parse import urlsplit

    try:
        hosts = urlsplit(url).netloc.rpartition("@")[2]
    except ValueError:
        return f"{scheme}://?"
    names = [h.rsplit(":", 1)[0] if not h.endswith("]") else h for h in hosts.split(",") if h]
    return f"{scheme}://{','.join(names) or '?'}"


def is_available(entry: AppEntry) -> bool:
    """False when a SQLite app's file is gone (opening it would create an empty database)."""
    if scheme_of(entry.backend_url) != "sqlite":
        return True
    return Path(sqlite_path(entry.backend_url)).is_file()


def read_entries(path: Path | None = None) -> list[AppEntry]:
    """The recorded apps, most recently seen first; an unreadable file reads as empty."""
    path = path or registry_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    except OSError as exc:
        _log.debug("app registry %s cannot be read: %s", path, exc)
        return []
    return _parse(text, path)


def _parse(text: str, path: Path) -> list[AppEntry]:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        _log.debug("app registry %s is not JSON; treating it as empty", path)
        return []
    rows = data.get("apps") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return []
    entries = [e for e in map(AppEntry.from_json, rows) if e is not None]
    return sorted(entries, key=lambda e: -e.last_seen)


def record(
    app_id: str,
    backend_url: str,
    broker_url: str = "",
    working_dir: str | None = None,
    *,
    path: Path | None = None,
    now: float | None = None,
    kernel_id: str | None = None,
) -> AppEntry:
    """Add or refresh an app (deduplicated by app id and URLs); returns the stored entry.

    ``kernel_id`` is the Jupyter kernel that used it, if any: the sidebar of that notebook opens on it.
    """
    path = path or registry_path()
    now = time.time() if now is None else now
    working_dir = working_dir if working_dir is not None else str(Path.cwd())
    with _locked(path) as entries:
        same = [e for e in entries if (e.app_id, e.backend_url, e.broker_url) == (app_id, backend_url, broker_url)]
        first_seen = min((e.first_seen for e in same), default=now)
        kernels = [k for e in same for k in e.kernel_ids if k != kernel_id] + ([kernel_id] if kernel_id else [])
        kernels = list(dict.fromkeys(kernels))[-MAX_KERNELS:]
        entry = AppEntry(app_id, backend_url, broker_url, working_dir, first_seen, now, tuple(kernels))
        kept = [e for e in entries if e not in same and is_available(e)]
        entries[:] = sorted([entry, *kept], key=lambda e: -e.last_seen)[:MAX_ENTRIES]
    return entry


def forget(app_id: str, backend_url: str, broker_url: str = "", *, path: Path | None = None) -> bool:
    """Remove an app from the registry; True if it was there."""
    with _locked(path or registry_path()) as entries:
        before = len(entries)
        entries[:] = [
            e for e in entries if (e.app_id, e.backend_url, e.broker_url) != (app_id, backend_url, broker_url)
        ]
        return len(entries) != before


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[list[AppEntry]]:
    """Read-modify-write under an exclusive lock; the new file replaces the old one atomically."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_fd = os.open(folder / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        entries = _parse(text, path)
        yield entries
        payload = json.dumps({"version": FORMAT_VERSION, "apps": [asdict(e) for e in entries]}, indent=1)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    finally:
        os.close(lock_fd)  # releases the lock


def kernel_id() -> str | None:
    """The id of the Jupyter kernel this process is, from the connection file it was started with
    (``-f .../kernel-<id>.json``); None outside a kernel."""
    for arg in sys.argv:
        name = Path(arg).name
        if name.startswith("kernel-") and name.endswith(".json"):
            return name[len("kernel-") : -len(".json")]
    return None


def announce(app_id: str, backend_url: str, broker_url: str = "") -> None:
    """Record an app once per process; never raises (discovery must not break an app).

    Called when an app's shareable backends are first opened. Forked children inherit the
    memo, so a process runner's per-invocation children do not rewrite the file.
    """
    try:
        working_dir = str(Path.cwd())
        marker = (app_id, backend_url, broker_url, working_dir)
        with _announced_lock:
            if marker in _announced:
                return
            _announced.add(marker)
        record(app_id, backend_url, broker_url, working_dir, kernel_id=kernel_id())
    except Exception as exc:  # a read-only home, a full disk, a foreign file: never the app's problem
        _log.debug("app %s not recorded in the app registry %s: %s", app_id, registry_path(), exc)
