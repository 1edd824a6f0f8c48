"""The stored triggers in words: ``on_event feed_updated``, ``on_cron */15 * * * *``.

Read from the definition's JSON alone (``trigger/definition.py`` writes it): the values a filter
holds are encoded with the app's serializer, possibly as pickles, so they are never decoded here;
a condition only says that it filters ("payload filter", "call filter", "result filter").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pynenc_nb.monitor.common import safe_text
from pynenc_nb.monitor.event_models import TriggerView

if TYPE_CHECKING:
    from pynenc_nb.monitor.source import MonitorSource

UNREADABLE = "(definition unreadable)"
CONDITION_CHARS = 300


def build_triggers(app: MonitorSource) -> list[TriggerView]:
    """Every stored trigger, by task id then trigger id."""
    views = [
        trigger_view(trigger_id, task_id, text) for trigger_id, (task_id, text) in app.trigger_store.triggers().items()
    ]
    return sorted(views, key=lambda view: (view.task_id, view.trigger_id))


def trigger_view(trigger_id: str, task_id: str, text: str) -> TriggerView:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("conditions"), list):
        return TriggerView(trigger_id, task_id, "and", (), (), UNREADABLE)
    logic = "or" if data.get("logic") == "or" else "and"
    items = data["conditions"]
    conditions = tuple(safe_text(describe(item), CONDITION_CHARS) for item in items)
    codes = tuple(
        dict.fromkeys(
            item["code"]
            for item in items
            if isinstance(item, dict) and item.get("kind") == "event" and isinstance(item.get("code"), str)
        )
    )
    summary = f" {logic.upper()} ".join(conditions) or "(no condition)"
    return TriggerView(trigger_id, task_id, logic, conditions, codes, summary)


def describe(condition: Any) -> str:
    """One condition as the builder method that made it would read."""
    if not isinstance(condition, dict):
        return "unknown condition"
    kind = condition.get("kind")
    task = _short(condition.get("task"))
    notes = ["call filter"] if condition.get("arguments") else []
    if kind == "event":
        text = f"on_event {condition.get('code')}"
        notes = ["payload filter"] if condition.get("payload") else []
    elif kind == "cron":
        text = f"on_cron {condition.get('expression')}"
    elif kind == "status":
        text = f"on_status {task} {', '.join(map(str, condition.get('statuses') or []))}"
    elif kind == "result":
        filtered = "result_function" in condition or "result_value" in condition
        text = f"on_result {task}" if filtered else f"on_any_result {task}"
        notes += ["result filter"] if filtered else []
    elif kind == "exception":
        types = ", ".join(map(str, condition.get("types") or [])) or "any exception"
        text = f"on_exception {task} {types}"
    else:
        return f"unknown condition {kind}"
    return text + (f" ({', '.join(notes)})" if notes else "")


def _short(task_id: Any) -> str:
    """A task's short name (its function name), as users write it in the builder."""
    return task_id.rsplit(".", 1)[-1] if isinstance(task_id, str) else "?"
