"""Typed configuration and the sources it is read from."""

from pynenc_nb.conf.loader import coerce, load_config
from pynenc_nb.conf.settings import PynencConfig

__all__ = ["PynencConfig", "coerce", "load_config"]
