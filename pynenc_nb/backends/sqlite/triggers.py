"""SQLite trigger store and arg cache (tables in ``schema.py``).

Events are followed by ``seq`` (the storing order: writers commit one at a time) and paged by
``(at, event_id)``; every page and lookup reads an index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pynenc_nb.backends.paging import decode_cursor, event_cursor_of
from pynenc_nb.backends.sqlite.connection import Database
from pynenc_nb.records import EventRecord, TriggerRun

_ID_CHUNK = 500  # ids per IN (...) query
EVENT_COLUMNS = "event_id, code, payload, at, emitter_invocation_id, emitter_runner_id"
RUN_COLUMNS = "run_id, trigger_id, task_id, source_kind, source_id, invocation_id, at, depth"


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _ID_CHUNK):
        yield ids[start : start + _ID_CHUNK]


def _marks(ids: Sequence[str]) -> str:
    return ",".join("?" * len(ids))


class SQLiteTriggerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put_triggers(self, definitions: Mapping[str, Mapping[str, str]]) -> None:
        with self.db.write() as tx:
            for task_id, triggers in definitions.items():
                tx.execute("DELETE FROM triggers WHERE task_id = ?", (task_id,))
                tx.executemany(
                    "INSERT OR REPLACE INTO triggers (trigger_id, task_id, definition) VALUES (?, ?, ?)",
                    [(trigger_id, task_id, definition) for trigger_id, definition in triggers.items()],
                )

    def triggers(self) -> dict[str, tuple[str, str]]:
        rows = self.db.conn.execute("SELECT trigger_id, task_id, definition FROM triggers")
        return {trigger_id: (task_id, definition) for trigger_id, task_id, definition in rows}

    def add_event(self, event: EventRecord) -> None:
        with self.db.write() as tx:
            tx.execute(
                f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event.event_id,
                    event.code,
                    event.payload,
                    event.at,
                    event.emitter_invocation_id,
                    event.emitter_runner_id,
                ),
            )

    def events_since(self, cursor: str | None, limit: int = 500) -> tuple[list[EventRecord], str]:
        after = int(cursor) if cursor else 0
        rows = self.db.conn.execute(
            f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, max(limit, 0))
        ).fetchall()
        return [EventRecord(*row[1:]) for row in rows], str(rows[-1][0]) if rows else str(after)

    def event_cursor(self) -> str:
        # AUTOINCREMENT never reuses a seq, so the last one given out stays the end after a purge
        row = self.db.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return str(row[0]) if row else "0"

    def events(
        self,
        *,
        code: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[EventRecord], str | None]:
        if limit <= 0:
            return [], None
        clauses: list[str] = []
        params: list[object] = []
        if code is not None:
            clauses.append("code = ?")
            params.append(code)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        # One upper bound, the tighter, so that the index is entered right at the page
        last = None if cursor is None else decode_cursor(cursor)
        if last is not None and (until is None or last[0] < until):
            clauses.append("(at, event_id) < (?, ?)")
            params.extend(last)
        elif until is not None:
            clauses.append("at < ?")
            params.append(until)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events{where} ORDER BY at DESC, event_id DESC LIMIT ?", (*params, limit + 1)
        ).fetchall()
        page = [EventRecord(*row) for row in rows[:limit]]
        return page, event_cursor_of(page[-1]) if len(rows) > limit else None

    def get_events(self, event_ids: Sequence[str]) -> dict[str, EventRecord]:
        found: dict[str, EventRecord] = {}
        for chunk in _chunks(list(dict.fromkeys(event_ids))):
            rows = self.db.conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id IN ({_marks(chunk)}) ORDER BY seq", chunk
            )
            found.update((row[0], EventRecord(*row)) for row in rows)
        return found

    def add_trigger_runs(self, runs: Sequence[TriggerRun]) -> list[bool]:
        stored: list[bool] = []
        with self.db.write() as tx:
            for run in runs:
                cursor = tx.execute(
                    f"INSERT OR IGNORE INTO trigger_runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.run_id,
                        run.trigger_id,
                        run.task_id,
                        run.source_kind,
                        run.source_id,
                        run.invocation_id,
                        run.at,
                        run.depth,
                    ),
                )
                stored.append(cursor.rowcount == 1)
        return stored

    def trigger_runs(
        self,
        *,
        trigger_id: str | None = None,
        source_ids: Sequence[str] | None = None,
        invocation_ids: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[TriggerRun]:
        if limit <= 0 or any(ids is not None and not ids for ids in (source_ids, invocation_ids)):
            return []
        sql, params = f"SELECT {RUN_COLUMNS} FROM trigger_runs WHERE 1", []
        # A list filter is read through its index in chunks whose pages merge into the page of the
        # union. With both lists, the second filters what the first finds (each id has few runs);
        # the trigger then only filters too ("+" keeps the planner off its index).
        if trigger_id is not None:
            sql += " AND trigger_id = ?" if source_ids is None and invocation_ids is None else " AND +trigger_id = ?"
            params.append(trigger_id)
        column, listed, second = "", None, None
        if invocation_ids is not None:
            column, listed = "invocation_id", invocation_ids
            second = None if source_ids is None else set(source_ids)
        elif source_ids is not None:
            column, listed = "source_id", source_ids
        rows: list[Any] = []
        for chunk in [None] if listed is None else _chunks(list(dict.fromkeys(listed))):
            chunk_sql, chunk_params = sql, list(params)
            if chunk is not None:
                chunk_sql += f" AND {column} IN ({_marks(chunk)})"
                chunk_params.extend(chunk)
            chunk_sql += " ORDER BY at DESC, run_id DESC"
            if second is None:
                chunk_sql += f" LIMIT {int(limit)}"
            rows.extend(self.db.conn.execute(chunk_sql, chunk_params))
        if second is not None:
            rows = [row for row in rows if row[4] in second]
        rows.sort(key=lambda row: (row[6], row[0]), reverse=True)
        return [TriggerRun(*row) for row in rows[:limit]]

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        return _purge(self.db, "events", "seq", "at DESC, event_id DESC", older_than, keep_last)

    def purge_trigger_runs(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        return _purge(self.db, "trigger_runs", "run_id", "at DESC, run_id DESC", older_than, keep_last)

    def purge(self) -> None:
        with self.db.write() as tx:
            for table in ("triggers", "events", "trigger_runs"):
                tx.execute(f"DELETE FROM {table}")


def _purge(
    db: Database, table: str, key: str, newest_first: str, older_than: float | None, keep_last: int | None
) -> int:
    """Retention: rows older than ``older_than`` (through the ``at`` index), then all but the newest
    ``keep_last`` (the index read newest first, past the kept ones)."""
    removed = 0
    with db.write() as tx:
        if older_than is not None:
            removed += tx.execute(f"DELETE FROM {table} WHERE at < ?", (older_than,)).rowcount
        if keep_last is not None:
            removed += tx.execute(
                f"DELETE FROM {table} WHERE {key} IN "
                f"(SELECT {key} FROM {table} ORDER BY {newest_first} LIMIT -1 OFFSET ?)",
                (max(keep_last, 0),),
            ).rowcount
    return removed


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
