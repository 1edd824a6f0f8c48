"""What every inline widget does: show itself live in a kernel, then leave a static figure.

In a kernel with comms, ``display(widget)`` shows the ipywidgets with a display id and starts the
widget's live thread; when the thread ends (everything final, stopped, closed) the same output is
replaced by a static bundle (Plotly JSON + HTML + text), so a saved notebook shows the final
picture without a kernel and without megabytes of widget state. Elsewhere (a terminal, a script,
``live=False``) the static bundle is shown at once.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from pynenc_nb.exceptions import ConfigError
from pynenc_nb.records import new_id
from pynenc_nb.widgets import environment
from pynenc_nb.widgets.live import EndReason, LiveLoop, Part
from pynenc_nb.widgets.static import MimeBundle

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# Marks a live widget's output: its other mime types are a static snapshot to keep when saving.
SNAPSHOT_METADATA = {"pynenc_nb": {"snapshot": True}}
DEFAULT_INTERVAL_S = 0.5  # at most two updates a second
DEFAULT_GRACE_S = 5.0
DEFAULT_MAX_LIVE_S = 3600.0

_live: set[LiveWidget] = set()  # widgets whose live thread runs (see freeze_all)
_live_lock = threading.Lock()


def _check(name: str, value: float | None, *, allow_none: bool = False, allow_zero: bool = False) -> None:
    if value is None and allow_none:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value is None or value < 0 or (value == 0 and not allow_zero):
        allowed = (
            "a number of seconds" + (" (0 or more)" if allow_zero else " above 0") + (" or None" if allow_none else "")
        )
        raise ConfigError(f"{name}={value!r}: expected {allowed}", variable=name, value=value)


class LiveWidget(ABC):
    """Base of the inline widgets (see the module docstring).

    ``updates_sent`` counts the changes sent to the browser (comm update batches of a part),
    ``ticks`` the times the views were computed; both are there to be measured.
    """

    #: show the static bundle directly when everything is already final at display time
    static_when_final: bool = False

    def __init__(self, *, live: bool, interval_s: float, grace_s: float, max_live_s: float | None) -> None:
        _check("interval_s", interval_s)
        _check("grace_s", grace_s, allow_zero=True)
        _check("max_live_s", max_live_s, allow_none=True)
        self.live = live
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.max_live_s = max_live_s
        self.display_id: str | None = None
        self._loop: LiveLoop | None = None
        self._lock = threading.Lock()
        self._ended = False
        self.snapshots_sent = 0  # refreshed static snapshots (refresh_snapshots, before saves)

    def __repr__(self) -> str:
        if self.running:
            state = f"live, {self.updates_sent} updates sent"
        elif self.ended_because is not None:
            state = f"static ({self.ended_because}), {self.updates_sent} updates sent"
        else:
            state = "not shown live"
        return f"<{type(self).__name__} {state}>"

    # --- what a widget defines -------------------------------------------------------------------

    @property
    @abstractmethod
    def parts(self) -> Sequence[Part[Any]]:
        """The live parts, in a fixed order."""

    @abstractmethod
    def _container(self) -> Any:
        """The ipywidgets layout of the parts' widgets."""

    @abstractmethod
    def static_bundle(self) -> MimeBundle:
        """The static output of the parts' shown state."""

    # --- showing ---------------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        self.show()

    def show(self) -> None:
        """Display live in a kernel with comms (once per widget), static anywhere else."""
        from IPython.display import display

        already_final = self.static_when_final and all(part.shown.final for part in self.parts)
        if not self.live or self._ended or already_final or not environment.comms_available():
            display(self.static_bundle(), raw=True)  # type: ignore[no-untyped-call]
            return
        with self._lock:
            if self.display_id is None:
                self.display_id = new_id()
        from pynenc_nb.widgets.snapshots import register_snapshot_target

        register_snapshot_target()
        display(self.live_bundle(), raw=True, metadata=SNAPSHOT_METADATA, display_id=self.display_id)  # type: ignore[no-untyped-call]
        self.start()

    def live_bundle(self) -> MimeBundle:
        """The widget view, with the static figure of this moment beside it: JupyterLab shows the
        widget, and a notebook saved while it is live keeps the figure (the server's pre-save hook,
        ``web/saving.py``, drops the widget view of outputs marked ``SNAPSHOT_METADATA``)."""
        container = self._container()
        view = container._repr_mimebundle_() if hasattr(container, "_repr_mimebundle_") else {}
        view = view[0] if isinstance(view, tuple) else view
        return {**self.static_bundle(), **{k: v for k, v in view.items() if k == WIDGET_VIEW_MIME}}

    def start(self) -> None:
        """Start the live thread (``show`` does it; call it directly to measure without display)."""
        with self._lock:
            if self._loop is not None or self._ended:
                return
            self._loop = LiveLoop(
                self.parts,
                interval_s=self.interval_s,
                grace_s=self.grace_s,
                max_live_s=self.max_live_s,
                on_end=self._finish,
                name=f"pynenc-{type(self).__name__.lower()}",
                on_snapshot=self._refresh_snapshot,
            )
            with _live_lock:
                _live.add(self)
            self._loop.start()

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Stop live updates now; the output becomes the static figure. False if that timed out."""
        with self._lock:
            loop = self._loop
            if loop is None:
                self._ended = True
        if loop is None:
            for part in self.parts:
                part.close()
            return True
        loop.stop()
        if threading.current_thread() is loop.thread:
            return True
        return loop.join(timeout)

    def close(self) -> None:
        """Stop live updates and close the widgets (what closing a widget means to its thread)."""
        self.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until live updates ended by themselves (or were stopped); False on timeout."""
        loop = self._loop
        return True if loop is None else loop.join(timeout)

    # --- state, for users and measurements -------------------------------------------------------

    @property
    def running(self) -> bool:
        loop = self._loop
        return loop is not None and loop.running

    @property
    def updates_sent(self) -> int:
        return sum(part.updates_sent for part in self.parts)

    @property
    def ticks(self) -> int:
        return self._loop.ticks if self._loop is not None else 0

    @property
    def ended_because(self) -> EndReason | None:
        return self._loop.ended_because if self._loop is not None else None

    @property
    def error(self) -> BaseException | None:
        return self._loop.error if self._loop is not None else None

    def _refresh_snapshot(self) -> None:
        """In the live thread: the output's static figure becomes the one shown now (before a save)."""
        from IPython.display import update_display

        if self.display_id is not None:
            update_display(self.live_bundle(), display_id=self.display_id, raw=True, metadata=SNAPSHOT_METADATA)  # type: ignore[no-untyped-call]
            self.snapshots_sent += 1

    # --- the end of live updates -----------------------------------------------------------------

    def _finish(self) -> None:
        """Runs once, in the live thread as it ends: static output in place of the widgets."""
        from IPython.display import update_display

        self._ended = True
        try:
            if self.ended_because != "error":
                for part in self.parts:
                    part.settle()
        except Exception:  # the views cannot be read any more: keep what was shown last
            pass
        try:
            if self.display_id is not None:
                update_display(self.static_bundle(), display_id=self.display_id, raw=True)  # type: ignore[no-untyped-call]
        finally:
            for part in self.parts:
                part.close()
            with _live_lock:
                _live.discard(self)


