"""The app used by ``pynenc benchmark``: configured entirely from ``PYNENC__*`` variables."""

from __future__ import annotations

from pynenc_nb.app import Pynenc

app = Pynenc()


@app.task
def noop(i: int) -> int:
    return i
