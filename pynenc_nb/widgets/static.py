"""Static outputs: what a cell shows once live updates stop, or instead of a live widget.

A static bundle holds the figure as ``application/vnd.plotly.v1+json`` (JupyterLab, VS Code and
nbviewer draw it with Plotly, offline), the same figure as ``text/html`` with Plotly from its CDN
(nbconvert HTML and other HTML renderers) preceded by a caption that needs no JavaScript, and
``text/plain``. Only figure JSON and escaped display strings go in: no URL, no pickle.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pynenc_nb.widgets.environment import plotly_io
from pynenc_nb.widgets.figures.common import FigureDict

PLOTLY_MIME = "application/vnd.plotly.v1+json"
MimeBundle = dict[str, Any]
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def fingerprint(payload: Any) -> str:
    """A short hash of a JSON-ready payload: equal payloads, equal fingerprints."""
    encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(encoded.encode(), digest_size=16).hexdigest()


def figure_html(figure: FigureDict) -> str:
    """The figure as an HTML fragment that loads Plotly from its CDN (no 4 MB inline copy)."""
    height = figure["layout"].get("height")
    html: str = plotly_io().to_html(
        dict(figure),
        full_html=False,
        include_plotlyjs="cdn",
        validate=False,
        config=PLOTLY_CONFIG,
        default_height=f"{height}px" if isinstance(height, int) else "100%",
        default_width="100%",
    )
    return html


def figure_bundle(figure: FigureDict, *, caption_html: str, text: str, extra_html: str = "") -> MimeBundle:
    return {
        PLOTLY_MIME: {"data": figure["data"], "layout": figure["layout"], "config": PLOTLY_CONFIG},
        "text/html": f'<div class="pynenc-static">{caption_html}{figure_html(figure)}{extra_html}</div>',
        "text/plain": text,
    }


def html_bundle(html: str, text: str) -> MimeBundle:
    return {"text/html": html, "text/plain": text}
