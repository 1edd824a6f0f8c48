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


def test_a_version_2_file_takes_its_concurrency_keys_from_the_live_holders(tmp_path: Path) -> None:
    from pynenc_nb.task_options import ConcurrencyControlType

    # Given a file as version 2 wrote it: no key_locks rows, a live call holding a registration key
    path = tmp_path / "v2.db"
    values = {"app_id": "v2", "backend_url": f"sqlite://{path}", "logging_level": "warning"}
    old = Pynenc(config_values=values)

    @old.task(registration_concurrency=ConcurrencyControlType.TASK)
    def once(x: int) -> int:
        return x

    live = once(1)
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM key_locks")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    # When a new version opens it and the task is called again
    app = Pynenc(config_values=values)
    try:

        @app.task(registration_concurrency=ConcurrencyControlType.TASK)
        def once(x: int) -> int:  # noqa: F811 - the same task in the new app
            return x

        again = once(2)
        # Then the live call still holds its key: the new call is answered by it
        assert again.invocation_id == live.invocation_id
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
    finally:
        app.close()


def test_a_version_4_file_gains_the_trigger_run_depth(tmp_path: Path) -> None:
    from pynenc_nb.records import TriggerRun

    # Given a file as version 4 wrote it: trigger runs without a depth
    path = tmp_path / "v4.db"
    values = {"app_id": "v4", "backend_url": f"sqlite://{path}", "logging_level": "warning"}
    old = Pynenc(config_values=values)
    old.trigger_store.add_trigger_runs([TriggerRun("r1", "t1", "tests.add", "event", "e1", "inv-1", 1.0)])
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE trigger_runs DROP COLUMN depth")
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    # When a new version opens it
    app = Pynenc(config_values=values)
    try:
        # Then the old run reads with depth 1, and new runs keep theirs
        (run,) = app.trigger_store.trigger_runs(invocation_ids=["inv-1"])
        assert run.depth == 1
        app.trigger_store.add_trigger_runs([TriggerRun("r2", "t1", "tests.add", "status", "inv-1", "inv-2", 2.0, 3)])
        assert app.trigger_store.trigger_runs(invocation_ids=["inv-2"])[0].depth == 3
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
    finally:
        app.close()


def test_a_version_5_file_gains_the_task_id_beside_each_status(tmp_path: Path) -> None:
    from pynenc_nb import InvocationStatus
    from pynenc_nb.records import InvocationFilter

    # Given a file as version 5 wrote it: statuses without their task id
    path = tmp_path / "v5.db"
    values = {"app_id": "v5", "backend_url": f"sqlite://{path}", "logging_level": "warning"}
    old = Pynenc(config_values=values)

    @old.task
    def add(x: int, y: int) -> int:
        return x + y

    @old.task
    def sub(x: int, y: int) -> int:
        return x - y

    calls = [add(1, 2), add(3, 4), sub(5, 6)]
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX st_task")
        conn.execute("ALTER TABLE statuses DROP COLUMN task_id")
        conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema'")
    # When a new version opens it
    app = Pynenc(config_values=values)
    try:
        # Then counts and queries by task see the old calls, and new calls are counted too
        counts = app.state_backend.count_by_status(InvocationFilter(task_id=calls[0].task_id))
        assert counts == {InvocationStatus.REGISTERED: 2}
        records, _ = app.state_backend.query(InvocationFilter(task_id=calls[2].task_id))
        assert [r.invocation_id for r in records] == [calls[2].invocation_id]
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
            plan = " ".join(
                str(row)
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN SELECT status, COUNT(*) FROM statuses WHERE task_id = ? GROUP BY status", ("x",)
                )
            )
        assert "st_task" in plan, plan
    finally:
        app.close()


def test_a_version_6_file_moves_the_arguments_to_their_own_table_and_its_calls_still_run(tmp_path: Path) -> None:
    # Given a file as version 6 wrote it: the serialized arguments inside the invocations rows
    path = tmp_path / "old.db"
    url = f"sqlite://{path}"
    old = Pynenc(config_values={"app_id": "old", "backend_url": url, "logging_level": "warning"})

    @old.task
    def concat(text: str) -> str:
        return text + "!"

    calls = [concat("x" * 5000), concat("short")]
    before = {c.invocation_id: old.state_backend.get(c.invocation_id) for c in calls}
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE invocations ADD COLUMN arguments TEXT NOT NULL DEFAULT ''")
        conn.execute(
            "UPDATE invocations SET arguments = "
            "(SELECT a.arguments FROM arguments a WHERE a.invocation_id = invocations.invocation_id)"
        )
        conn.execute("DROP TABLE arguments")
        conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema'")
    # When a new version opens it
    app = Pynenc(config_values={"app_id": "old", "backend_url": url, "logging_level": "warning"})
    try:
        # Then every call reads as it was stored, its arguments now in their own table, and the
        # invocations table has its indexes again
        assert {i: app.state_backend.get(i) for i in before} == before
        assert "x" * 5000 in before[calls[0].invocation_id].arguments  # type: ignore[union-attr]
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
            columns = [row[1] for row in conn.execute("PRAGMA table_info(invocations)")]
            indexes = {row[1] for row in conn.execute("PRAGMA index_list(invocations)")}
            moved = conn.execute("SELECT COUNT(*) FROM arguments").fetchone()
        assert "arguments" not in columns and moved == (2,)
        assert {"inv_task", "inv_call", "inv_parent", "inv_workflow"} <= indexes
        # And a runner still runs the old call with its arguments
        from tests.unit.runner_support import running

        @app.task
        def concat(text: str) -> str:  # noqa: F811 - the same task, declared in the new process
            return text + "!"

        with running(app, max_threads=1):
            assert app.invocation(calls[0].invocation_id).result_or(30) == "x" * 5000 + "!"
    finally:
        app.close()
