"""The ports an app uses, opened together so state and broker can share one backend's transactions."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pynenc_nb.backends.registry import Backend, open_backend
from pynenc_nb.ports import ArgCache, Broker, RegisterAndSend, StateBackend, TakeAndStart, TriggerStore


@dataclass
class Backends:
    """The four ports an app uses, opened from ``backend_url`` and ``broker_url``."""

    state: StateBackend
    broker: Broker
    trigger_store: TriggerStore
    arg_cache: ArgCache
    serves_other_processes: bool
    owned: list[Backend]
    # receive + claim + ack + start in one server step, when one backend holds queues and state
    take_and_start: TakeAndStart | None = None
    # register + send_many in one server step, under the same condition
    register_and_send: RegisterAndSend | None = None

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
            take_and_start=main if len(owned) == 1 and isinstance(main, TakeAndStart) else None,
            register_and_send=main if len(owned) == 1 and isinstance(main, RegisterAndSend) else None,
        )

    def atomic(self) -> AbstractContextManager[object]:
        """One transaction for state and broker operations when they share a backend."""
        if len(self.owned) == 1:
            return self.owned[0].atomic()
        return contextlib.nullcontext()

    def close(self) -> None:
        for backend in self.owned:
            backend.close()
