"""The apps a monitor server knows, and the one open reader per app (``web/reader.py``).

Apps come from the server's configuration (listed first, they win on a shared key) and from the
app registry (:mod:`pynenc_nb.app_registry`), re-read on every listing so apps created after the
server started show up. An app is opened on first use and kept until :meth:`AppCatalog.close`:
opening connects to its backends without building a ``Pynenc`` or importing any module, so the
server only reads the backend through :class:`~pynenc_nb.monitor.Monitor`.

Blocking work (opening a backend, every query) runs in :attr:`AppCatalog.executor`, never on
the Tornado loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pynenc_nb import app_registry
from pynenc_nb.app_registry import AppEntry
from pynenc_nb.conf.urls import redact_text, scheme_of, sqlite_path
from pynenc_nb.exceptions import AppNotFoundError

if TYPE_CHECKING:
    from pynenc_nb.monitor import Monitor
    from pynenc_nb.web.reader import AppReader

_log = logging.getLogger("pynenc.web")
Source = Literal["config", "registry"]


@dataclass(frozen=True, slots=True)
class KnownApp:
    """An app the server may open; ``entry`` holds its URLs and never leaves the server."""

    entry: AppEntry
    source: Source

    @property
    def key(self) -> str:
        return self.entry.key

    def public(self) -> dict[str, Any]:
        """What the browser sees: no URL, no path — the backend's scheme and host or file name."""
        entry = self.entry
        return {
            "key": self.key,
            "app_id": entry.app_id,
            "backend": app_registry.describe_backend(entry.backend_url),
            "broker": app_registry.describe_backend(entry.broker_url) if entry.broker_url else None,
            "folder": Path(entry.working_dir).name if entry.working_dir else None,
            "source": self.source,
            "first_seen": entry.first_seen or None,
            "last_seen": entry.last_seen or None,
            "available": app_registry.is_available(entry),
            "kernels": list(entry.kernel_ids),
        }


@dataclass(frozen=True, slots=True)
class OpenApp:
    """An app the server has opened: what it is, its backends, and its monitor."""

    known: KnownApp
    app: AppReader
    monitor: Monitor


def configured_entry(spec: Any, working_dir: str = "") -> AppEntry:
    """An app named in server config: ``{"app_id": ..., "backend_url": ..., "broker_url"?, "working_dir"?}``."""
    if not isinstance(spec, dict) or not spec.get("app_id") or not spec.get("backend_url"):
        shown = sorted(spec) if isinstance(spec, dict) else type(spec).__name__
        raise ValueError(f"an app needs 'app_id' and 'backend_url' (got {shown})")
    if scheme_of(str(spec["backend_url"])) == "memory":
        raise ValueError(
            f"app {spec['app_id']!r}: a memory: backend lives inside its own process; no server can read it"
        )
    return AppEntry(
        app_id=str(spec["app_id"]),
        backend_url=str(spec["backend_url"]),
        broker_url=str(spec.get("broker_url") or ""),
        working_dir=str(spec.get("working_dir") or working_dir),
        first_seen=0.0,
        last_seen=0.0,
    )


