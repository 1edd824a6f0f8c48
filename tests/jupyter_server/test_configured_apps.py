"""Apps named in the server's config (``c.PynencMonitorApp.apps``), with the registry switched off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from tornado.httpclient import HTTPResponse
from traitlets.config import Config

from pynenc_nb import Pynenc
from pynenc_nb.app_registry import public_key
from tests.jupyter_server.conftest import body

Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def configured(tmp_path: Path) -> Pynenc:
    app = Pynenc(
        config_values={
            "app_id": "configured",
            "backend_url": f"sqlite://{tmp_path / 'configured.db'}",
            "dev_mode_force_sync_tasks": True,
            "discoverable": False,  # not in the registry: only the server config names it
            "logging_level": "error",
        }
    )

    @app.task
    def double(x: int) -> int:
        return 2 * x

    assert double(21).result == 42
    return app


@pytest.fixture
def jp_server_config(configured: Pynenc, tmp_path: Path) -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"pynenc_nb.jupyter_server": True, "jupyter_server_terminals": False}},
            "PynencMonitorApp": {
                "use_registry": False,
                "apps": [
                    {"app_id": "configured", "backend_url": configured.conf.backend_url},
                    {"app_id": "private", "backend_url": "memory:"},  # refused: no other process can read it
                    {"backend_url": "sqlite:///nowhere.db"},  # refused: no app id
                ],
            },
        }
    )


async def test_configured_apps_are_served(jp_fetch: Fetch, configured: Pynenc, tmp_path: Path) -> None:
    apps = body(await jp_fetch("pynenc", "api", "apps"))["apps"]
    key = public_key("configured", configured.conf.backend_url)
    assert [(a["key"], a["app_id"], a["source"], a["backend"]) for a in apps] == [
        (key, "configured", "config", "sqlite: configured.db")
    ]
    summary = body(await jp_fetch("pynenc", "api", "apps", key, "summary"))
    assert summary["counts"]["SUCCESS"] == 1
    configured.close()
