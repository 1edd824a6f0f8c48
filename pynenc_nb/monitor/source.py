"""What the monitor reads: the stores, the dead-runner threshold and the tasks defined here.

An app satisfies it, and so does the monitor server's read-only view of an app it found in the
app registry (``web/reader.py``), which never builds a ``Pynenc`` nor imports user code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pynenc_nb.conf import PynencConfig
    from pynenc_nb.ports import StateBackend, TriggerStore


class DefinedTask(Protocol):
    """A task whose code this process holds (shown as "defined here")."""

    @property
    def is_workflow(self) -> bool: ...

    @property
    def func(self) -> Callable[..., Any]: ...


class MonitorSource(Protocol):
    @property
    def state_backend(self) -> StateBackend: ...

    @property
    def trigger_store(self) -> TriggerStore: ...

    @property
    def conf(self) -> PynencConfig: ...  # runner_dead_after_s

    @property
    def tasks(self) -> Mapping[str, DefinedTask]: ...
