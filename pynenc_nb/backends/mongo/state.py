"""The MongoDB StateBackend: invocations plus the waits-for graph, runners, leases and small values."""

from __future__ import annotations

from pynenc_nb.backends.mongo.connection import Connection
from pynenc_nb.backends.mongo.coordination import MongoCoordination
from pynenc_nb.backends.mongo.invocations import MongoInvocations
from pynenc_nb.backends.mongo.notify import Notifier


class MongoState(MongoInvocations, MongoCoordination):
    def __init__(self, conn: Connection, notifier: Notifier) -> None:
        MongoInvocations.__init__(self, conn, notifier)
        MongoCoordination.__init__(self, conn)

    def __repr__(self) -> str:
        return f"<MongoState {self.conn.url} {self.conn.database_name}.{self.conn.prefix}*>"

    def purge(self) -> None:
        """Empty every state collection of the app (the change log's numbers go on from where they were)."""
        MongoInvocations.purge(self)
        MongoCoordination.purge(self)

    def close(self) -> None:
        pass
