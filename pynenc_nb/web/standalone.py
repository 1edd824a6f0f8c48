"""``pynenc monitor``: the monitor API and a small page, without JupyterLab.

Authentication: a random token printed at start, given once as ``?token=`` (or an
``Authorization: token ...`` header); the server then sets a signed, HTTP-only, SameSite=Strict
cookie that only this server instance accepts (its signing key is made at start). POSTs also need
Tornado's XSRF token (the page sends it in a header). Every route — the page, its scripts, the
API — requires it. The server binds 127.0.0.1 unless told otherwise.

The page is static HTML + JavaScript that builds its DOM with ``textContent`` only, and plotly.js
is served from the plotly Python package's bundled ``plotly.min.js``: no network access.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import importlib.util
import ipaddress
import logging
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import HTTPError, RequestHandler, StaticFileHandler

from pynenc_nb.web.catalog import AppCatalog
from pynenc_nb.web.handlers import API_PREFIX, CATALOG_SETTING, api_handlers

STATIC_DIR = Path(__file__).with_name("static")
TOKEN_SETTING = "pynenc_token"
COOKIE_SETTING = "pynenc_cookie_name"
USER = "pynenc-monitor"
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_log = logging.getLogger("pynenc.web")


class _AnyAuthenticatedUser:
    """The authorizer of ``pynenc monitor``: whoever holds the token may do everything."""

    def is_authorized(self, handler: RequestHandler, user: Any, action: str, resource: str) -> bool:
        return bool(user)


_AUTHORIZER = _AnyAuthenticatedUser()


def _header_token(value: str) -> str | None:
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() in ("token", "bearer") and token.strip() else None


class TokenAuthHandler(RequestHandler):
    """Base of every ``pynenc monitor`` route: token or cookie authentication, safe headers."""

    def get_current_user(self) -> str | None:
        cookie_name: str = self.settings[COOKIE_SETTING]
        if self.get_signed_cookie(cookie_name, max_age_days=1) == USER.encode():
            return USER
        supplied = self.get_query_argument("token", None) or _header_token(
            self.request.headers.get("Authorization", "")
        )
        expected: str = self.settings[TOKEN_SETTING]
        if supplied and hmac.compare_digest(supplied.encode(), expected.encode()):
            self.set_signed_cookie(cookie_name, USER, expires_days=None, httponly=True, samesite="Strict")
            return USER
        return None

    def get_login_url(self) -> str:
        """There is no login page: a request without the token or cookie is refused."""
        raise HTTPError(403, "open the address printed by `pynenc monitor` (it carries ?token=...)")

    @property
    def authorizer(self) -> _AnyAuthenticatedUser:
        return _AUTHORIZER

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Security-Policy", _CSP)


class PageHandler(TokenAuthHandler):
    """The page; after a visit with ``?token=`` it redirects to itself without the token."""

    @tornado.web.authenticated
    def get(self) -> None:
        if self.get_query_argument("token", None) is not None:
            self.redirect(self.request.path)
            return
        page = Template((STATIC_DIR / "monitor.html").read_text())
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(page.substitute(xsrf=html.escape(self.xsrf_token.decode(), quote=True)))


class AuthenticatedStaticHandler(TokenAuthHandler, StaticFileHandler):
    """The page's scripts and styles, behind the same authentication."""

    def prepare(self) -> None:
        if not self.current_user:
            self.get_login_url()  # raises the 403


def plotly_dir() -> Path | None:
    """The folder of plotly's bundled ``plotly.min.js`` (None without the plotly package; the
    package is not imported: only the file is served)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "package_data"
    return folder if (folder / "plotly.min.js").is_file() else None


def _log_request(handler: RequestHandler) -> None:
    """Access log without the query string (it may carry the token); errors at warning level."""
    status = handler.get_status()
    request = handler.request
    level = logging.DEBUG if status < 400 else logging.WARNING
    _log.log(level, "%d %s %s %.1fms", status, request.method, request.path, 1000 * request.request_time())


def make_application(catalog: AppCatalog, token: str, instance: str) -> tornado.web.Application:
    """The Tornado application; ``instance`` (e.g. the port) keeps its cookies apart from other
    servers on the same host (browsers share cookies across ports)."""
    handlers: list[Any] = [(r"/", PageHandler)]
    handlers.append((r"/static/(monitor\.(?:js|css))", AuthenticatedStaticHandler, {"path": str(STATIC_DIR)}))
    plotly = plotly_dir()
    if plotly is not None:
        handlers.append((r"/static/(plotly\.min\.js)", AuthenticatedStaticHandler, {"path": str(plotly)}))
    handlers.extend(api_handlers(TokenAuthHandler, "/" + API_PREFIX))
    settings: dict[str, Any] = {
        "cookie_secret": secrets.token_bytes(32),
        "xsrf_cookies": True,
        "xsrf_cookie_name": f"_xsrf_pynenc_{instance}",
        "xsrf_cookie_kwargs": {"samesite": "Strict"},
        "compress_response": True,
        "log_function": _log_request,
        CATALOG_SETTING: catalog,
        TOKEN_SETTING: token,
        COOKIE_SETTING: f"pynenc-monitor-{instance}",
    }
    return tornado.web.Application(handlers, **settings)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(
    catalog: AppCatalog,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    token: str | None = None,
    out: Callable[[str], None] = print,
) -> None:
    """Run until SIGINT / SIGTERM; prints where it listens and the address to open."""
    asyncio.run(_serve(catalog, host, port, token or secrets.token_urlsafe(32), out))


async def _serve(catalog: AppCatalog, host: str, port: int, token: str, out: Callable[[str], None]) -> None:
    # Handlers first: whoever reads the address below may stop the server at once, and that must be
    # a clean stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sockets = bind_sockets(port, address=host, family=socket.AF_UNSPEC)
    bound = sorted({(s.getsockname()[0], s.getsockname()[1]) for s in sockets})
    actual_port = bound[0][1]
    server = HTTPServer(make_application(catalog, token, str(actual_port)))
    server.add_sockets(sockets)
    if not is_loopback(host):
        print(
            f"pynenc monitor: WARNING: listening on {host}, which is not a loopback address: anyone who can reach "
            "this machine and gets hold of the token can read every invocation of the apps listed. Prefer the "
            "default --host 127.0.0.1 and an SSH tunnel.",
            file=sys.stderr,
            flush=True,
        )
    for address, bound_port in bound:
        out(f"pynenc monitor: listening on {_url_host(address)}:{bound_port}")
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    out(f"pynenc monitor: open http://{_url_host(shown)}:{actual_port}/?token={token}")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        server.stop()
        await server.close_all_connections()
        catalog.close()
