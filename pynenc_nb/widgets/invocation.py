"""``InvocationView(invocation)``: one invocation whose status badge follows it until it is final.

``display(invocation)`` in a kernel shows it once ``%load_ext pynenc_nb`` registered
:func:`display_invocation` as IPython's display formatter for invocations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynenc_nb.monitor import InvocationDetailView, Monitor
from pynenc_nb.widgets.base import DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S, LiveWidget, display_handle
from pynenc_nb.widgets.html import invocation_card
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import HtmlPart
from pynenc_nb.widgets.static import MimeBundle, html_bundle
from pynenc_nb.widgets.tree import invocation_ref

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc
    from pynenc_nb.invocation.handle import Invocation


class InvocationView(LiveWidget):
    """A live card of one invocation. Already final when shown: a static card, no widget at all."""

    static_when_final = True

    def __init__(
        self,
        invocation_or_id: Invocation[Any] | str,
        app: Pynenc | None = None,
        *,
        live: bool = True,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = 0.0,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)
        self.app, self.invocation_id = invocation_ref(invocation_or_id, app)
        self.queries = Monitor(self.app)
        self.view: InvocationDetailView | None = None
        self.card: Part[str] = HtmlPart(self._build)

    def _build(self) -> tuple[str, bool]:
        view = self.queries.invocation_detail(self.invocation_id, children_limit=5)
        self.view = view
        return invocation_card(view), view.invocation.final

    @property
    def parts(self) -> Sequence[Part[Any]]:
        return (self.card,)

    def _container(self) -> Any:
        return self.card.widget

    def static_bundle(self) -> MimeBundle:
        view = self.view
        summary = view.invocation if view is not None else None
        text = (
            f"<Invocation {summary.invocation_id[:12]} {summary.task_id} {summary.status.value}>"
            if summary is not None
            else f"<Invocation {self.invocation_id[:12]}>"
        )
        return html_bundle(self.card.shown.payload, text)


def display_invocation(invocation: Invocation[Any]) -> None:
    """``display(invocation)``: a live card in a kernel with comms, the HTML repr elsewhere."""
    display_handle(lambda: InvocationView(invocation), invocation)
