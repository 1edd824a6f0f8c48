"""IPython magics and runner launchers for pynenc_nb (``%load_ext pynenc_nb``)."""

from kernel_magics.extension import load_ipython_extension

__all__ = ["load_ipython_extension"]
