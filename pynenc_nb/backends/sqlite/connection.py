"""SQLite connections: one per thread, WAL, ``BEGIN IMMEDIATE`` for every write.

WAL lets readers run beside the single writer; ``BEGIN IMMEDIATE`` takes the write lock at the
start of a transaction, so a read-check-write inside it is atomic across processes and never
fails half-way with SQLITE_BUSY on upgrade. One file serves one app (checked on open).

A write the disk refuses (full, read-only, an I/O error) is rolled back whole and raised as
``BackendStorageError`` with the file's path and what to do; SQLite keeps the file consistent.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from pynenc_nb import forking
from pynenc_nb.backends.sqlite.schema import (
    AFTER_MIGRATION,
    INVOCATIONS_INDEXES,
    INVOCATIONS_TABLE,
    OLD_TRIGGER_TABLES,
    SCHEMA,
    SCHEMA_VERSION,
    TRIGGER_SCHEMA,
)
from pynenc_nb.exceptions import BackendStorageError, BackendUnavailableError, ConfigError
from pynenc_nb.invocation.status import NON_FINAL, InvocationStatus

BUSY_TIMEOUT_MS = 60_000
# Checkpoints fsync the database file; done inline every 1,000 pages (SQLite's default) they
# dominate a status change. Each process checkpoints in the background instead, and the
# automatic one stays only as a ceiling on the WAL size.
AUTOCHECKPOINT_PAGES = 20_000
CHECKPOINT_INTERVAL_S = 1.0
CHECKPOINT_JOIN_S = 10.0  # how long close() waits for a checkpoint under way
# Primary result codes of a storage that refuses writes.
_STORAGE_CODES = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN}


def storage_error(path: str, exc: sqlite3.Error) -> BackendStorageError | None:
    """Our error for a write the disk refused, None for any other SQLite error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in _STORAGE_CODES:
        return None
    text = str(exc)
    if code & 0xFF == sqlite3.SQLITE_FULL:
        advice = "free space on the disk that holds it, or give the app a file elsewhere (PYNENC__BACKEND_URL)"
    elif code & 0xFF == sqlite3.SQLITE_READONLY or not os.access(os.path.dirname(path) or ".", os.W_OK):
        advice = (
            "the file, its folder or its disk is read-only: make them writable (the -wal and -shm files "
            "beside it too), or give the app a writable file (PYNENC__BACKEND_URL)"
        )
    else:
        advice = "check the disk that holds it (df -h, dmesg)"
    return BackendStorageError(
        f"SQLite database {path!r} could not be written: {text}; {advice}. Nothing of the operation was stored.",
        path=path,
    )


