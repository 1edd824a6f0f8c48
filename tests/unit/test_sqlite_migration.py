"""A SQLite file written by an older version opens and keeps working after an upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pynenc_nb import Pynenc
from pynenc_nb.backends.sqlite.schema import SCHEMA_VERSION


def test_a_version_1_file_gains_the_reroute_column(tmp_path: Path) -> None:
    # Given a file as version 1 wrote it: no reroute column, schema "1", one stored call
    path = tmp_path / "old.db"
    old = Pynenc(config_values={"app_id": "old", "backend_url": f"sqlite://{path}", "logging_level": "warning"})

    @old.task
    def add(x: int, y: int) -> int:
        return x + y

    before = add(1, 2)
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE invocations DROP COLUMN reroute")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    # When a new version opens it
    app = Pynenc(config_values={"app_id": "old", "backend_url": f"sqlite://{path}", "logging_level": "warning"})
    try:
        # Then the old call reads with the default and new calls store the option
        assert app.invocation(before.invocation_id).record.reroute_on_concurrency_control is True
        assert app.state_backend.get(before.invocation_id) is not None
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
            columns = [row[1] for row in conn.execute("PRAGMA table_info(invocations)")]
        assert "reroute" in columns
    finally:
        app.close()
