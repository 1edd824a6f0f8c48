"""The SQLite backend object: one database file shared by every port, and two wake-up channels.

Idle consumers wait for messages and callers for endings; with one channel every commit of either
woke both (a fan-out of registrations woke each waiting caller for nothing, and every ending each
idle worker), and on two cores those wake-ups are the time a nested call loses."""

from __future__ import annotations

from contextlib import AbstractContextManager

from pynenc_nb.backends.sqlite.broker import SQLiteBroker
from pynenc_nb.backends.sqlite.connection import Database
from pynenc_nb.backends.sqlite.state import SQLiteState
from pynenc_nb.backends.sqlite.triggers import SQLiteArgCache, SQLiteTriggerStore
from pynenc_nb.backends.wakeup import WakeupHub, wake_dir_for
from pynenc_nb.conf.urls import sqlite_path
from pynenc_nb.exceptions import ConfigError


class SQLiteBackend:
    serves_other_processes = True

    def __init__(self, url: str, app_id: str) -> None:
        path = sqlite_path(url)
        if not path or path == ":memory:":
            raise ConfigError(
                f"SQLite URL {url!r} has no file path: use sqlite:///path/to/app.db (or memory: for one process)",
                variable="backend_url",
            )
        self.path = path
        self.db = Database(path, app_id)
        self.endings = WakeupHub(wake_dir_for(path, "endings"))
        self.messages = WakeupHub(wake_dir_for(path, "messages"))
        self._state = SQLiteState(self.db, self.endings)
        self._broker = SQLiteBroker(self.db, self.messages)
        self._triggers = SQLiteTriggerStore(self.db)
        self._cache = SQLiteArgCache(self.db)

    def state(self) -> SQLiteState:
        return self._state

    def broker(self) -> SQLiteBroker:
        return self._broker

    def trigger_store(self) -> SQLiteTriggerStore:
        return self._triggers

    def arg_cache(self) -> SQLiteArgCache:
        return self._cache

    def atomic(self) -> AbstractContextManager[object]:
        """Port operations inside run as one transaction (state and broker share the file)."""
        return self.db.write()

    def close(self) -> None:
        self.endings.close()
        self.messages.close()
        self.db.close()