class AppCatalog:
    """Known apps, their open readers and monitors, and the pool their queries run in.

    ``registry_path=None`` reads the default registry; ``use_registry=False`` lists configured
    apps only; ``app_ids`` limits the listing to those app ids; ``within`` lists only the
    registered apps made under that folder (a JupyterLab server's root). Registered apps whose
    backend is gone (a deleted SQLite file) are never listed.
    """

    def __init__(
        self,
        configured: Iterable[AppEntry] = (),
        *,
        registry_path: Path | None = None,
        use_registry: bool = True,
        app_ids: Iterable[str] | None = None,
        within: Path | None = None,
        max_workers: int = 4,
    ) -> None:
        self.configured = list(configured)
        self.within = within.resolve() if within is not None else None
        self.registry_path = registry_path
        self.use_registry = use_registry
        self.app_ids = frozenset(app_ids) if app_ids is not None else None
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pynenc-monitor")
        self._apps: dict[str, OpenApp] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._closed = False

    def known(self) -> list[KnownApp]:
        """Configured apps first, then the registry's, most recently seen first; one per key."""
        found: dict[str, KnownApp] = {}
        for entry in self.configured:
            found.setdefault(entry.key, KnownApp(entry, "config"))
        if self.use_registry:
            for entry in app_registry.read_entries(self.registry_path or app_registry.registry_path()):
                if self._listed(entry):
                    found.setdefault(entry.key, KnownApp(entry, "registry"))
        apps = list(found.values())
        if self.app_ids is not None:
            apps = [a for a in apps if a.entry.app_id in self.app_ids]
        return apps

    def _listed(self, entry: AppEntry) -> bool:
        """A registered app is listed while its backend exists and, for a server with a root
        folder, when it was made under that folder or keeps its SQLite file there (other
        projects, other users' folders and test apps stay out)."""
        if not app_registry.is_available(entry):
            return False
        if self.within is None:
            return True
        places = [entry.working_dir]
        if scheme_of(entry.backend_url) == "sqlite":
            places.append(sqlite_path(entry.backend_url))  # the database file itself lives there
        try:
            return any(place and Path(place).resolve().is_relative_to(self.within) for place in places)
        except (OSError, ValueError):
            return False

    def find(self, key: str) -> KnownApp:
        for known in self.known():
            if known.key == key:
                return known
        with self._lock:
            opened = key in self._apps
        if opened:  # left the registry while open: still served until the server stops
            raise AppNotFoundError(f"app {key} is no longer listed; reload the list of apps", key=key)
        raise AppNotFoundError(f"no app with key {key!r}: list the known apps with GET pynenc/api/apps", key=key)

    def open(self, key: str) -> OpenApp:
        """App ``key`` with its monitor, opened on first use (blocking: call it in the pool)."""
        with self._lock:
            cached = self._apps.get(key)
            lock = self._locks.setdefault(key, threading.Lock())
        if cached is not None:
            return cached
        known = self.find(key)
        with lock:
            with self._lock:
                cached = self._apps.get(key)
            if cached is not None:
                return cached
            opened = self._open(known)
            with self._lock:
                if self._closed:
                    opened.app.close()
                    raise AppNotFoundError("the monitor server is stopping", key=key)
                self._apps[key] = opened
            return opened

    def monitor(self, key: str) -> Monitor:
        return self.open(key).monitor

    def _open(self, known: KnownApp) -> OpenApp:
        from pynenc_nb.monitor import Monitor
        from pynenc_nb.web.reader import AppReader

        entry = known.entry
        if not app_registry.is_available(entry):
            # opening it would create an empty database where the app's file used to be
            raise AppNotFoundError(
                f"app {entry.app_id!r}: its database {app_registry.describe_backend(entry.backend_url)} no longer "
                "exists",
                key=known.key,
            )
        values: dict[str, Any] = {
            "app_id": entry.app_id,
            "backend_url": entry.backend_url,
            "broker_url": entry.broker_url,
            "discoverable": False,  # the server reading an app is not the app being used
        }
        app = AppReader(values)  # opens the backends now: a bad one fails this request, not a later one
        _log.info("opened app %s (%s)", entry.app_id, app_registry.describe_backend(entry.backend_url))
        return OpenApp(known, app, Monitor(app))

    def close(self) -> None:
        """Close every open app and stop the pool (the server is stopping)."""
        with self._lock:
            self._closed = True
            opened = list(self._apps.values())
            self._apps.clear()
        self.executor.shutdown(wait=False, cancel_futures=True)
        for one in opened:
            try:
                one.app.close()
            except Exception as exc:
                _log.debug("closing app %s: %s", one.app.app_id, redact_text(str(exc)))
