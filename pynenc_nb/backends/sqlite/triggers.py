"""SQLite trigger store and arg cache."""

from __future__ import annotations

from collections.abc import Sequence

from pynenc_nb.backends.sqlite.connection import Database


class SQLiteTriggerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put_condition(self, condition_id: str, definition: str) -> None:
        with self.db.write() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO trigger_conditions (condition_id, definition) VALUES (?, ?)",
                (condition_id, definition),
            )

    def conditions(self) -> dict[str, str]:
        return dict(self.db.conn.execute("SELECT condition_id, definition FROM trigger_conditions").fetchall())

    def put_trigger(self, trigger_id: str, task_id: str, definition: str, condition_ids: Sequence[str]) -> None:
        with self.db.write() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO triggers (trigger_id, task_id, definition) VALUES (?, ?, ?)",
                (trigger_id, task_id, definition),
            )
            tx.execute("DELETE FROM trigger_uses WHERE trigger_id = ?", (trigger_id,))
            tx.executemany(
                "INSERT OR IGNORE INTO trigger_uses (trigger_id, condition_id) VALUES (?, ?)",
                [(trigger_id, c) for c in condition_ids],
            )

    def triggers_for_condition(self, condition_id: str) -> dict[str, str]:
        rows = self.db.conn.execute(
            "SELECT t.trigger_id, t.definition FROM trigger_uses u JOIN triggers t ON t.trigger_id = u.trigger_id "
            "WHERE u.condition_id = ?",
            (condition_id,),
        )
        return dict(rows.fetchall())

    def add_event(self, event_id: str, code: str, payload: str, at: float) -> None:
        with self.db.write() as tx:
            tx.execute(
                "INSERT INTO events (event_id, code, payload, at) VALUES (?, ?, ?, ?)", (event_id, code, payload, at)
            )

    def events(
        self, *, code: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[tuple[str, str, str, float]]:
        sql = "SELECT event_id, code, payload, at FROM events WHERE 1"
        params: list[object] = []
        if code is not None:
            sql += " AND code = ?"
            params.append(code)
        if since is not None:
            sql += " AND at >= ?"
            params.append(since)
        rows = self.db.conn.execute(sql + " ORDER BY at DESC, event_id DESC LIMIT ?", (*params, limit))
        return [tuple(r) for r in rows]

    def claim_tick(self, trigger_id: str, tick: float) -> bool:
        with self.db.write() as tx:
            cursor = tx.execute("INSERT OR IGNORE INTO cron_ticks (trigger_id, tick) VALUES (?, ?)", (trigger_id, tick))
            return cursor.rowcount == 1

    def add_trigger_run(
        self, run_id: str, trigger_id: str, source_id: str, invocation_id: str | None, at: float
    ) -> None:
        with self.db.write() as tx:
            tx.execute(
                "INSERT INTO trigger_runs (run_id, trigger_id, source_id, invocation_id, at) VALUES (?, ?, ?, ?, ?)",
                (run_id, trigger_id, source_id, invocation_id, at),
            )

    def trigger_runs(
        self, *, trigger_id: str | None = None, limit: int = 100
    ) -> list[tuple[str, str, str, str | None, float]]:
        sql = "SELECT run_id, trigger_id, source_id, invocation_id, at FROM trigger_runs"
        params: tuple[object, ...] = ()
        if trigger_id is not None:
            sql += " WHERE trigger_id = ?"
            params = (trigger_id,)
        rows = self.db.conn.execute(sql + " ORDER BY at DESC, run_id DESC LIMIT ?", (*params, limit))
        return [tuple(r) for r in rows]

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        removed = 0
        with self.db.write() as tx:
            if older_than is not None:
                removed += tx.execute("DELETE FROM events WHERE at < ?", (older_than,)).rowcount
            if keep_last is not None:
                removed += tx.execute(
                    "DELETE FROM events WHERE event_id NOT IN (SELECT event_id FROM events ORDER BY at DESC LIMIT ?)",
                    (keep_last,),
                ).rowcount
        return removed

    def purge(self) -> None:
        with self.db.write() as tx:
            for table in ("trigger_conditions", "triggers", "trigger_uses", "events", "cron_ticks", "trigger_runs"):
                tx.execute(f"DELETE FROM {table}")


class SQLiteArgCache:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, key: str, value: str) -> None:
        with self.db.write() as tx:
            tx.execute("INSERT OR IGNORE INTO arg_cache (key, value) VALUES (?, ?)", (key, value))

    def get(self, key: str) -> str | None:
        row = self.db.conn.execute("SELECT value FROM arg_cache WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def purge(self) -> None:
        with self.db.write() as tx:
            tx.execute("DELETE FROM arg_cache")
