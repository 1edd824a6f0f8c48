"""plotly.js for the live figures of notebooks served here, as a cacheable script.

The kernel's live figures (``widgets/plotly_view.py``) point the page at this route instead of
sending 5 MB through the kernel's websocket: a script of the page's own origin is
parsed off the browser's main thread, and is fetched once per browser, not once per page load.
Behind Jupyter's authentication and authorizer like the API (resource ``"pynenc"``).
"""

from __future__ import annotations

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler

from pynenc_nb.web import AUTH_RESOURCE
from pynenc_nb.widgets.plotly_view import PLOTLY_ROUTE, plotly_script, plotly_script_path


class PlotlyScriptHandler(JupyterHandler):
    """The bundle as the page runs it; immutable under its versioned URL."""

    auth_resource = AUTH_RESOURCE

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.set_header("Content-Type", "text/javascript; charset=UTF-8")
        versioned = self.request.uri is not None and self.request.uri.endswith(plotly_script_path())
        self.set_header("Cache-Control", "private, max-age=31536000, immutable" if versioned else "no-cache")
        self.finish(plotly_script())


def plotly_handlers() -> list[tuple[str, type[JupyterHandler]]]:
    return [("/" + PLOTLY_ROUTE + "$", PlotlyScriptHandler)]
