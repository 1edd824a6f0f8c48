"""The per-process caches of the Redis backend stay bounded by count and by bytes."""

from __future__ import annotations

from pynenc_nb.backends.redis.bounded import Bounded


def test_the_oldest_entries_go_past_the_count() -> None:
    cache: Bounded[str, str] = Bounded(3, 1_000, len)
    for key in "abcd":
        cache.put(key, "x")
    assert "a" not in cache and [k for k in "bcd" if k in cache] == ["b", "c", "d"] and len(cache) == 3


def test_the_oldest_entries_go_past_the_bytes_and_a_replaced_value_is_counted_once() -> None:
    cache: Bounded[str, str] = Bounded(100, 10, len)
    cache.put("a", "1234")
    cache.put("b", "1234")
    cache.put("a", "12")  # replaced: now the newest, and 6 bytes in all
    assert cache.bytes == 6 and cache.get("a") == "12"
    cache.put("c", "12345")  # 11 bytes: the oldest ("b") goes
    assert "b" not in cache and cache.bytes == 7 and len(cache) == 2


def test_a_value_larger_than_the_budget_is_not_kept() -> None:
    cache: Bounded[str, str] = Bounded(100, 10, len)
    cache.put("a", "1")
    cache.put("big", "x" * 11)
    assert len(cache) == 0 and cache.bytes == 0


def test_pop_and_clear_give_the_bytes_back() -> None:
    cache: Bounded[str, str] = Bounded(100, 10, len)
    cache.put("a", "123")
    assert cache.pop("a") == "123" and cache.pop("a") is None and cache.bytes == 0
    cache.put("b", "12")
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0
