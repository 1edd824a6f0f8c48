"""Typed configuration and the sources it is read from."""

from pynenc_nb.conf.loader import coerce, load_config
from pynenc_nb.conf.settings import RUNNER_CLASSES, PynencConfig

__all__ = ["RUNNER_CLASSES", "PynencConfig", "coerce", "load_config"]
