"""Every fault that applies to a backend runs on it, MongoDB's wire server included."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, skip_or_fail
from tests.support.log_lines import LogLines, capturing
from tests.support.mongo_server import MongoServer, secantus_binary


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def private_mongo() -> Iterator[MongoServer]:
    """A SecantusDB server of the test's own, on disk on a free port (restart and network faults)."""
    if secantus_binary() is None:
        skip_or_fail("secantusd-py is not installed", "pip install -e '.[test]'")
    server = MongoServer()
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        skip_or_fail(str(exc), "see services.md")
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is marked ``faults`` (``-m faults`` runs them, ``-m 'not faults'`` skips them)."""
    for item in items:
        if "/tests/faults/" in str(item.path):
            item.add_marker(pytest.mark.faults)


def _descendants(root: int) -> dict[int, str]:
    """Live processes under ``root`` (zombies excluded), by pid, with their command lines."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        try:
            found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        todo.extend(children.get(pid, []))
    return found


# Folders of servers that outlive a test on purpose (module fixtures, restarted by their tests): a
# process whose command line names one, and the processes around it, are that server's.
MODULE_SERVERS: set[str] = set()


@pytest.fixture(autouse=True)
def no_leaked_process() -> Iterator[None]:
    """A fault test leaves no process behind: every runner, server and proxy it started is gone
    (by pid) once its fixtures are torn down. The session's MongoDB wire server and the servers of
    module fixtures (``MODULE_SERVERS``) are not the test's."""
    before = set(_descendants(os.getpid()))
    yield
    deadline = time.monotonic() + 10.0
    while True:
        left = _left_behind(before)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, f"processes left behind by the test: {left}"


def _left_behind(before: set[int]) -> dict[int, str]:
    from tests.conftest import _mongo

    session_server = _mongo.get("server")
    session_pid = session_server.process.pid if session_server is not None and session_server.process else None
    new = {pid: cmd for pid, cmd in _descendants(os.getpid()).items() if pid not in before and pid != session_pid}
    trees: dict[int, list[int]] = {}  # the topmost new ancestor of each new process -> its tree
    for pid in new:
        top = next((a for a in reversed(_ancestors(pid)) if a in new), pid)
        trees.setdefault(top, []).append(pid)
    left: dict[int, str] = {}
    for top, members in trees.items():
        if session_pid is not None and session_pid in _ancestors(top):
            continue
        if any(folder in new[pid] for pid in members for folder in MODULE_SERVERS):
            continue
        left.update({pid: new[pid] for pid in members})
    return left


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        chain.append(pid)
    return chain


# A URL with a password in clear: ``scheme://user:password@`` where the password is not ``***``.
_CLEAR_PASSWORD = re.compile(r"\w+://[^/\s:@]*:(?!\*\*\*@)[^@\s/]+@")


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    """No log line of the test's process shows a URL with its password, whatever the fault did
    (pynenc's lines and the client libraries', tracebacks included)."""
    with capturing(LogLines(logging.DEBUG, formatted=True), "", "pynenc") as handler:  # pynenc's does not propagate
        yield
    leaked = [line for line in handler.lines if _CLEAR_PASSWORD.search(line)]
    assert not leaked, f"log lines with a password in clear: {leaked[:3]}"