class Database:
    def __init__(self, path: str, app_id: str) -> None:
        self.path = path
        self.app_id = app_id
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._init_schema()

    def _connect(self, *, shared: bool = True) -> sqlite3.Connection:
        """A new connection; ``shared`` ones are closed by ``close()``, the others by their thread."""
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.OperationalError as exc:
            raise BackendUnavailableError(
                f"cannot open SQLite database {self.path!r}: {exc}; check that the folder exists and is writable"
            ) from exc
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-16000")
        conn.execute("PRAGMA mmap_size=268435456")
        conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        conn.execute("PRAGMA foreign_keys=OFF")
        if shared:
            with self._all_lock:
                self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction, committed on success and rolled back on error.

        Nested calls on the same thread join the outer transaction, which is how ``atomic()``
        makes several port operations (claim + ack + start) one commit.
        """
        local = self._local
        if getattr(local, "depth", 0):
            local.depth += 1
            try:
                yield self.conn
            finally:
                local.depth -= 1
            return
        if self._checkpointer is None:
            self._start_checkpointer()
        conn = self.conn
        local.depth = 1
        local.after_commit = []
        with self._storage(conn):  # one guard: the begin, the caller's statements and the commit
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
            finally:
                local.depth = 0
            conn.execute("COMMIT")
        for callback in dict.fromkeys(local.after_commit):
            callback()

    @contextlib.contextmanager
    def _storage(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Any error rolls back what is open; a write the disk refused becomes ``BackendStorageError``."""
        try:
            yield
        except sqlite3.Error as exc:
            _rollback(conn)
            error = storage_error(self.path, exc)
            if error is None:
                raise
            raise error from exc
        except BaseException:
            _rollback(conn)
            raise

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction commits (now, outside a transaction)."""
        if getattr(self._local, "depth", 0):
            self._local.after_commit.append(callback)
        else:
            callback()

    def _init_schema(self) -> None:
        Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.path.exists(self.path):  # arguments and results live here: private to this user
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = self.conn
        with self._storage(conn):
            conn.execute("PRAGMA journal_mode=WAL")
        with self.write() as tx:
            for statement in SCHEMA:
                tx.execute(statement)
            _migrate(tx)
            for statement in AFTER_MIGRATION:
                tx.execute(statement)
            row = tx.execute("SELECT value FROM meta WHERE key='app_id'").fetchone()
            if row is None:
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES ('app_id', ?), ('schema', ?)", (self.app_id, SCHEMA_VERSION)
                )
            elif row[0] != self.app_id:
                raise ConfigError(
                    f"SQLite file {self.path!r} belongs to app {row[0]!r}, not {self.app_id!r}: give each app its own "
                    "file (the default is .pynenc/<app_id>.db)",
                    variable="backend_url",
                )

    def _start_checkpointer(self) -> None:
        with self._all_lock:
            if self._checkpointer is not None:
                return
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="pynenc-sqlite-checkpoint", daemon=True
            )
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """Its connection is its own: closed here, after its last checkpoint, never from another
        thread while a checkpoint runs on it (that crashed the process)."""
        with forking.quiet():  # a runner may fork meanwhile: never while this thread is inside SQLite
            conn = self._connect(shared=False)
        try:
            while not self._closed.wait(CHECKPOINT_INTERVAL_S):
                with contextlib.suppress(sqlite3.Error), forking.quiet():
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def close(self) -> None:
        self._closed.set()
        checkpointer = self._checkpointer
        if checkpointer is not None and checkpointer is not threading.current_thread():
            checkpointer.join(CHECKPOINT_JOIN_S)  # it ends its checkpoint, then closes its connection
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is open; SQLite may already have rolled back itself (a full disk, an I/O error)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _migrate(tx: sqlite3.Connection) -> None:
    """Bring a file written by an older version to ``SCHEMA_VERSION`` (inside the schema transaction)."""
    row = tx.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if row is None or row[0] == SCHEMA_VERSION:
        return
    if row[0] == "1":  # version 2 stores reroute_on_concurrency_control with the call
        tx.execute("ALTER TABLE invocations ADD COLUMN reroute INTEGER NOT NULL DEFAULT 1")
    if row[0] in ("1", "2"):  # version 3 keeps concurrency keys in key_locks: take them from the holders
        live = ",".join(f"'{s.value}'" for s in NON_FINAL)
        tx.execute(
            "INSERT OR REPLACE INTO key_locks (key, holder) SELECT registration_key, invocation_id FROM statuses "
            f"WHERE registration_key IS NOT NULL AND status IN ({live})"
        )
        tx.execute(
            "INSERT OR REPLACE INTO key_locks (key, holder) SELECT running_key, invocation_id FROM statuses "
            f"WHERE running_key IS NOT NULL AND status = '{InvocationStatus.RUNNING.value}'"
        )
    if row[0] in ("1", "2", "3"):  # version 4 redesigned the trigger store: its old tables go, unread
        for table in OLD_TRIGGER_TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in TRIGGER_SCHEMA:
            tx.execute(statement)
    elif row[0] == "4":  # version 5 keeps each trigger run's chain depth
        tx.execute("ALTER TABLE trigger_runs ADD COLUMN depth INTEGER NOT NULL DEFAULT 1")
    if "task_id" not in {column[1] for column in tx.execute("PRAGMA table_info(statuses)")}:
        # version 6 keeps the task id beside the status, for counts by task without a join
        tx.execute("ALTER TABLE statuses ADD COLUMN task_id TEXT NOT NULL DEFAULT ''")
        tx.execute(
            "UPDATE statuses SET task_id = "
            "(SELECT i.task_id FROM invocations i WHERE i.invocation_id = statuses.invocation_id)"
        )
    if "arguments" in {column[1] for column in tx.execute("PRAGMA table_info(invocations)")}:
        _arguments_apart(tx)  # version 7 keeps the serialized arguments in a table of their own
    tx.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))


def _arguments_apart(tx: sqlite3.Connection) -> None:
    """Move the arguments into ``arguments`` and rebuild ``invocations`` without them (rows copied
    by column name; its indexes go with the old table and are made again)."""
    tx.execute(
        "INSERT OR REPLACE INTO arguments (invocation_id, arguments) SELECT invocation_id, arguments FROM invocations"
    )
    kept = ", ".join(column[1] for column in tx.execute("PRAGMA table_info(invocations)") if column[1] != "arguments")
    tx.execute("ALTER TABLE invocations RENAME TO invocations_before_7")
    tx.execute(INVOCATIONS_TABLE)
    tx.execute(f"INSERT INTO invocations ({kept}) SELECT {kept} FROM invocations_before_7")
    tx.execute("DROP TABLE invocations_before_7")
    for statement in INVOCATIONS_INDEXES:
        tx.execute(statement)
