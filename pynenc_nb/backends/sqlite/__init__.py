"""SQLite backend: every port in one file, shared safely by runners on this host.

The embedded default (``.pynenc/<app_id>.db``). Table layout: ``schema.py``.
"""

from __future__ import annotations

from pynenc_nb.backends.sqlite.backend import SQLiteBackend

__all__ = ["SQLiteBackend"]
