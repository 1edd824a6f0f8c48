"""SQLite builds records from its rows by position: every field must come back as it was stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pynenc_nb.backends import open_backend
from pynenc_nb.records import InvocationFilter, WorkflowIdentity
from tests.conformance.builders import NON_FINAL, S, cas, record


def test_every_field_of_a_record_reads_back_as_stored(tmp_path: Path) -> None:
    # Given a record whose every field holds a value of its own
    backend = open_backend(f"sqlite:///{tmp_path / 'records.db'}", "records")
    try:
        state = backend.state()
        wanted = replace(
            record("tests.task", parent="p" * 32, registration_key="reg-key", running_key="run-key"),
            arguments='{"x": "arguments"}',
            args_display='{"x": "display"}',
            workflow=WorkflowIdentity("w" * 32, "tests.flow", "v" * 32),
            task_version="v7",
            queue="q-own",
            priority=3,
            reroute_on_concurrency_control=False,
            created_at=1234.5,
        )
        (stored,) = state.register([wanted], None, NON_FINAL)
        # When it moves on (counters of its own: one retry, no recovery) and is read back every way
        for status, owner in ((S.PENDING, "runner-1"), (S.RUNNING, "runner-1"), (S.RETRY, "runner-1")):
            state.transition(cas(stored.invocation_id, status, owner))
        got = state.get(stored.invocation_id)
        paged, _ = state.query(InvocationFilter(), limit=10)
        # Then each field is the one stored
        assert got is not None and paged == [got]
        for name in ("invocation_id", "task_id", "call_id", "arguments", "args_display", "parent_invocation_id",
                     "workflow", "task_version", "queue", "priority", "registration_key", "running_key",
                     "reroute_on_concurrency_control", "created_at"):  # fmt: skip
            assert getattr(got, name) == getattr(wanted, name), name
        assert (got.status, got.owner_id, got.num_retries, got.recoveries) == (S.RETRY, None, 1, 0)
        assert got.updated_at > got.created_at
    finally:
        backend.close()
