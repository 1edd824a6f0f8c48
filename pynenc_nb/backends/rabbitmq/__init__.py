"""RabbitMQ backend: the Broker port only, beside any state backend.

``broker_url=amqp://user:password@host:5672/vhost`` (``amqps://`` for TLS) with ``backend_url`` on
SQLite, Redis or MongoDB. Each (app, queue) is a durable classic queue ``pynenc.<app_id>.<queue>``
with ``x-max-priority``; every message is persistent with a publisher confirm, read after ``send``
returns (what is refused or lost with a connection is published again); consumers ack manually
once the invocation's claim is stored. Threading, priorities and
options are described in ``connection.py`` and ``broker.py``. Needs the ``rabbitmq`` extra:
``pip install "pynenc_nb[rabbitmq]"``.
"""

from __future__ import annotations

from pynenc_nb.backends.rabbitmq.backend import RabbitMQBackend

__all__ = ["RabbitMQBackend"]
