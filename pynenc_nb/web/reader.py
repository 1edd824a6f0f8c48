"""The monitor server's view of an app it found in the registry: its backends, never its code.

Building a ``Pynenc`` here would register it as a live app of the server process and load its
settings as an app does; the server only needs the stores, the orchestrator (for "Run again",
built from the stored record alone) and a client identity for the history it writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynenc_nb.backends import Backends
from pynenc_nb.clients import ClientContexts
from pynenc_nb.conf import PynencConfig, load_config
from pynenc_nb.monitor.source import DefinedTask
from pynenc_nb.orchestrator import Orchestrator
from pynenc_nb.ports import StateBackend, TriggerStore
from pynenc_nb.records import RunnerContext
from pynenc_nb.serialization import make_serializer


class AppReader:
    """An app's backends opened by URL, read by the monitor (a :class:`~pynenc_nb.monitor.source.MonitorSource`)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.conf: PynencConfig = load_config(values)[0]
        self.app_id = self.conf.app_id
        self.backends = Backends.open(self.conf.backend_url, self.conf.broker_url, self.app_id)
        self.serializer = make_serializer(self.conf.serializer, self.conf.serializer_secret)
        self.orchestrator = Orchestrator(lambda: self.backends, self.serializer, lambda: self.conf)
        self._clients = ClientContexts(lambda: self.state_backend)
        self.closed = False

    @property
    def state_backend(self) -> StateBackend:
        return self.backends.state

    @property
    def trigger_store(self) -> TriggerStore:
        return self.backends.trigger_store

    @property
    def tasks(self) -> Mapping[str, DefinedTask]:
        return {}  # the server imports no user code

    def client_context(self, kind: str) -> RunnerContext:
        """Who the server is in the histories it writes ("Run again")."""
        return self._clients.get(kind)

    def close(self) -> None:
        self.backends.close()
        self.closed = True
