"""A per-process cache that cannot grow without bound, by count or by the bytes its values hold.

The Redis backend keeps records it registered (their static fields) and the final notes it popped
(with their results) so that a caller gets its result without a read. Values may carry arguments
or results of up to ``arg_cache_min_bytes`` each (64 KiB by default), so a cap on the number of
entries alone would still allow hundreds of megabytes: the oldest entries go past either cap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """An insertion-ordered map that drops its oldest entries past ``max_items`` or ``max_bytes``
    (the sum of ``size(value)``). Not locked: its owner holds a lock around it."""

    def __init__(self, max_items: int, max_bytes: int, size: Callable[[V], int]) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._size = size
        self._items: dict[K, V] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        self.pop(key)
        self._items[key] = value
        self.bytes += self._size(value)
        items = self._items
        while items and (len(items) > self.max_items or self.bytes > self.max_bytes):
            self.pop(next(iter(items)))

    def pop(self, key: K) -> V | None:
        value = self._items.pop(key, None)
        if value is not None:
            self.bytes -= self._size(value)
        return value

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0