def display_handle(build: Callable[[], LiveWidget], handle: Any) -> None:
    """``display(handle)`` of an invocation or a group: its live widget in a kernel with comms,
    the handle's own static HTML elsewhere."""
    from IPython.display import display

    if environment.comms_available():
        build().show()
    else:
        display({"text/html": handle._repr_html_(), "text/plain": repr(handle)}, raw=True)  # type: ignore[no-untyped-call]


def live_widgets() -> list[LiveWidget]:
    """The widgets of this kernel whose live updates are running."""
    with _live_lock:
        return list(_live)


def refresh_snapshots(timeout: float = 2.0) -> int:
    """Bring the static snapshot of every live widget up to date (the labextension asks this just
    before JupyterLab saves the notebook); returns how many were refreshed within ``timeout``."""
    deadline = time.monotonic() + timeout
    requests = [widget._loop.request_snapshot() for widget in live_widgets() if widget._loop is not None]
    return sum(done.wait(max(0.0, deadline - time.monotonic())) for done in requests)


def freeze_all(timeout: float | None = 30.0) -> int:
    """Stop every live widget now, leaving static figures (do it before saving a notebook to
    share); returns how many were live."""
    widgets = live_widgets()
    for widget in widgets:
        widget.stop(timeout)
    return len(widgets)
