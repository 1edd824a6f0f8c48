"""``RunnersPanel(app)``: busy and free slots of each runner, with its state and heartbeat age."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pynenc_nb.monitor import Monitor, RunnerView
from pynenc_nb.widgets.base import DEFAULT_GRACE_S, DEFAULT_INTERVAL_S, DEFAULT_MAX_LIVE_S, LiveWidget
from pynenc_nb.widgets.figures.common import FigureDict
from pynenc_nb.widgets.figures.runners import runners_figure
from pynenc_nb.widgets.live import Part
from pynenc_nb.widgets.parts import FigurePart
from pynenc_nb.widgets.static import MimeBundle, figure_bundle

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc


def runners_text(runners: Sequence[RunnerView]) -> str:
    lines = [f"{sum(r.alive for r in runners)} of {len(runners)} runners alive"]
    lines += [
        f"  {r.name or r.label}: {r.state}, busy {r.busy}/{r.slots}, heartbeat {r.heartbeat_age_s:.0f} s ago"
        for r in runners
    ]
    return "\n".join(lines)


class RunnersPanel(LiveWidget):
    """Runners that are running, stopping or lost; live while any of them is alive."""

    def __init__(
        self,
        app: Pynenc,
        *,
        live: bool = True,
        interval_s: float = DEFAULT_INTERVAL_S,
        grace_s: float = DEFAULT_GRACE_S,
        max_live_s: float | None = DEFAULT_MAX_LIVE_S,
    ) -> None:
        super().__init__(live=live, interval_s=interval_s, grace_s=grace_s, max_live_s=max_live_s)
        self.app = app
        self.queries = Monitor(app)
        self.runners: list[RunnerView] = []
        self.figure: Part[FigureDict] = FigurePart(self._build)

    def _build(self) -> tuple[FigureDict, bool]:
        self.runners = self.queries.runners()
        return runners_figure(self.runners), not any(r.alive for r in self.runners)

    @property
    def parts(self) -> Sequence[Part[Any]]:
        return (self.figure,)

    def _container(self) -> Any:
        return self.figure.widget

    def static_bundle(self) -> MimeBundle:
        return figure_bundle(self.figure.shown.payload, caption_html="", text=runners_text(self.runners))
