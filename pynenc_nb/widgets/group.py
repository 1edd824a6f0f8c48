"""``GroupProgress(group)``: a fan-out's live progress bar (done, failed, running, queued, rate).

``display(group)`` and ``group.wait_interactive()`` in a kernel show it once ``%load_ext pynenc_nb``
registered :func:`display_group`; it ends, like every inline widget, as a static bar.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynenc_nb.display import group_html, group_progress
from pynenc_nb.widgets.base import DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S, LiveWidget, display_handle
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import HtmlPart
from pynenc_nb.widgets.static import MimeBundle, html_bundle

if TYPE_CHECKING:
    from pynenc_nb.invocation.handle import InvocationGroup


class GroupProgress(LiveWidget):
    """Counts read with one ``get_many`` of the group's ids per tick, at most two ticks a second."""

    static_when_final = True

    def __init__(
        self,
        group: InvocationGroup[Any],
        *,
        live: bool = True,
        interval_s: float = DEFAULT_INTERVAL_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        super().__init__(live=live, interval_s=interval_s, grace_s=0.0, max_live_s=max_live_s)
        self.group = group
        self.started = time.monotonic()
        self.final_at: float | None = None
        self.bar: Part[str] = HtmlPart(self._build)

    def _build(self) -> tuple[str, bool]:
        counts = self.group.status_counts()
        progress = group_progress(counts)
        total = len(self.group)
        final = progress["done"] + progress["failed"]
        elapsed = time.monotonic() - self.started
        rate = final / elapsed if final and elapsed > 0 else None
        return group_html(self.group.task_id, total, counts, rate), final >= total

    @property
    def parts(self) -> Sequence[Part[Any]]:
        return (self.bar,)

    def _container(self) -> Any:
        return self.bar.widget

    def static_bundle(self) -> MimeBundle:
        return html_bundle(self.bar.shown.payload, repr(self.group))


def display_group(group: InvocationGroup[Any]) -> None:
    """``display(group)``: a live bar in a kernel with comms, the static bar elsewhere."""
    display_handle(lambda: GroupProgress(group), group)
