"""A TCP proxy for network-fault tests, on loopback only, switched between three modes:

* ``pass``: bytes flow both ways;
* ``blackhole``: connections stay open but nothing gets through either way (a dead route, a
  partition: the peer neither answers nor closes); new connections are accepted and starve too;
* ``reset``: every open connection is closed at once with a TCP reset, then it passes again.

One thread accepts, two threads per connection pump bytes; everything stops with ``close()``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator

_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


class ChaosProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._mode = "pass"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = threading.Event()
        self.connections_made = 0
        threading.Thread(target=self._accept, name="chaos-accept", daemon=True).start()

    def url_for(self, url: str, port: int) -> str:
        """``url`` with the target's port replaced by the proxy's."""
        return url.replace(f":{port}/", f":{self.port}/", 1)

    @property
    def mode(self) -> str:
        return self._mode

    def blackhole(self) -> None:
        self._mode = "blackhole"

    def pass_through(self) -> None:
        self._mode = "pass"

    def reset(self) -> None:
        """Reset every open connection, then let new ones pass."""
        with self._lock:
            sockets = list(self._open)
            self._open.clear()
            self._mode = "pass"
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                sock.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        self.reset()

    @contextlib.contextmanager
    def running(self) -> Iterator[ChaosProxy]:
        try:
            yield self
        finally:
            self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
                self.connections_made += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), name="chaos-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([source], [], [], 0.1)
                if not ready:
                    continue
                if self._mode == "blackhole":
                    # Not read at all: the sender's buffers fill and nothing reaches the peer.
                    threading.Event().wait(0.05)
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
            except (OSError, ValueError):
                break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.close()
        with self._lock:
            self._open.discard(source)
            self._open.discard(sink)
