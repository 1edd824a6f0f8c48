"""A private MongoDB wire-protocol server (SecantusDB, test-only) on a free port, stopped by pid.

``PYNENC_NB_MONGO_URL`` replaces it with a real MongoDB (a replica set: the backend needs
transactions), e.g. ``PYNENC_NB_MONGO_URL=mongodb://127.0.0.1:27017 bash scripts/test.sh -k mongo``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.ports import restartable_port

START_TIMEOUT_S = 20.0


def secantus_binary() -> str | None:
    """``secantusd-py`` next to the running interpreter (the venv's bin), else on the PATH."""
    beside = Path(sys.executable).parent / "secantusd-py"
    return str(beside) if beside.exists() else shutil.which("secantusd-py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MongoServer:
    """One ``secantusd-py`` process; ``restart()`` keeps its port and its data directory."""

    def __init__(self, storage: str | None = None, port: int | None = None) -> None:
        self.port = port or restartable_port()
        self.dir = tempfile.mkdtemp(prefix="pynenc-mongo-")
        self.storage = storage or str(Path(self.dir) / "data")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/pynenc_tests"

    def start(self) -> MongoServer:
        binary = secantus_binary()
        if binary is None:
            raise RuntimeError("secantusd-py is not installed (pip install -e '.[test]')")
        log = open(Path(self.dir) / "server.log", "ab")  # noqa: SIM115 - the child keeps it open
        self.process = subprocess.Popen(
            [
                binary,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                self.storage,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        import pymongo

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"secantusd-py exited with {self.process.returncode}: {self.log_tail()}")
            client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
                self.url, serverSelectionTimeoutMS=300, connectTimeoutMS=300
            )
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"secantusd-py not ready after {START_TIMEOUT_S} s: {self.log_tail()}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def with_user(self, user: str, password: str) -> str:
        """Create a user and return a URL that signs in as it (SCRAM: a wrong password is refused).
        The server is not restarted with ``--auth``: SecantusDB 0.7 forgets its users on restart."""
        import pymongo

        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(self.url, serverSelectionTimeoutMS=5000)
        try:
            client.admin.command("createUser", user, pwd=password, roles=["root"])
        finally:
            client.close()
        return f"mongodb://{user}:{password}@127.0.0.1:{self.port}/pynenc_tests?authSource=admin"

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (Path(self.dir) / "server.log").read_text(errors="replace")[-2000:]
        return ""

    def kill(self) -> None:
        """kill -9 by pid, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)
