"""``FamilyTree(invocation)``: an invocation and its descendants, live until all of them are final."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynenc_nb.app import Pynenc, app_of
from pynenc_nb.exceptions import ConfigError
from pynenc_nb.invocation.handle import Invocation
from pynenc_nb.monitor import FamilyTreeView, Monitor
from pynenc_nb.widgets.base import DEFAULT_GRACE_S, DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S, LiveWidget
from pynenc_nb.widgets.figures.common import FigureDict, short_task
from pynenc_nb.widgets.figures.tree import family_tree_figure
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import FigurePart
from pynenc_nb.widgets.resize import full_width_box
from pynenc_nb.widgets.selection import Selection
from pynenc_nb.widgets.static import MimeBundle, figure_bundle


def invocation_ref(invocation_or_id: Invocation[Any] | str, app: Pynenc | None) -> tuple[Pynenc, str]:
    """(app, invocation id) from an invocation handle, or from an id and its app."""
    if isinstance(invocation_or_id, Invocation):
        return app or app_of(invocation_or_id), invocation_or_id.invocation_id
    if isinstance(invocation_or_id, str):
        if app is None:
            raise ConfigError(f"FamilyTree({invocation_or_id!r}): pass app=... with an invocation id")
        return app, invocation_or_id
    raise ConfigError(f"expected an Invocation or an invocation id, got a {type(invocation_or_id).__name__}")


class FamilyTree(LiveWidget):
    """The family tree of an invocation (``depth`` generations); click a node for its detail.

    An unknown id raises ``InvocationNotFoundError`` at once.
    """

    def __init__(
        self,
        invocation_or_id: Invocation[Any] | str,
        app: Pynenc | None = None,
        *,
        depth: int = 3,
        live: bool = True,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = DEFAULT_GRACE_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)
        self.app, self.invocation_id = invocation_ref(invocation_or_id, app)
        self.depth = depth
        self.queries = Monitor(self.app)
        self.view: FamilyTreeView | None = None
        self.selection = Selection(self.queries, "Click a node to see that invocation here.")
        self.figure: Part[FigureDict] = FigurePart(self._build, on_click=self.selection.select)

    def _build(self) -> tuple[FigureDict, bool]:
        view = self.queries.family_tree(self.invocation_id, self.depth)
        self.view = view
        return family_tree_figure(view), all(node.status.is_final for node in view.nodes)

    @property
    def parts(self) -> Sequence[Part[Any]]:
        return (self.figure, self.selection.part)

    def _container(self) -> Any:
        return full_width_box([self.figure.widget, self.selection.part.widget])

    def static_bundle(self) -> MimeBundle:
        view = self.view
        nodes = len(view.nodes) if view is not None else 0
        root = next((n for n in view.nodes if n.invocation_id == self.invocation_id), None) if view else None
        name = short_task(root.task_id) if root is not None else "?"
        text = f"Family tree of {name} {self.invocation_id}: {nodes} invocations"
        return figure_bundle(
            self.figure.shown.payload, caption_html="", text=text, extra_html=self.selection.static_html()
        )
