"""``LiveTable``: an inline widget that is one HTML table (events, workflows, a workflow's detail):
rebuilt while live, left as the same table with a plain-text twin once static."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from pynenc_nb.widgets.base import LiveWidget
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import HtmlPart
from pynenc_nb.widgets.static import MimeBundle, html_bundle


class LiveTable(LiveWidget):
    def __init__(self, *, live: bool, interval_s: float, grace_s: float, max_live_s: float | None) -> None:
        """Subclasses set what `_build` reads first, then call this: the table is built here."""
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)
        self.table: Part[str] = HtmlPart(self._build)

    @abstractmethod
    def _build(self) -> tuple[str, bool]:
        """(the table's HTML, whether everything it shows is final)."""

    @abstractmethod
    def text(self) -> str:
        """The plain-text form of what was shown last (the static bundle's text/plain)."""

    @property
    def parts(self) -> Sequence[Part[Any]]:
        return (self.table,)

    def _container(self) -> Any:
        return self.table.widget

    def static_bundle(self) -> MimeBundle:
        return html_bundle(self.table.shown.payload, self.text())
