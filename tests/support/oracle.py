"""The status-history oracle: every stored history must replay cleanly against the status table."""

from __future__ import annotations

from pynenc_nb.app import Pynenc
from pynenc_nb.invocation.status import replay_errors
from pynenc_nb.records import InvocationFilter


def history_errors(app: Pynenc) -> dict[str, list[str]]:
    """Invocation id -> what breaks the table in its history (empty when all is well)."""
    problems: dict[str, list[str]] = {}
    cursor: str | None = None
    while True:
        records, cursor = app.state_backend.query(InvocationFilter(), limit=500, cursor=cursor)
        for record in records:
            history = app.state_backend.history(record.invocation_id)
            errors = replay_errors((c.status, c.owner_id, c.runner_id) for c in history)
            if history and history[-1].status != record.status:
                errors.append(f"history ends {history[-1].status} but the record is {record.status}")
            if errors:
                problems[record.invocation_id] = errors
        if cursor is None:
            return problems


def assert_histories_valid(app: Pynenc) -> None:
    problems = history_errors(app)
    assert not problems, f"histories break the status table: {problems}"
