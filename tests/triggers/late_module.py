"""Tasks of the seed app defined in another module: a runner stores their triggers only when
``trigger_task_modules`` names this module (it is imported by nothing else)."""

from __future__ import annotations

from pynenc_nb import TriggerBuilder
from tests.triggers.seed_app import app


@app.task(triggers=TriggerBuilder().on_event("late_event"))
def late_reaction() -> str:
    return "late"
