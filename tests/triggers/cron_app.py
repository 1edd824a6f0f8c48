"""A cron-triggered task for the tests with runner processes (configured by ``PYNENC__*``)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from pynenc_nb import Pynenc, TriggerBuilder

app = Pynenc()


@app.task(triggers=TriggerBuilder().on_cron("* * * * *"))
def tick() -> str:
    return "tick"


def load() -> ModuleType:
    return importlib.reload(sys.modules[__name__])
