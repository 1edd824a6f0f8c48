"""Cross-process wake-ups for file-based backends: a hint, never the source of truth.

Every process that waits binds one Unix datagram socket in a private directory derived from the
database path; ``notify()`` sends one byte to every socket there (its own included). One waiting
thread at a time reads the socket itself (no reader thread, so no extra thread hop on the round
trip) and bumps a generation that the other waiting threads sleep on. Waiters read the generation
*before* checking the database, so a notification that arrives during the check is never lost;
they also wake at least every ``poll_cap_s`` in case a datagram was dropped.

A datagram may name what changed (the ids of the invocations that ended, one per line): a waiter
that says what it waits for (``keys``) sleeps through the others, so a caller waiting on one
result is not woken by each of the thousand endings of a fan-out. A datagram naming nothing, or
more than the hub keeps track of, wakes every waiter. So does a drain that found the socket's
queue full: Linux queues only ``net.unix.max_dgram_qlen`` datagrams (10 by default) and drops the
rest, and a dropped one may have named what a waiter waits for.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Collection, Iterable
from pathlib import Path

from pynenc_nb.exceptions import BackendUnavailableError

_MAX_KEYED_BYTES = 8192  # a longer list of keys goes as a wake-up for all
_RECENT = 512  # generations whose keys the hub keeps; a waiter further behind wakes
_ALL = b"*"


def _queue_limit() -> int:
    """How many datagrams a drain may read before it must assume some were dropped: Linux's
    ``max_dgram_qlen`` (10 elsewhere), at most 64, since the socket's buffer may fill first."""
    try:
        return min(int(Path("/proc/sys/net/unix/max_dgram_qlen").read_text()), 64)
    except (OSError, ValueError):
        return 10


_QUEUE_LIMIT = _queue_limit()


def wake_dir_for(database: str, channel: str) -> Path:
    """One folder per database and channel: a channel's datagrams wake only who waits on it."""
    digest = hashlib.sha1(os.path.realpath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pynenc-wake-{os.getuid()}-{digest}-{channel}"


class WakeupHub:
    def __init__(self, directory: Path, poll_cap_s: float = 0.1) -> None:
        self.directory = directory
        self.poll_cap_s = poll_cap_s
        self._cond = threading.Condition()
        self._generation = 0
        self._recent: collections.deque[tuple[int, frozenset[str] | None]] = collections.deque(maxlen=_RECENT)
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

    def _receive(self, sock: socket.socket, timeout_s: float) -> list[bytes]:
        """Block up to ``timeout_s`` for a datagram, then drain the ones queued behind it."""
        try:
            sock.settimeout(timeout_s)
            received = [sock.recv(_MAX_KEYED_BYTES)]
        except TimeoutError:
            return []
        except OSError:  # closed under us
            return []
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            while True:
                received.append(sock.recv(_MAX_KEYED_BYTES))
        return received

    def _woken(self, since: int, keys: Collection[str] | None) -> bool:
        """Whether something a waiter at generation ``since`` waits for has happened since."""
        if self._generation == since:
            return False
        if keys is None:
            return True
        recent = self._recent
        if not recent or recent[0][0] > since + 1:
            return True  # further behind than the hub keeps track of
        for generation, named in reversed(recent):
            if generation <= since:
                return False
            if named is None or not named.isdisjoint(keys):
                return True
        return False

    def _record(self, datagrams: list[bytes]) -> None:
        for datagram in datagrams:
            self._generation += 1
            named = None if datagram == _ALL or not datagram else frozenset(datagram.decode().split("\n"))
            self._recent.append((self._generation, named))
        if len(datagrams) >= _QUEUE_LIMIT:  # the queue was full: what it dropped is unknown
            self._generation += 1
            self._recent.append((self._generation, None))

    def wait(self, since: int, timeout_s: float, keys: Collection[str] | None = None) -> None:
        """Sleep until the generation moves past ``since`` (with ``keys``: by a datagram naming one
        of them, or naming nothing), or ``min(timeout_s, poll_cap_s)`` passes."""
        deadline = time.monotonic() + min(timeout_s, self.poll_cap_s)
        with self._cond:
            while not self._woken(since, keys):
                remaining = deadline - time.monotonic()
                sock = self._sock
                if remaining <= 0 or sock is None:
                    return
                if self._reading:
                    self._cond.wait(remaining)
                    continue
                self._reading = True
                self._cond.release()
                datagrams: list[bytes] = []
                try:
                    datagrams = self._receive(sock, remaining)
                finally:
                    self._cond.acquire()
                    self._reading = False
                    self._record(datagrams)
                self._cond.notify_all()  # a new generation, or another waiter may take over reading

    def notify(self, keys: Iterable[str] | None = None) -> None:
        """Wake waiters in every listening process, this one included: those waiting on one of
        ``keys``, or all of them."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        payload = _ALL if keys is None else "\n".join(keys).encode()
        if len(payload) > _MAX_KEYED_BYTES or not payload:
            payload = _ALL
        for name in names:
            path = str(self.directory / name)
            try:
                self._sender.sendto(payload, path)
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
