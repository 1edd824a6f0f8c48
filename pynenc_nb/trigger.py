"""The app's trigger entry point. Events are stored now; condition evaluation runs in the services."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pynenc_nb.exceptions import TriggerError
from pynenc_nb.ports import TriggerStore
from pynenc_nb.records import new_id


class TriggerManager:
    """``app.trigger``; the store comes through a getter, as the app reopens its backends after fork."""

    def __init__(self, store: Callable[[], TriggerStore]) -> None:
        self._store = store

    def emit_event(self, event_code: str, payload: dict[str, Any] | None = None) -> str:
        """Store an event for triggers declared with ``on_event``; returns its id."""
        if not event_code or not isinstance(event_code, str):
            raise TriggerError(f"an event code must be a non-empty string, got {event_code!r}")
        try:
            text = json.dumps(payload or {})
        except TypeError as exc:
            raise TriggerError(f"event {event_code!r}: the payload must be JSON-compatible ({exc})") from None
        event_id = new_id()
        self._store().add_event(event_id, event_code, text, time.time())
        return event_id
