"""The ``pynenc`` command (also ``python -m pynenc_nb``); the entry point is ``pynenc_nb.cli:main``."""

from __future__ import annotations

from pynenc_nb.cli.main import main

__all__ = ["main"]
