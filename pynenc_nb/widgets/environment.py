"""Where the widgets run: whether a frontend can host live widgets, and the optional imports."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from pynenc_nb.exceptions import MissingDependencyError


def comms_available() -> bool:
    """True inside a Jupyter kernel (IPython over ZMQ, with comms) where ipywidgets and Plotly are
    installed; False in a terminal, a script, or without the ``jupyter`` extra.

    Why: live widgets need a frontend at the other end of a comm. Elsewhere the widgets show their
    static figure instead, which any frontend (and a saved notebook) can render.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    return all(importlib.util.find_spec(name) is not None for name in ("ipywidgets", "plotly"))


def _optional(module: str) -> ModuleType:
    """Plotly and ipywidgets come with the ``jupyter`` extra; imported on first use only."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError("inline widgets", "jupyter") from exc


def plotly_io() -> ModuleType:
    return _optional("plotly.io")


def ipywidgets() -> ModuleType:
    return _optional("ipywidgets")
