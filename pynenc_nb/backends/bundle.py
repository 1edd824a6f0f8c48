"""The ports an app uses, opened together so state and broker can share one backend's transactions."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pynenc_nb.backends.registry import Backend, open_backend
from pynenc_nb.backends.work import BrokerWorkSource
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.ports import ArgCache, Broker, StateBackend, TriggerStore
from pynenc_nb.ports.work import TakeRules, WorkSource
from pynenc_nb.records import InvocationRecord


@runtime_checkable
class CombinedBackend(Protocol):
    """A backend that serves state and broker together may queue and take work its own way (in
    one server step each, for Redis). Its paths must be indistinguishable from the generic ones."""

    def register_and_send(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
        *,
        fresh_ids: bool = False,
    ) -> list[InvocationRecord]: ...

    def work_source(self, rules: TakeRules, queues: Sequence[str], runner_id: str, max_batch: int) -> WorkSource: ...


@dataclass
class Backends:
    """The four ports an app uses, opened from ``backend_url`` and ``broker_url``."""

    state: StateBackend
    broker: Broker
    trigger_store: TriggerStore
    arg_cache: ArgCache
    serves_other_processes: bool
    owned: list[Backend]
    combined: CombinedBackend | None = None  # when one backend serves state and broker and has its own paths

    @classmethod
    def open(cls, backend_url: str, broker_url: str, app_id: str) -> Backends:
        main = open_backend(backend_url, app_id)
        owned = [main]
        broker_backend = main
        if broker_url and broker_url != backend_url:
            broker_backend = open_backend(broker_url, app_id)
            owned.append(broker_backend)
        return cls(
            state=main.state(),
            broker=broker_backend.broker(),
            trigger_store=main.trigger_store(),
            arg_cache=main.arg_cache(),
            serves_other_processes=all(b.serves_other_processes for b in owned),
            owned=owned,
            combined=main if len(owned) == 1 and isinstance(main, CombinedBackend) else None,
        )

    def register_and_send(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
        *,
        fresh_ids: bool = False,
    ) -> list[InvocationRecord]:
        """``StateBackend.register``, then each record it stored (not those answered by a live
        holder of their registration key, nor those already stored) sent on its queue with its
        priority.

        ``fresh_ids``: the ids were just made and the caller will talk to the backend again soon
        (a running task), so a combined backend may report a failure at that next operation
        instead of waiting for its reply now."""
        if self.combined is not None:
            return self.combined.register_and_send(records, registered_by, reuse_statuses, fresh_ids=fresh_ids)
        with self.atomic():
            new: list[bool] = []
            out = self.state.register(records, registered_by, reuse_statuses, stored=new)
            to_send = [(r.queue, r.invocation_id, r.priority) for r, sent in zip(out, new, strict=True) if sent]
            if to_send:
                self.broker.send_many(to_send)
        return out

    def work_source(self, rules: TakeRules, queues: Sequence[str], runner_id: str, *, max_batch: int = 0) -> WorkSource:
        """How one worker takes work: the backend's own source, or the generic one over the ports.
        ``max_batch`` bounds how many short calls a source may start at once (0: one at a time)."""
        if self.combined is not None:
            return self.combined.work_source(rules, queues, runner_id, max_batch)
        return BrokerWorkSource(self.state, self.broker, self.atomic, rules, queues, runner_id)

    def atomic(self) -> AbstractContextManager[object]:
        """One transaction for state and broker operations when they share a backend."""
        if len(self.owned) == 1:
            return self.owned[0].atomic()
        return contextlib.nullcontext()

    def close(self) -> None:
        for backend in self.owned:
            backend.close()
