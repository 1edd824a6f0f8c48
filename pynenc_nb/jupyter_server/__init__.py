"""The Jupyter server extension: the monitor's REST API under ``<base_url>/pynenc/api/``.

Enabled by ``jupyter-config/server-config/pynenc_nb.json`` (installed with the package into
``etc/jupyter/jupyter_server_config.d/``). Configure it in ``jupyter_server_config.py``::

    c.PynencMonitorApp.apps = [{"app_id": "etl", "backend_url": "redis://cache:6379/0"}]
    c.PynencMonitorApp.registry_path = "/srv/shared/pynenc-apps.json"

Requests go through Jupyter's authentication, its authorizer (resource ``"pynenc"``) and, for
POST, its XSRF check; the JupyterLab sidebar reaches the API through ``ServerConnection``.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb import __version__
from pynenc_nb.jupyter_server.extension import PynencMonitorApp


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "pynenc_nb.jupyter_server", "app": PynencMonitorApp}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """For servers that load the module directly (the extension point names the app above)."""
    PynencMonitorApp._load_jupyter_server_extension(serverapp)  # type: ignore[no-untyped-call]


__all__ = ["PynencMonitorApp", "__version__"]
