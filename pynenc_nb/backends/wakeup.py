"""Cross-process wake-ups for file-based backends: a hint, never the source of truth.

Every process that waits binds one Unix datagram socket in a private directory derived from the
database path; ``notify()`` sends one byte to every socket there (its own included). One waiting
thread at a time reads the socket itself (no reader thread, so no extra thread hop on the round
trip) and bumps a generation that the other waiting threads sleep on. Waiters read the generation
*before* checking the database, so a notification that arrives during the check is never lost;
they also wake at least every ``poll_cap_s`` in case a datagram was dropped.
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

from pynenc_nb.exceptions import BackendUnavailableError


def wake_dir_for(database: str) -> Path:
    digest = hashlib.sha1(os.path.realpath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pynenc-wake-{os.getuid()}-{digest}"


class WakeupHub:
    def __init__(self, directory: Path, poll_cap_s: float = 0.1) -> None:
        self.directory = directory
        self.poll_cap_s = poll_cap_s
        self._cond = threading.Condition()
        self._generation = 0
        self._reading = False  # a waiting thread is blocked in recv() on the socket
        self._sock: socket.socket | None = None
        self._path: str | None = None
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._closed = False

    @property
    def generation(self) -> int:
        if self._sock is None and not self._closed:
            self._listen()
        return self._generation

    def _listen(self) -> None:
        with self._cond:
            if self._sock is not None:
                return
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.directory.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                raise BackendUnavailableError(
                    f"wake-up folder {self.directory} is not private to this user (owner {info.st_uid}, mode "
                    f"{oct(info.st_mode & 0o777)}); remove it and retry"
                )
            path = str(self.directory / f"{os.getpid()}-{os.urandom(4).hex()}.sock")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            self._path = path
            self._sock = sock

    def _receive(self, sock: socket.socket, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` for a datagram, then drain the ones queued behind it."""
        try:
            sock.settimeout(timeout_s)
            sock.recv(16)
        except TimeoutError:
            return False
        except OSError:  # closed under us
            return False
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            while True:
                sock.recv(16)
        return True

    def wait(self, since: int, timeout_s: float) -> None:
        """Sleep until the generation moves past ``since``, or ``min(timeout_s, poll_cap_s)`` passes."""
        deadline = time.monotonic() + min(timeout_s, self.poll_cap_s)
        with self._cond:
            while self._generation == since:
                remaining = deadline - time.monotonic()
                sock = self._sock
                if remaining <= 0 or sock is None:
                    return
                if self._reading:
                    self._cond.wait(remaining)
                    continue
                self._reading = True
                self._cond.release()
                try:
                    woken = self._receive(sock, remaining)
                finally:
                    self._cond.acquire()
                    self._reading = False
                if woken:
                    self._generation += 1
                self._cond.notify_all()  # a new generation, or another waiter may take over reading

    def notify(self) -> None:
        """Wake waiters in every listening process, this one included."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        for name in names:
            path = str(self.directory / name)
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
