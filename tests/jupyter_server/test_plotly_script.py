"""The route that serves plotly.js to the live figures' pages: authenticated, versioned, cacheable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tornado.httpclient import HTTPResponse

from pynenc_nb.widgets.plotly_view import PLOTLY_ROUTE, plotly_script, plotly_script_path

Fetch = Callable[..., Awaitable[HTTPResponse]]


async def test_the_route_serves_the_bundle_the_kernel_would_send(jp_fetch: Fetch) -> None:
    # When a page fetches the versioned URL the library widget names
    version = plotly_script_path().split("?v=")[1]
    response = await jp_fetch(*PLOTLY_ROUTE.split("/"), params={"v": version})
    # Then it gets the very script the kernel sends as its fallback, and may keep it
    assert response.code == 200 and response.body == plotly_script()
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in response.headers["Cache-Control"]
    assert b"plotly.js v" in response.body[:1000] and len(response.body) > 1_000_000


async def test_an_unversioned_request_is_revalidated(jp_fetch: Fetch) -> None:
    response = await jp_fetch(*PLOTLY_ROUTE.split("/"))
    assert response.code == 200 and response.headers["Cache-Control"] == "no-cache"


async def test_the_route_refuses_a_request_without_the_token(http_server_client: Any, jp_base_url: str) -> None:
    response = await http_server_client.fetch(
        jp_base_url + plotly_script_path(), raise_error=False, follow_redirects=False
    )
    assert response.code in (302, 403), response.code
    assert b"plotly" not in response.body
