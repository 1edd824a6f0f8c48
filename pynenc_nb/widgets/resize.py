"""Live widgets as wide as their cell.

The box stretches its children to the cell's width; each live figure (``plotly_view.js``) waits
to draw until it is in the page with a width (up to 600 animation frames, then draws anyway), and
refits when its box is resized, so no figure keeps plotly's default 700 px.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb.widgets.environment import _optional


def full_width_box(children: list[Any]) -> Any:
    """A ``VBox`` of ``children`` as wide as the cell."""
    ipywidgets = _optional("ipywidgets")
    return ipywidgets.VBox(children, layout=ipywidgets.Layout(width="100%", align_items="stretch"))
