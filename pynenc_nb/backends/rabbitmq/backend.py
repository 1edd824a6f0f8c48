"""The RabbitMQ backend object: a broker and nothing else; asking it for state is a clear error."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import NoReturn

from pynenc_nb.backends.rabbitmq.broker import RabbitMQBroker
from pynenc_nb.backends.rabbitmq.connection import Settings
from pynenc_nb.exceptions import ConfigError


class RabbitMQBackend:
    serves_other_processes = True

    def __init__(self, url: str, app_id: str) -> None:
        self.app_id = app_id
        self.settings = Settings.from_url(url)
        self._broker = RabbitMQBroker(self.settings, app_id)

    def __repr__(self) -> str:
        return f"<RabbitMQBackend {self.settings.redacted} app={self.app_id}>"

    @property
    def url(self) -> str:
        """The URL with any password redacted."""
        return self.settings.redacted

    def broker(self) -> RabbitMQBroker:
        return self._broker

    def _queues_only(self, port: str) -> NoReturn:
        raise ConfigError(
            f"RabbitMQ carries queues only, it cannot be the {port}: set backend_url to sqlite:///… or "
            f"redis://… and keep broker_url={self.settings.redacted}",
            variable="backend_url",
            value=self.settings.redacted,
        )

    def state(self) -> NoReturn:
        self._queues_only("state backend")

    def trigger_store(self) -> NoReturn:
        self._queues_only("trigger store")

    def arg_cache(self) -> NoReturn:
        self._queues_only("argument cache")

    def atomic(self) -> AbstractContextManager[object]:
        """No multi-operation transactions: each send stands alone (its confirm read later)."""
        return contextlib.nullcontext()

    def purge(self) -> None:
        self._broker.purge()

    def close(self) -> None:
        self._broker.close()
