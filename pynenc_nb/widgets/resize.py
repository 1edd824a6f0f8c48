"""Live figures as wide as their cell: a tiny invisible widget that resizes them once shown.

Why: plotly's ``FigureWidget`` (an anywidget) draws its figure when its view is rendered, before
the view is in the page, so a figure without a fixed width gets plotly's default 700 px and
keeps it: a third of a wide cell. Next to the figure, this widget watches the box they share
and, when a figure's drawn width differs from its box, forgets the default width the figure
was first drawn at and fires the window ``resize`` event that plotly's ``responsive`` mode (set on
our figure widgets) answers by refitting. No plotly.js of our
own, nothing kept in the notebook beyond the widget's ESM (under 1 kB).
"""

from __future__ import annotations

import functools
from typing import Any

from pynenc_nb.widgets.environment import _optional

FIT_ESM = """
export default {
  render({ el }) {
    el.style.cssText = 'width:100%;height:0;margin:0;padding:0;overflow:hidden';
    let frame = 0;
    const box = () => el.parentElement;
    const fit = () => {
      frame = 0;
      const root = box();
      if (!root || !root.isConnected) return;
      for (const plot of root.querySelectorAll('.js-plotly-plot')) {
        const drawn = plot._fullLayout ? plot._fullLayout.width : 0;
        const room = plot.clientWidth;
        if (drawn && room > 0 && Math.abs(room - drawn) > 2) {
          if (plot.layout) delete plot.layout.width; // the default width it was first drawn at (ours set none)
          window.dispatchEvent(new Event('resize'));
          return;
        }
      }
    };
    const later = () => { if (!frame) frame = requestAnimationFrame(fit); };
    const observer = new ResizeObserver(later);
    let tries = 0;
    const watch = () => {
      const root = box();
      if (root) { observer.observe(root); later(); } else if (tries++ < 50) setTimeout(watch, 100);
    };
    setTimeout(watch, 0);
    document.addEventListener('plotlywidget-after-render', later); // a figure just drawn
    const timer = setInterval(later, 500); // a figure redrawn at its old width
    return () => {
      observer.disconnect();
      clearInterval(timer);
      document.removeEventListener('plotlywidget-after-render', later);
    };
  },
};
"""


@functools.cache
def _fit_class() -> type[Any]:
    anywidget = _optional("anywidget")
    return type("FitWidth", (anywidget.AnyWidget,), {"_esm": FIT_ESM, "__doc__": "Refits live figures to their box."})


def fit_width() -> Any:
    """A new invisible widget to put in the box of one or more live figures."""
    return _fit_class()()


def full_width_box(children: list[Any]) -> Any:
    """A ``VBox`` of ``children`` as wide as the cell, its live figures refitted to it."""
    ipywidgets = _optional("ipywidgets")
    return ipywidgets.VBox([*children, fit_width()], layout=ipywidgets.Layout(width="100%", align_items="stretch"))
