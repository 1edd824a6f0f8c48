"""Who a process is when it acts outside any runner: one stored client record per kind.

Every history entry names who made it; a caller registering calls (``ExternalCaller``), dev mode
executing them inline (``DevModeRunner``) or the monitor server running one again
(``MonitorRerun``) is stored once per process and kind with state ``client``, never recovered.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from pynenc_nb.ports import StateBackend
from pynenc_nb.records import RunnerContext, RunnerInfo


class ClientContexts:
    def __init__(self, state: Callable[[], StateBackend]) -> None:
        self._state = state
        self._by_kind: dict[str, RunnerContext] = {}

    def get(self, kind: str) -> RunnerContext:
        """This process's context of ``kind``, stored on first use (again after ``fork``)."""
        client = self._by_kind.get(kind)
        if client is None or client.pid != os.getpid():
            client = RunnerContext.current(kind)
            self._state().put_runner(RunnerInfo(client, time.time(), "client"))
            self._by_kind[kind] = client
        return client

    def clear(self) -> None:
        self._by_kind.clear()
