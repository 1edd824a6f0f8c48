"""Redis backend: every port on one Redis server (or cluster slot), shared by any number of hosts.

``redis://[[user]:password@]host[:port][/db]`` or ``rediss://`` for TLS; redis-py options such as
``?socket_timeout=30`` go in the query string. Each app's keys live under ``pynenc:{<app_id>}:``
(layout in ``keys.py``); every status change is one Lua script (``scripts/``). Needs the
``redis`` extra: ``pip install "pynenc_nb[redis]"``.
"""

from __future__ import annotations

from pynenc_nb.backends.redis.backend import RedisBackend

__all__ = ["RedisBackend"]
