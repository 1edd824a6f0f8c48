"""Loopback ports for the servers tests start themselves.

A server that a test stops and starts again must get its port back. A port the kernel hands out
for ``bind(0)`` lies in its ephemeral range, the one it also picks local ports of outgoing
connections from: while the server was down, any client of the test session (or the runner
reconnecting to that very port) could take it, and the restart failed with ``eaddrinuse``
(seen in CI with a private RabbitMQ node). Ports for restartable servers come from below that
range instead.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOWEST = 10_000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def restartable_port() -> int:
    """A free loopback port that no outgoing connection can be given meanwhile."""
    highest = _ephemeral_start() - 1
    for _ in range(500):
        port = random.randint(_LOWEST, highest)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free loopback port between {_LOWEST} and {highest}")
