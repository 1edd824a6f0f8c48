"""The detail shown under a figure for the invocation the user clicked."""

from __future__ import annotations

from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.monitor import Monitor
from pynenc_nb.widgets.html import hint, invocation_card
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import HtmlPart


class Selection:
    """The selected invocation and its live detail card (final once the invocation is)."""

    def __init__(self, queries: Monitor, prompt: str) -> None:
        self.queries = queries
        self.prompt = prompt
        self.invocation_id: str | None = None
        self.part: Part[str] = HtmlPart(self._build)

    def _build(self) -> tuple[str, bool]:
        if self.invocation_id is None:
            return hint(self.prompt), True
        try:
            view = self.queries.invocation_detail(self.invocation_id)
        except InvocationNotFoundError:
            return hint(f"invocation {self.invocation_id} no longer exists (purged?)"), True
        return invocation_card(view), view.invocation.final

    def select(self, invocation_id: str) -> None:
        self.invocation_id = invocation_id
        self.part.refresh()

    def static_html(self) -> str:
        """The card for a static output; nothing when nothing was selected (no prompt to click)."""
        return "" if self.invocation_id is None else self.part.shown.payload
