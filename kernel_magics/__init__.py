"""IPython magics and runner launchers for pynenc_nb (``%load_ext pynenc_nb``)."""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    from kernel_magics.magics import PynencMagics

    ipython.register_magics(PynencMagics)
