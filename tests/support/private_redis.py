"""A private ``redis-server`` for fault tests: on a free loopback port, its files in a folder of
the test's, optionally persisting every write (AOF) and requiring a password. Never the shared
server on :6379."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.ports import restartable_port


class PrivateRedis:
    """One ``redis-server`` on loopback, its files in ``folder``, persisting every write (AOF)."""

    def __init__(self, folder: Path, persistent: bool = True, password: str | None = None) -> None:
        self.folder = folder
        self.persistent = persistent
        self.password = password
        self.port = restartable_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "always",
                "--save",
                "",
                *(["--requirepass", self.password] if self.password else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")):  # up, asking for the password
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
