"""Cross-process wake-ups for file-based backends: a hint, never the source of truth.

Every process that waits binds one Unix datagram socket in a private directory derived from the
database path; ``notify()`` sends one byte to every socket there. A background thread turns
received bytes into a generation bump on a condition that waiting threads sleep on. Waiters read
the generation *before* checking the database, so a notification that arrives during the check
is never lost; they also wake at least every ``poll_cap_s`` in case a datagram was dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
import threading
import time
from pathlib import Path


def wake_dir_for(database: str) -> Path:
    digest = hashlib.sha1(os.path.realpath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pynenc-wake-{os.getuid()}-{digest}"


class WakeupHub:
    def __init__(self, directory: Path, poll_cap_s: float = 0.1) -> None:
        self.directory = directory
        self.poll_cap_s = poll_cap_s
        self._cond = threading.Condition()
        self._generation = 0
        self._sock: socket.socket | None = None
        self._path: str | None = None
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._start_lock = threading.Lock()
        self._closed = False

    @property
    def generation(self) -> int:
        self._ensure_listening()
        return self._generation

    def _ensure_listening(self) -> None:
        if self._sock is not None or self._closed:
            return
        with self._start_lock:
            if self._sock is not None:
                return
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = str(self.directory / f"{os.getpid()}-{os.urandom(4).hex()}.sock")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            self._path = path
            self._sock = sock
            threading.Thread(target=self._read_loop, args=(sock,), name="pynenc-wakeup", daemon=True).start()

    def _read_loop(self, sock: socket.socket) -> None:
        sock.settimeout(1.0)  # lets close() end this thread
        while not self._closed:
            try:
                sock.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            self._bump()

    def _bump(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, since: int, timeout_s: float) -> None:
        """Sleep until the generation moves past ``since``, or ``min(timeout_s, poll_cap_s)`` passes."""
        deadline = time.monotonic() + min(timeout_s, self.poll_cap_s)
        with self._cond:
            while self._generation == since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    def notify(self) -> None:
        """Wake waiters in this process at once and in every other listening process."""
        self._bump()
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        for name in names:
            path = str(self.directory / name)
            if path == self._path:
                continue
            try:
                self._sender.sendto(b"w", path)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # its process is gone
            except (BlockingIOError, OSError):
                pass  # a full buffer already holds a wake-up for that listener

    def close(self) -> None:
        self._closed = True
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
        self._sender.close()
