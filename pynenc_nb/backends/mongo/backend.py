"""The MongoDB backend object: one connection, its indexes, and the ports on it."""

from __future__ import annotations

import contextlib
import threading
from contextlib import AbstractContextManager
from typing import Any

from pynenc_nb.backends.mongo.broker import MongoBroker
from pynenc_nb.backends.mongo.connection import Connection, pymongo
from pynenc_nb.backends.mongo.notify import Notifier
from pynenc_nb.backends.mongo.state import MongoState
from pynenc_nb.backends.mongo.triggers import MongoArgCache, MongoTriggerStore

ASC, DESC = pymongo.ASCENDING, pymongo.DESCENDING
# collection -> its indexes (each a list of (field, direction)); ``_id`` is always unique. The
# layout is described in ``__init__.py``.
INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "invocations": [
        [("updated_at", DESC), ("_id", DESC)],
        [("status", ASC), ("updated_at", DESC)],
        [("task_id", ASC), ("updated_at", DESC)],
        [("task_id", ASC), ("call_id", ASC), ("created_at", DESC)],
        [("owner_id", ASC)],
        [("parent_invocation_id", ASC)],
        [("workflow_id", ASC)],
        [("running_key", ASC)],
        [("history.seq", ASC)],
    ],
    "messages": [[("consumer", ASC), ("priority", DESC), ("seq", ASC)], [("queue", ASC), ("consumer", ASC)]],
    "voids": [[("log", ASC), ("seq", ASC)]],
    "waits": [[("waiter", ASC)], [("target", ASC)]],
    "runners": [[("last_heartbeat", DESC)]],
    "kv": [[("ns", ASC), ("key", ASC)]],
    "triggers": [[("task_id", ASC)]],
    "events": [
        [("at", DESC), ("event_id", DESC)],
        [("code", ASC), ("at", DESC), ("event_id", DESC)],
        [("event_id", ASC)],
    ],
    "trigger_runs": [
        [("at", DESC), ("_id", DESC)],
        [("trigger_id", ASC), ("at", DESC), ("_id", DESC)],
        [("source_id", ASC)],
        [("invocation_id", ASC)],
    ],
}
_indexed: set[tuple[str, str, str]] = set()  # (server, database, prefix) indexed by this process
_indexed_lock = threading.Lock()


def ensure_indexes(conn: Connection) -> None:
    """Create the indexes once per app and process (``createIndexes`` of an existing index is a no-op)."""
    ident = (conn.url, conn.database_name, conn.prefix)
    with _indexed_lock:
        if ident in _indexed:
            return
        for name, indexes in INDEXES.items():
            models = [pymongo.IndexModel(keys) for keys in indexes]
            collection = conn.collection(name)
            conn.call("create_indexes", collection.create_indexes, models)
        conn.call("create_indexes", conn.collection("voids").create_index, "expire", expireAfterSeconds=0)
        _indexed.add(ident)


class MongoBackend:
    serves_other_processes = True

    def __init__(self, url: str, app_id: str, *, client_cls: Any = None) -> None:
        self.app_id = app_id
        self.conn = Connection(url, app_id, client_cls=client_cls)
        ensure_indexes(self.conn)
        self.notifier = Notifier(self.conn)
        self._state = MongoState(self.conn, self.notifier)
        self._broker = MongoBroker(self.conn, self.notifier)
        self._triggers = MongoTriggerStore(self.conn)
        self._cache = MongoArgCache(self.conn)

    def __repr__(self) -> str:
        return f"<MongoBackend {self.conn.url} app={self.app_id}>"

    @property
    def url(self) -> str:
        """The URL with any password redacted."""
        return self.conn.url

    def state(self) -> MongoState:
        return self._state

    def broker(self) -> MongoBroker:
        return self._broker

    def trigger_store(self) -> MongoTriggerStore:
        return self._triggers

    def arg_cache(self) -> MongoArgCache:
        return self._cache

    def atomic(self) -> AbstractContextManager[object]:
        """No grouping: every port operation is atomic on its own (one document write, or one
        transaction where a change must also take a concurrency key)."""
        return contextlib.nullcontext()

    def drop(self) -> None:
        """Drop every collection of this app (``purge`` only empties them)."""
        self.conn.drop()
        with _indexed_lock:
            _indexed.discard((self.conn.url, self.conn.database_name, self.conn.prefix))

    def close(self) -> None:
        self.notifier.close()
        self.conn.close()
