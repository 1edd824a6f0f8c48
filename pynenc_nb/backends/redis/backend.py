"""The Redis backend object: hands out the ports, and queues and takes work in one round trip each
(``register.lua`` and the work source of ``work.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

from pynenc_nb.backends.redis.broker import RedisBroker
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.backends.redis.state import RedisState
from pynenc_nb.backends.redis.triggers import RedisArgCache, RedisTriggerStore
from pynenc_nb.backends.redis.work import RedisWorkSource
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.ports.work import TakeRules
from pynenc_nb.records import InvocationRecord


class RedisBackend:
    serves_other_processes = True

    def __init__(self, url: str, app_id: str) -> None:
        self.app_id = app_id
        self.conn = Connection(url, app_id)
        self._state = RedisState(self.conn)
        self._broker = RedisBroker(self.conn)
        self._triggers = RedisTriggerStore(self.conn)
        self._cache = RedisArgCache(self.conn)

    def __repr__(self) -> str:
        return f"<RedisBackend {self.conn.url} app={self.app_id}>"

    @property
    def url(self) -> str:
        """The URL with any password redacted."""
        return self.conn.url

    def state(self) -> RedisState:
        return self._state

    def broker(self) -> RedisBroker:
        return self._broker

    def trigger_store(self) -> RedisTriggerStore:
        return self._triggers

    def arg_cache(self) -> RedisArgCache:
        return self._cache

    def register_and_send(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
        *,
        fresh_ids: bool = False,
    ) -> list[InvocationRecord]:
        """Store and queue in one script (``register.lua``): one round trip per chunk of calls, and
        none waited for with ``fresh_ids`` when no registration key applies (``send_ahead``)."""
        return self._state.register(records, registered_by, reuse_statuses, send=True, fresh_ids=fresh_ids)

    def work_source(self, rules: TakeRules, queues: Sequence[str], runner_id: str, max_batch: int) -> RedisWorkSource:
        """One round trip per take (or per batch), and calls handed to idle workers: ``work.py``."""
        return RedisWorkSource(self.conn, self._state, self._broker, rules, queues, runner_id, max_batch)

    def atomic(self) -> AbstractContextManager[object]:
        """Not a transaction: every operation is atomic on its own. Inside, acks ride along with
        the next script of the thread, saving a round trip on the claim + ack + start path."""
        return self.conn.group()

    def purge(self) -> None:
        """Delete every key of this app, whatever port wrote it."""
        self.conn.delete_prefix(self.conn.keys.prefix)

    def close(self) -> None:
        self._state.close()
        self.conn.close()
