"""Which registered apps a JupyterLab server lists: live ones made under its root folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pynenc_nb.app_registry import record
from pynenc_nb.web.catalog import AppCatalog


def _sqlite(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(path).close()
    return f"sqlite://{path}"


def test_a_server_lists_the_live_apps_made_under_its_root(tmp_path: Path) -> None:
    registry = tmp_path / "apps.json"
    root, elsewhere = tmp_path / "project", tmp_path / "other-user"
    # Given apps made under the server's root, in another folder, and one whose file is gone
    mine = record("mine", _sqlite(root / "nb" / ".pynenc" / "mine.db"), working_dir=str(root / "nb"), path=registry)
    record("theirs", _sqlite(elsewhere / "t.db"), working_dir=str(elsewhere), path=registry)
    gone_db = root / ".pynenc" / "gone.db"
    record("gone", _sqlite(gone_db), working_dir=str(root), path=registry)
    gone_db.unlink()
    # When a server rooted there lists the apps
    listed = AppCatalog(registry_path=registry, within=root).known()
    # Then only the live app made under its root appears
    assert [known.entry.app_id for known in listed] == ["mine"] and listed[0].key == mine.key
    # And without a root (pynenc monitor), every live app does
    everywhere = AppCatalog(registry_path=registry).known()
    assert sorted(known.entry.app_id for known in everywhere) == ["mine", "theirs"]
