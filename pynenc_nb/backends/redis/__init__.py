"""Redis backend: every port on one Redis server (or cluster slot), shared by any number of hosts.

``redis://[[user]:password@]host[:port][/db]`` or ``rediss://`` for TLS; redis-py options such as
``?socket_timeout=30`` go in the query string. Each app's keys live under ``pynenc:{<app_id>}:``
(layout in ``keys.py``); every status change is one Lua script (``scripts/``). Needs the
``redis`` extra: ``pip install "pynenc_nb[redis]"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace

from pynenc_nb.backends.redis.broker import RedisBroker
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.backends.redis.invocations import request_args
from pynenc_nb.backends.redis.state import RedisState
from pynenc_nb.backends.redis.triggers import RedisArgCache, RedisTriggerStore
from pynenc_nb.records import InvocationRecord, TakenStart, TransitionRequest, TransitionResult, new_id
from pynenc_nb.status import InvocationStatus

__all__ = ["RedisBackend"]


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
    ) -> list[InvocationRecord]:
        """Store and queue in one script (``register.lua``): one round trip per chunk of calls."""
        return self._state.register(records, registered_by, reuse_statuses, send=True)

    def take_and_start(
        self,
        queues: Sequence[str],
        runner_id: str,
        plan: Callable[[], tuple[TransitionRequest, TransitionRequest]],
        timeout_s: float,
        ending: TransitionRequest | None = None,
    ) -> tuple[TransitionResult | None, TakenStart | None]:
        """End, receive, claim, ack and start in one script (``take_start.lua``): one round trip."""
        state = self._state
        ending_args: list[str] = []
        ending_static: dict[str, str] | None = None
        if ending is not None:
            if ending.outcome is None:
                raise ValueError("an ending sent with a take carries its outcome")
            ending_static = state.cached_static(ending.change.invocation_id)
            ending_args = [ending.change.invocation_id, "0" if ending_static else "1", *request_args(ending)]
        ended: list[TransitionResult | None] = []

        def attempt() -> TakenStart | None:
            nonlocal ending_args
            claim, start = plan()
            args = [
                self.conn.keys.prefix,
                "1",
                *request_args(claim),
                *request_args(start, own_running_key=True),
                new_id(),  # names this take: a resent script returns what it took instead of taking again
                str(len(ending_args)),
                *ending_args,
                *queues,
            ]
            reply_ending, reply = self.conn.eval("take_start", [], args)
            if ending_args:
                ending_args = []  # stored: later attempts of this take do not carry it again
                result, values, full = reply_ending
                ended.append(None if result == "missing" else state.reply_result(result, values, full, ending_static))
            if not reply:
                return None
            invocation_id, step, result, values, full = reply
            if result == "missing":
                return TakenStart(invocation_id, None)
            outcome = state.reply_result(result, values, full)
            if step == "claim":
                return TakenStart(invocation_id, outcome)
            pending = (
                outcome.record if not outcome.applied else replace(outcome.record, status=InvocationStatus.PENDING)
            )
            return TakenStart(invocation_id, TransitionResult(True, pending), outcome)

        if ending is not None:  # stored now, whatever the queues hold: never behind a blocking wait
            taken = self._broker.attempt(queues, runner_id, attempt)
            if taken is not None or timeout_s <= 0:
                return ended[0], taken
            return ended[0], self._broker.wait_for(queues, runner_id, timeout_s, attempt)
        return None, self._broker.wait_for(queues, runner_id, timeout_s, attempt)

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
