"""The extension app: its configuration, the catalog of apps it serves, its handlers and shutdown.

An ``ExtensionApp`` rather than a bare load function because the server calls its
``stop_extension`` on shutdown, which closes every app the API opened.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Integer, List, Unicode

from pynenc_nb.jupyter_server.plotly_script import plotly_handlers
from pynenc_nb.web import API_PREFIX, CATALOG_SETTING, AppCatalog, api_handlers
from pynenc_nb.web.catalog import configured_entry
from pynenc_nb.web.saving import drop_live_views


class PynencMonitorApp(ExtensionApp):
    """Serves the pynenc_nb monitor API to JupyterLab (``c.PynencMonitorApp.*`` in server config)."""

    name = "pynenc_nb"
    load_other_extensions = True

    apps = List(
        Dict(),
        default_value=[],
        help="""Apps to serve besides those found in the app registry: a list of
        {"app_id": ..., "backend_url": ..., "broker_url": optional, "working_dir": optional}.
        The URLs stay on the server; the browser sees an opaque key and the backend's host.""",
    ).tag(config=True)
    registry_path = Unicode(
        "",
        help="""The app registry to read; empty: $PYNENC_NB_APP_REGISTRY or
        <jupyter data dir>/pynenc_nb/apps.json.""",
    ).tag(config=True)
    use_registry = Bool(True, help="List the apps of the app registry (False: configured apps only).").tag(config=True)
    every_folder = Bool(
        False,
        help="""List registered apps made in any folder; by default only those made under the
        server's root dir (where its notebooks are) are listed.""",
    ).tag(config=True)
    max_workers = Integer(4, help="Threads running backend queries, off the server's event loop.").tag(config=True)

    catalog: AppCatalog | None = None

    def initialize_settings(self) -> None:
        root = str(getattr(self.serverapp, "root_dir", "") or "")
        entries = []
        for spec in self.apps:
            try:
                entries.append(configured_entry(spec, working_dir=root))
            except ValueError as exc:
                self.log.error("PynencMonitorApp.apps: %s; entry ignored", exc)
        self.catalog = AppCatalog(
            entries,
            registry_path=Path(self.registry_path).expanduser() if self.registry_path else None,
            use_registry=self.use_registry,
            within=None if self.every_folder or not root else Path(root),
            max_workers=self.max_workers,
        )
        self.settings[CATALOG_SETTING] = self.catalog
        # a notebook saved while pynenc widgets are live keeps their figures (web/saving.py)
        if self.serverapp is not None:
            self.serverapp.contents_manager.register_pre_save_hook(drop_live_views)  # type: ignore[no-untyped-call]

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_handlers(APIHandler, API_PREFIX))
        self.handlers.extend(plotly_handlers())

    async def stop_extension(self) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
