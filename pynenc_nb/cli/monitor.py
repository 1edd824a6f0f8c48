"""``pynenc monitor``: which apps to show, then the standalone server (:mod:`pynenc_nb.web.standalone`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pynenc_nb.app import Pynenc
from pynenc_nb.app_registry import AppEntry, read_entries, registry_path
from pynenc_nb.conf import PynencConfig
from pynenc_nb.conf.urls import redact_url, scheme_of
from pynenc_nb.exceptions import ConfigError, MissingDependencyError
from pynenc_nb.logs import configure_logging

if TYPE_CHECKING:
    from pynenc_nb.web.catalog import AppCatalog


def _entry(app: Pynenc) -> AppEntry:
    if scheme_of(app.conf.backend_url) == "memory":
        raise ConfigError(
            f"app {app.app_id!r} uses {redact_url(app.conf.backend_url)!r}, which lives inside its own process: "
            "a monitor in another process would see nothing. Use SQLite or Redis.",
            variable="backend_url",
            value="memory:",
        )
    return AppEntry(app.app_id, app.conf.backend_url, app.conf.broker_url, str(Path.cwd()), 0.0, 0.0)


def build_catalog(apps: Sequence[Pynenc], app_ids: Sequence[str], registry: str | None) -> AppCatalog:
    """Apps named by ``--app``/``--app-id`` (before the subcommand) or ``monitor --app APP_ID``;
    none named: every app of the registry.

    A ``monitor --app`` id that the registry does not know is configured like ``--app-id``
    (``PYNENC__*`` settings, else the SQLite default in this folder); no module is imported.
    """
    from pynenc_nb.web.catalog import AppCatalog

    path = Path(registry).expanduser() if registry else registry_path()
    registered = {entry.app_id for entry in read_entries(path)}
    configured = [_entry(app) for app in apps]
    configured += [_entry(Pynenc(app_id=app_id)) for app_id in app_ids if app_id not in registered]
    chosen = {*app_ids, *(app.app_id for app in apps)}
    return AppCatalog(configured, registry_path=path, app_ids=chosen or None)


def run_monitor(host: str, port: int, apps: Sequence[Pynenc], app_ids: Sequence[str], registry: str | None) -> int:
    try:
        from pynenc_nb.web.standalone import serve
    except ImportError as exc:
        raise MissingDependencyError(f"pynenc monitor ({exc.name} is missing)", "jupyter") from exc
    # the handler redacts URL passwords from every line; a named app's log settings apply
    configure_logging(apps[0].conf if apps else PynencConfig())
    serve(build_catalog(apps, app_ids, registry), host, port)
    return 0
