"""What the engine below ``app`` needs of an app, as Protocols the app satisfies.

Handles, tasks and the execution path type against these instead of importing ``Pynenc``, so no
module below ``app`` depends on it and each dependency is visible: a handle needs the stores and
the orchestrator, executing an invocation needs to load its task too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pynenc_nb.backends import Backends
    from pynenc_nb.conf import PynencConfig
    from pynenc_nb.orchestrator import Orchestrator
    from pynenc_nb.ports import ArgCache, Broker, StateBackend
    from pynenc_nb.records import RunnerContext
    from pynenc_nb.serialization.codec import Serializer
    from pynenc_nb.task_options import TaskOptions


class InvocationHost(Protocol):
    """What an invocation handle reads through."""

    @property
    def app_id(self) -> str: ...

    @property
    def serializer(self) -> Serializer: ...

    @property
    def arg_cache(self) -> ArgCache: ...

    @property
    def state_backend(self) -> StateBackend: ...

    @property
    def orchestrator(self) -> Orchestrator: ...


class RunnableTask(Protocol):
    """A task as the execution path sees it: options to decide retries, a body to run."""

    @property
    def task_id(self) -> str: ...

    @property
    def options(self) -> TaskOptions: ...

    def run(self, values: Mapping[str, Any]) -> Any: ...


class EngineHost(InvocationHost, Protocol):
    """What executing an invocation needs: its task's code, the backends, who acts, where to log."""

    @property
    def conf(self) -> PynencConfig: ...

    @property
    def logger(self) -> logging.Logger: ...

    @property
    def backends(self) -> Backends: ...

    @property
    def broker(self) -> Broker: ...

    def get_task(self, task_id: str, version: str | None = None) -> RunnableTask: ...

    def client_context(self, kind: str = "ExternalCaller") -> RunnerContext: ...
