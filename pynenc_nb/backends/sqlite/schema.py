"""Table layout of the SQLite backend (one file per app). Every monitor filter has an index."""

from __future__ import annotations

SCHEMA_VERSION = "7"

# The trigger store (schema 4; _migrate in connection.py replaces the tables of older versions).
# Indexes name only columns the version-3 tables had too: SCHEMA runs before the migration.
TRIGGER_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS triggers (
        trigger_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, definition TEXT NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS triggers_task ON triggers (task_id)",
    # seq is the storing order that events_since follows; pages go by (at, event_id)
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        code TEXT NOT NULL,
        payload TEXT NOT NULL,
        at REAL NOT NULL,
        emitter_invocation_id TEXT,
        emitter_runner_id TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS events_page ON events (at, event_id)",
    "CREATE INDEX IF NOT EXISTS events_code_page ON events (code, at, event_id)",
    "CREATE INDEX IF NOT EXISTS events_id ON events (event_id)",
    """CREATE TABLE IF NOT EXISTS trigger_runs (
        run_id TEXT PRIMARY KEY,
        trigger_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        source_id TEXT NOT NULL,
        invocation_id TEXT,
        at REAL NOT NULL,
        depth INTEGER NOT NULL DEFAULT 1
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS trigger_runs_trigger_page ON trigger_runs (trigger_id, at, run_id)",
    "CREATE INDEX IF NOT EXISTS trigger_runs_source ON trigger_runs (source_id)",
    "CREATE INDEX IF NOT EXISTS trigger_runs_invocation ON trigger_runs (invocation_id) WHERE invocation_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS trigger_runs_page ON trigger_runs (at, run_id)",
)
# The trigger tables of schema 3 and older, dropped by the migration to 4.
OLD_TRIGGER_TABLES = ("trigger_conditions", "triggers", "trigger_uses", "events", "cron_ticks", "trigger_runs")

# Immutable facts of an invocation, written once at registration; its serialized arguments are in
# a table of their own (schema 7). Up to arg_cache_min_bytes each, inline they made this table's
# B-tree sparse (a WITHOUT ROWID cell keeps about a kilobyte in its page): a monitor page of 10,000
# rows with 8 KB arguments read them in 400 ms whether or not it asked for the arguments, 25 ms
# apart (a raw SQLite loop on this VM).
INVOCATIONS_TABLE = """CREATE TABLE IF NOT EXISTS invocations (
        invocation_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        call_id TEXT NOT NULL,
        args_display TEXT NOT NULL,
        parent_invocation_id TEXT,
        workflow_id TEXT,
        workflow_type TEXT,
        parent_workflow_id TEXT,
        task_version TEXT,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL,
        created_at REAL NOT NULL,
        reroute INTEGER NOT NULL DEFAULT 1
    ) WITHOUT ROWID"""
INVOCATIONS_INDEXES: tuple[str, ...] = (
    "CREATE INDEX IF NOT EXISTS inv_task ON invocations (task_id, created_at)",
    "CREATE INDEX IF NOT EXISTS inv_call ON invocations (task_id, call_id)",
    "CREATE INDEX IF NOT EXISTS inv_parent ON invocations (parent_invocation_id) WHERE parent_invocation_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS inv_workflow ON invocations (workflow_id) WHERE workflow_id IS NOT NULL",
)

SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # --- state: invocations, history, outcomes
    INVOCATIONS_TABLE,
    *INVOCATIONS_INDEXES,
    # A rowid table: its values may span pages, and only a run (or a full read) looks them up.
    "CREATE TABLE IF NOT EXISTS arguments (invocation_id TEXT PRIMARY KEY, arguments TEXT NOT NULL)",
    # The hot, narrow part rewritten by every status change (a large argument never is).
    """CREATE TABLE IF NOT EXISTS statuses (
        invocation_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        owner_id TEXT,
        registration_key TEXT,
        running_key TEXT,
        num_retries INTEGER NOT NULL DEFAULT 0,
        recoveries INTEGER NOT NULL DEFAULT 0,
        updated_at REAL NOT NULL,
        task_id TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS st_updated ON statuses (updated_at)",
    "CREATE INDEX IF NOT EXISTS st_status ON statuses (status, updated_at)",
    "CREATE INDEX IF NOT EXISTS st_owner ON statuses (owner_id) WHERE owner_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS st_reg_key ON statuses (registration_key) WHERE registration_key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS st_run_key ON statuses (running_key) WHERE running_key IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        invocation_id TEXT NOT NULL,
        status TEXT NOT NULL,
        owner_id TEXT,
        runner_id TEXT,
        at REAL NOT NULL,
        reason TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS history_invocation ON history (invocation_id, seq)",
    # registration/running key -> the invocation that last took it (ports.state.KeyLocks)
    "CREATE TABLE IF NOT EXISTS key_locks (key TEXT PRIMARY KEY, holder TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS outcomes (
        invocation_id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, display TEXT NOT NULL
    )""",
    # --- waits-for graph: waiter -> target while a running invocation waits on results
    """CREATE TABLE IF NOT EXISTS waits (
        waiter_id TEXT NOT NULL, target_id TEXT NOT NULL, PRIMARY KEY (waiter_id, target_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS waits_target ON waits (target_id)",
    # --- runners, leases, small values
    """CREATE TABLE IF NOT EXISTS runners (
        runner_id TEXT PRIMARY KEY, context TEXT NOT NULL, last_heartbeat REAL NOT NULL, state TEXT NOT NULL,
        slots INTEGER NOT NULL, busy INTEGER NOT NULL, details TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL)",
    """CREATE TABLE IF NOT EXISTS kv (
        namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, key)
    )""",
    # --- broker: a message is ready while consumer IS NULL, in flight while it names a consumer
    """CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        invocation_id TEXT NOT NULL,
        priority INTEGER NOT NULL,
        consumer TEXT,
        taken_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, priority DESC, seq) WHERE consumer IS NULL",
    "CREATE INDEX IF NOT EXISTS messages_consumer ON messages (consumer) WHERE consumer IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS messages_invocation ON messages (invocation_id)",
    *TRIGGER_SCHEMA,
    # --- arg cache
    "CREATE TABLE IF NOT EXISTS arg_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

PURGE_TABLES: tuple[str, ...] = (
    "invocations",
    "arguments",
    "statuses",
    "history",
    "key_locks",
    "outcomes",
    "waits",
    "runners",
    "leases",
    "kv",
)

# Created once the file is at SCHEMA_VERSION (``_migrate`` adds the columns they cover first).
# The task id beside the status (schema 6) makes the monitor's counts by task one index range each.
AFTER_MIGRATION: tuple[str, ...] = ("CREATE INDEX IF NOT EXISTS st_task ON statuses (task_id, status)",)
