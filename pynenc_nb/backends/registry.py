"""URL scheme -> lazily imported backend factory, so an app imports only the technology it uses.

``memory:`` and ``sqlite:///path`` ship in the core; ``redis://``, ``mongodb://`` and ``amqp://``
need their extras. Third-party backends register a factory under the ``pynenc_nb.backends``
entry-point group, named by URL scheme.
"""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from importlib.metadata import entry_points
from typing import Any, Protocol

from pynenc_nb.conf.urls import redact_url, scheme_of
from pynenc_nb.exceptions import ConfigError
from pynenc_nb.ports import ArgCache, Broker, StateBackend, TriggerStore


class Backend(Protocol):
    """One connection to one technology; hands out the ports it implements."""

    serves_other_processes: bool

    def state(self) -> StateBackend: ...

    def broker(self) -> Broker: ...

    def trigger_store(self) -> TriggerStore: ...

    def arg_cache(self) -> ArgCache: ...

    def atomic(self) -> AbstractContextManager[object]:
        """Group port operations into one transaction where the technology allows it.

        Only an optimisation: every operation is atomic on its own, and callers must be correct
        when the group is not (a no-op context for backends without multi-operation transactions).
        """
        ...

    def close(self) -> None: ...


# scheme -> "module:factory"; factories take (url, app_id) and return a Backend
_REGISTRY: dict[str, str] = {
    "memory": "pynenc_nb.backends.memory:MemoryBackend",
    "sqlite": "pynenc_nb.backends.sqlite:SQLiteBackend",
    "redis": "pynenc_nb.backends.redis:RedisBackend",
    "rediss": "pynenc_nb.backends.redis:RedisBackend",
    "mongodb": "pynenc_nb.backends.mongo:MongoBackend",
    "mongodb+srv": "pynenc_nb.backends.mongo:MongoBackend",
    "amqp": "pynenc_nb.backends.rabbitmq:RabbitMQBackend",
    "amqps": "pynenc_nb.backends.rabbitmq:RabbitMQBackend",
}


def _factory(scheme: str, url: str) -> Any:
    target = _REGISTRY.get(scheme)
    if target is None:
        for ep in entry_points(group="pynenc_nb.backends"):
            if ep.name == scheme:
                return ep.load()
        known = ", ".join(f"{s}:" for s in sorted(_REGISTRY))
        raise ConfigError(
            f"no backend for URL {redact_url(url)!r}: known schemes are {known}",
            variable="backend_url",
            value=redact_url(url),
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ConfigError(
                f"the {scheme}: backend is not available in this version of pynenc_nb", variable="backend_url"
            ) from exc
        raise
    return getattr(module, attr)


def open_backend(url: str, app_id: str) -> Backend:
    backend: Backend = _factory(scheme_of(url), url)(url, app_id)
    return backend
