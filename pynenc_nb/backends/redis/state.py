"""The Redis StateBackend: invocations (with the wait steps) plus the waits-for graph, runners, leases and small values."""

from __future__ import annotations

from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.backends.redis.coordination import RedisCoordination
from pynenc_nb.backends.redis.notify import FinalWatcher
from pynenc_nb.backends.redis.waits import RedisWaitSteps


class RedisState(RedisWaitSteps, RedisCoordination):
    def __init__(self, conn: Connection) -> None:
        RedisWaitSteps.__init__(self, conn, FinalWatcher(conn))
        RedisCoordination.__init__(self, conn)

    def __repr__(self) -> str:
        return f"<RedisState {self.conn.url} {self.keys.prefix}>"

    def purge(self) -> None:
        """Delete every state key of the app (SCAN + UNLINK under ``<prefix>s:``)."""
        self.conn.delete_prefix(self.keys.port("s"))
        with self._static_lock:
            self._static.clear()
        self.watcher.forget()

    def close(self) -> None:
        self.watcher.close()
