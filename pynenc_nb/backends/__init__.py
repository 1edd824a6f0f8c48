"""Backends chosen by URL through an explicit registry with lazy imports (``registry.py``).

``memory:`` and ``sqlite:///path`` ship in the core; ``redis://``, ``mongodb://`` and ``amqp://``
need their extras. Third-party backends register a factory under the ``pynenc_nb.backends``
entry-point group, named by URL scheme.
"""

from __future__ import annotations

from pynenc_nb.backends.bundle import Backends
from pynenc_nb.backends.registry import Backend, open_backend

__all__ = ["Backend", "Backends", "open_backend"]
