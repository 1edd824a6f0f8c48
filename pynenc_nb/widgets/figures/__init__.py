"""Pure figure builders: monitor view-model in, Plotly figure JSON out.

No Plotly, ipywidgets or kernel needed: the inline widgets, their static fallback and any other
renderer of the monitor views draw the same figures from here.
"""

from __future__ import annotations

from pynenc_nb.widgets.figures.common import FigureDict, colour
from pynenc_nb.widgets.figures.palette import task_colour
from pynenc_nb.widgets.figures.runners import runners_figure
from pynenc_nb.widgets.figures.timeline import timeline_figure
from pynenc_nb.widgets.figures.tree import family_tree_figure

__all__ = ["FigureDict", "colour", "family_tree_figure", "runners_figure", "task_colour", "timeline_figure"]
