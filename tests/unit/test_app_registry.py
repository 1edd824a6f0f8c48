"""The app registry: private, atomic, deduplicated, bounded; only shareable apps record themselves."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from pynenc_nb import Pynenc
from pynenc_nb import app_registry as registry
from pynenc_nb.app_registry import describe_backend, public_key, read_entries, record
from pynenc_nb.records import new_id

WRITERS, RECORDS_EACH = 4, 25


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "jupyter" / "pynenc_nb" / "apps.json"
    monkeypatch.setenv(registry.ENV_VARIABLE, str(target))
    return target


def test_the_file_is_private_and_written_whole(path: Path) -> None:
    record("demo", "redis://user:pw@cache.local:6379/0", working_dir="/work/demo")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    data = json.loads(path.read_text())
    assert data["version"] == registry.FORMAT_VERSION and data["apps"][0]["working_dir"] == "/work/demo"
    assert sorted(p.name for p in path.parent.iterdir()) == [".apps.json.lock", "apps.json"]  # no temp file left


def test_entries_are_deduplicated_by_app_and_url(path: Path) -> None:
    first = record("demo", "redis://cache:6379/0", working_dir="/a", now=100.0)
    again = record("demo", "redis://cache:6379/0", working_dir="/b", now=200.0)
    record("demo", "redis://other:6379/0", working_dir="/a", now=150.0)
    record("etl", "redis://cache:6379/0", working_dir="/a", now=120.0)
    entries = read_entries(path)
    assert [(e.app_id, e.backend_url) for e in entries] == [
        ("demo", "redis://cache:6379/0"),
        ("demo", "redis://other:6379/0"),
        ("etl", "redis://cache:6379/0"),
    ]  # most recently seen first
    assert (entries[0].first_seen, entries[0].last_seen, entries[0].working_dir) == (100.0, 200.0, "/b")
    assert first.key == again.key


def test_the_file_is_bounded(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MAX_ENTRIES", 5)
    for i in range(8):
        record(f"app-{i}", "redis://cache:6379/0", now=float(i))
    assert [e.app_id for e in read_entries(path)] == [f"app-{i}" for i in (7, 6, 5, 4, 3)]


def test_a_sqlite_app_whose_file_is_gone_is_dropped(path: Path, tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    db.write_bytes(b"")
    record("old", f"sqlite://{db}")
    assert registry.is_available(read_entries(path)[0])
    db.unlink()
    assert not registry.is_available(read_entries(path)[0])
    record("new", "redis://cache:6379/0")
    assert [e.app_id for e in read_entries(path)] == ["new"]


def _write_many(path: str, writer: int) -> None:
    os.environ[registry.ENV_VARIABLE] = path
    for i in range(RECORDS_EACH):
        record(f"w{writer}-{i}", "redis://cache:6379/0")


def test_concurrent_writers_lose_nothing(path: Path) -> None:
    # Given several processes recording different apps at the same time
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_many, args=(str(path), w)) for w in range(WRITERS)]
    for worker in workers:
        worker.start()
    # While they write, a reader always sees a whole file
    while any(worker.is_alive() for worker in workers):
        if path.exists():
            json.loads(path.read_text())
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    # Then every entry is there exactly once
    names = [e.app_id for e in read_entries(path)]
    assert sorted(names) == sorted(f"w{w}-{i}" for w in range(WRITERS) for i in range(RECORDS_EACH))
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_apps_record_themselves_when_their_shared_backend_opens(path: Path, tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'shared.db'}"
    app = Pynenc(config_values={"app_id": f"reg-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})
    assert not path.exists()  # creating the app opens nothing
    try:
        app.state_backend.count_by_status()
        (entry,) = read_entries(path)
        assert (entry.app_id, entry.backend_url, entry.working_dir) == (app.app_id, url, str(Path.cwd()))
    finally:
        app.close()


def test_memory_and_undiscoverable_apps_do_not(path: Path, tmp_path: Path) -> None:
    private = Pynenc(config_values={"app_id": f"mem-{new_id()[:8]}", "backend_url": "memory:"})
    hidden = Pynenc(
        config_values={
            "app_id": f"hid-{new_id()[:8]}",
            "backend_url": f"sqlite://{tmp_path / 'hidden.db'}",
            "discoverable": False,
            "logging_level": "error",
        }
    )
    try:
        private.state_backend.count_by_status()
        hidden.state_backend.count_by_status()
        assert read_entries(path) == []
    finally:
        private.close()
        hidden.close()


def test_a_registry_that_cannot_be_written_never_breaks_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(registry.ENV_VARIABLE, str(blocker / "apps.json"))
    app = Pynenc(
        config_values={
            "app_id": f"ro-{new_id()[:8]}",
            "backend_url": f"sqlite://{tmp_path / 'ro.db'}",
            "dev_mode_force_sync_tasks": True,
            "logging_level": "error",
        }
    )

    @app.task
    def one() -> int:
        return 1

    try:
        assert one().result == 1
    finally:
        app.close()


def test_a_corrupt_file_reads_as_empty_and_is_replaced(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert read_entries(path) == []
    record("demo", "redis://cache:6379/0")
    assert [e.app_id for e in read_entries(path)] == ["demo"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///home/me/work/.pynenc/demo.db", "sqlite: demo.db"),
        ("redis://user:secret@cache.local:6379/0", "redis://cache.local"),
        ("rediss://:secret@[::1]:6380/2?ssl_cert_reqs=none", "rediss://[::1]"),
        ("mongodb://u:p@h1:27017,h2:27017/db", "mongodb://h1,h2"),
        ("memory:", "memory"),
    ],
)
def test_the_browser_sees_the_host_or_file_name_only(url: str, shown: str) -> None:
    assert describe_backend(url) == shown


def test_the_key_is_derived_from_redacted_urls() -> None:
    assert public_key("a", "redis://u:one@h:6379/0") == public_key("a", "redis://u:two@h:6379/0")
    assert public_key("a", "redis://h:6379/0") != public_key("b", "redis://h:6379/0")
    assert public_key("a", "redis://h:6379/0") != public_key("a", "redis://h:6379/1")


def test_the_kernels_that_used_an_app_are_kept_newest_last(path: Path, tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'k.db'}"
    (tmp_path / "k.db").touch()
    record("k", url, kernel_id="aaa", now=1.0)
    record("k", url, now=2.0)  # a script, not a kernel
    record("k", url, kernel_id="bbb", now=3.0)
    entry = record("k", url, kernel_id="aaa", now=4.0)
    assert entry.kernel_ids == ("bbb", "aaa")
    assert read_entries()[0].kernel_ids == ("bbb", "aaa")


def test_a_kernel_knows_its_id_from_its_connection_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["ipykernel_launcher.py", "-f", "/run/jupyter/kernel-1c2d3e.json"])
    assert registry.kernel_id() == "1c2d3e"
    monkeypatch.setattr("sys.argv", ["script.py"])
    assert registry.kernel_id() is None
