"""Our live Plotly figure widget: plotly.js loaded once per page, then patches instead of traces.

Why not plotly's ``FigureWidget``: each one carries the whole plotly.js bundle (about 5 MB) in its
ESM, so a ``Monitor`` with three figures sent 15 MB, and every live update resent the changed
traces whole (about 1 MB/s during a 1,000-task run). Here:

- plotly.js reaches the page once, not with every figure: the first view of a page loads it as a
  ``<script src>`` from the Jupyter server extension's route (parsed off the browser's main
  thread, cached by the browser under a versioned URL). A page without that route (another
  front end, or the extension disabled) asks the kernel, and whichever ``FigureView`` it asked
  sends the bundle once. Nothing in a view's state refers to another widget: a page opened on a
  busy kernel (whose comm messages wait for the running cell) draws as soon as plotly.js is in.
- ``FigureView`` carries its first figure in its state and then only ``patch.diff`` patches in
  custom messages, numbered. The kernel-side state follows silently, so a page reload starts from
  the latest figure; a view that missed a patch anyway (shown twice) asks for the whole figure
  (``sync``) and is sent it. The browser redraws with ``Plotly.react``, keeping the user's
  zoom and pan.
- Clicks come back as (trace, point) indices with the figure version they were made on and the
  point's id: resolved by index when that is the kernel's current figure, else the id is taken
  only if the current figure still shows it on that trace (``clicked_id``), so a click during an
  update does not open a neighbour, and the browser never names an invocation it was not shown.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynenc_nb.widgets.environment import _optional
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.widgets.patch import diff
from pynenc_nb.widgets.static import PLOTLY_CONFIG

VIEW_ESM = Path(__file__).with_name("plotly_view.js")
# Where the Jupyter server extension serves the bundle, under the server's base URL
# (jupyter_server/plotly_script.py); the query names the bundle's version, so a browser may cache it.
PLOTLY_ROUTE = "pynenc/static/plotly.js"
# plotly.min.js is a UMD bundle: hide the CommonJS and AMD globals it would prefer, so that it
# sets window.Plotly, and skip it when a page already has Plotly.
_LIBRARY_HEAD = (
    "if (!globalThis.Plotly) { (function () { const module = undefined, define = undefined, exports = undefined;\n"
)
_LIBRARY_TAIL = "\n}).call(globalThis); }\n"


def plotly_js() -> str:
    """The plotly.js bundle that the plotly package ships (the one its own widgets use)."""
    plotly = _optional("plotly")
    return (Path(str(plotly.__file__)).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


@functools.cache
def plotly_script() -> bytes:
    """plotly.js as the page runs it (see ``_LIBRARY_HEAD``), for the server route and the kernel."""
    return (_LIBRARY_HEAD + plotly_js() + _LIBRARY_TAIL).encode()


@functools.cache
def plotly_script_path() -> str:
    """The route's path with the bundle's version, relative to the server's base URL."""
    return f"{PLOTLY_ROUTE}?v={hashlib.sha256(plotly_script()).hexdigest()[:16]}"


@functools.cache
def _classes() -> type[Any]:
    anywidget = _optional("anywidget")
    traitlets = _optional("traitlets")

    class FigureView(anywidget.AnyWidget):  # type: ignore[misc,name-defined]
        """A live figure: its first state here, later states as patches (see the module docstring)."""

        _esm = VIEW_ESM.read_text(encoding="utf-8")
        plotly = traitlets.Unicode(plotly_script_path()).tag(sync=True)  # under the server's base URL
        key = traitlets.Unicode().tag(sync=True)  # names the figure's state in the page
        figure = traitlets.Dict().tag(sync=True)
        config = traitlets.Dict().tag(sync=True)
        version = traitlets.Int(0).tag(sync=True)

        def __init__(self, figure: FigureDict, **kwargs: Any) -> None:
            # before the widget opens its comm: get_state (the open) takes it
            self._send_lock = threading.RLock()
            super().__init__(
                key=uuid.uuid4().hex,
                figure=dict(figure),
                config=dict(PLOTLY_CONFIG),
                version=0,
                **kwargs,
            )
            self._click_handlers: list[Callable[[str], None]] = []
            self.on_msg(self._received)

        @property
        def current(self) -> FigureDict:
            """What the views show once they applied every message (the ``figure`` trait, which
            ``update`` keeps without sending it)."""
            figure: FigureDict = self._trait_values["figure"]
            return figure

        @property
        def current_version(self) -> int:
            return int(self._trait_values["version"])

        def get_state(self, key: Any = None) -> dict[str, Any]:
            """The state a new view starts from: figure and version of one moment, never the
            figure of one update with the version of the next."""
            with self._send_lock:
                state: dict[str, Any] = super().get_state(key)
                return state

        def update(self, after: FigureDict) -> bool:
            """Bring the views to ``after``; False (nothing sent) when it is what they show."""
            with self._send_lock:
                patch = diff(self.current, after)
                if patch is None:
                    return False
                version = self.current_version + 1
                self.send({"type": "patch", "base": version - 1, "version": version, "patch": patch})
                # The model's state follows without a message of its own (the trait values are
                # stored past traitlets' notifications, which would send the figure whole): a view
                # made later (a page reload asks for the state) starts from the latest figure.
                self._trait_values["figure"] = after
                self._trait_values["version"] = version
                return True

        def on_point_click(self, handler: Callable[[str], None]) -> None:
            """``handler(customdata)`` when the user clicks a point that carries a customdata string."""
            self._click_handlers.append(handler)

        def clicked_id(self, trace: int, point: int, version: Any, ident: Any) -> str | None:
            """The customdata of the clicked point: by index in the figure the click was made on
            (the current one), else the id the browser read, if the current figure still shows it
            on that trace: indices move between versions, and the browser names nothing we did not
            show it."""
            with self._send_lock:
                data = self.current.get("data") or []
                if not 0 <= trace < len(data):
                    return None
                ids = data[trace].get("customdata") or ()
                if version == self.current_version:
                    found = ids[point] if 0 <= point < len(ids) else None
                else:
                    found = ident if isinstance(ident, str) and ident in ids else None
            return str(found) if found else None

        def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
            if not isinstance(content, dict):
                return
            if content.get("type") == "source":  # a page that cannot fetch the server's route
                self.send({"type": "source"}, buffers=[plotly_script()])
            elif content.get("type") == "sync":
                with self._send_lock:
                    if content.get("version") != self.current_version:
                        self.send({"type": "full", "figure": self.current, "version": self.current_version})
            elif content.get("type") == "click":
                trace, point = content.get("trace"), content.get("point")
                if not isinstance(trace, int) or not isinstance(point, int):
                    return
                ident = self.clicked_id(trace, point, content.get("version"), content.get("id"))
                if ident is not None:
                    for handler in self._click_handlers:
                        handler(ident)

    return FigureView


def figure_view(figure: FigureDict) -> Any:
    """A new live view of ``figure``."""
    return _classes()(figure)
