from __future__ import annotations

from typing import Protocol


class ArgCache(Protocol):
    """Content-addressed store for large serialized arguments and results.

    Keys are content hashes, so a ``put`` of an existing key is a no-op and values never change.
    """

    def put(self, key: str, value: str) -> None: ...

    def get(self, key: str) -> str | None: ...

    def purge(self) -> None: ...
