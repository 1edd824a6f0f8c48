"""SQLite on a disk that fills up or turns read-only: a typed ``BackendStorageError`` naming the
file, nothing stored half-way, the database intact afterwards, and a runner that backs off instead
of spinning. The disk is a real one: a small tmpfs the test mounts (it needs root), filled to the
last byte with a file, or remounted read-only."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.exceptions import BackendStorageError
from pynenc_nb.records import InvocationFilter
from tests.conftest import skip_or_fail
from tests.support.log_lines import LogLines, capturing
from tests.support.processes import poll
from tests.unit.runner_support import running

pytestmark = pytest.mark.slow
S = InvocationStatus
CALLS = 20


@pytest.fixture
def backend_kind() -> str:
    return "sqlite"  # the app's file is on the test's own disk (``disk_app``)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs: {mounted.stderr.strip()}", "run the tests as root (CAP_SYS_ADMIN)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)


@pytest.fixture
def disk_app(small_disk: Path, make_app: Callable[..., Pynenc]) -> Pynenc:
    return make_app(backend_url=f"sqlite://{small_disk / 'app.db'}", runner_heartbeat_interval_s=0.5)


def _truncate_wal(path: Path) -> None:
    """An empty WAL file: every write must then take new space on the disk (a checkpointed WAL is
    rewritten in place, which a full disk still allows)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _fill(disk: Path) -> Path:
    """Fill the disk to the last byte; deleting the returned file frees it again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def _intact(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


@pytest.fixture
def pynenc_lines() -> Iterator[list[str]]:
    with capturing(LogLines(logging.WARNING)) as handler:
        yield handler.lines


def test_a_full_disk_gives_a_typed_error_stores_nothing_and_the_runner_backs_off(
    disk_app: Pynenc, small_disk: Path, tmp_path: Path, pynenc_lines: list[str]
) -> None:
    app = disk_app
    db = small_disk / "app.db"
    gate = tmp_path / "gate"

    @app.task
    def hold(path: str) -> str:
        while not os.path.exists(path):
            time.sleep(0.02)
        return "held"

    @app.task
    def double(x: int) -> int:
        return 2 * x

    with running(app, max_threads=2):
        # Given a runner whose two slots run calls waiting on a gate, and calls queued behind them
        holders = [hold(str(gate)) for _ in range(2)]
        poll(lambda: {h.status for h in holders} == {S.RUNNING}, 30.0, message="both slots to be busy")
        queued = [double(i) for i in range(CALLS)]
        # And then a disk full to its last byte
        _truncate_wal(db)
        filler = _fill(small_disk)
        # When a call is made: a typed error that names the file and says what to do; nothing stored
        with pytest.raises(BackendStorageError, match=r"(?s)app\.db.*full.*free space") as raised:
            double(99)
        assert raised.value.path == str(db)
        records, _ = app.state_backend.query(InvocationFilter(task_id=double.task_id))
        assert len(records) == CALLS and {r.status for r in records} == {S.REGISTERED}
        # When the held calls end: their results cannot be stored, the workers cannot take work,
        # and they back off instead of spinning, with a few log lines
        cpu_before, wall_before = time.process_time(), time.monotonic()
        gate.touch()
        time.sleep(4.0)
        cpu_s, wall_s = time.process_time() - cpu_before, time.monotonic() - wall_before
        failures = [line for line in pynenc_lines if "could not take work" in line]
        assert 2 <= len(failures) <= 10, pynenc_lines
        assert len(pynenc_lines) <= 20, pynenc_lines
        assert cpu_s < 0.5 * wall_s, f"{cpu_s:.2f} s of CPU in {wall_s:.1f} s: the runner spins"
        assert {h.status for h in holders} == {S.RUNNING}, "their results are held by the workers"
        assert {inv.status for inv in queued} == {S.REGISTERED}, "nothing was taken half-way"
        # When the disk has room again: the same runner stores the held results and takes the work
        filler.unlink()
        freed_at = time.monotonic()
        assert [h.result_or(30.0) for h in holders] == ["held", "held"]
        assert [inv.result_or(30.0) for inv in queued] == [2 * i for i in range(CALLS)]
        print(
            f"\ndisk full for {wall_s:.1f} s: {cpu_s:.2f} s of CPU, {len(pynenc_lines)} log lines; "
            f"all done {time.monotonic() - freed_at:.1f} s after space was freed"
        )
        assert double(50).result_or(30.0) == 100
        assert any("works again" in line for line in pynenc_lines), pynenc_lines
    # And the database is intact
    _intact(db)


def test_a_read_only_disk_gives_a_typed_error_and_the_database_stays_intact(
    disk_app: Pynenc, small_disk: Path, tmp_path: Path, make_app: Callable[..., Pynenc]
) -> None:
    app = disk_app

    @app.task
    def double(x: int) -> int:
        return 2 * x

    with running(app, max_threads=2):
        assert double(1).result_or(30.0) == 2
    _truncate_wal(small_disk / "app.db")
    # Given the same disk seen through a read-only mount (the app's file on read-only media)
    view = tmp_path / "read-only"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(small_disk), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        # When the app is opened there and a call is made: a typed error naming the file, saying it
        # is read-only; nothing stored
        with pytest.raises(BackendStorageError, match=r"(?s)read-only.*app\.db.*make them writable") as raised:
            read_only = make_app(app_id=app.app_id, backend_url=f"sqlite://{view / 'app.db'}")

            @read_only.task
            def triple(x: int) -> int:
                return 3 * x

            triple(1)
        assert raised.value.path == str(view / "app.db")
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False, capture_output=True)
    # Then, on the writable disk, the first result is still there, calls work, and the file is intact
    with running(app, max_threads=2):
        assert double(3).result_or(30.0) == 6
    records, _ = app.state_backend.query(InvocationFilter())
    assert sorted(r.status for r in records) == [S.SUCCESS, S.SUCCESS]
    _intact(small_disk / "app.db")
