"""ArgCache: a content-addressed store whose values never change."""

from __future__ import annotations

from pynenc_nb.ports import ArgCache


def test_put_then_get(arg_cache: ArgCache) -> None:
    arg_cache.put("h1", "big value")
    arg_cache.put("h2", "x" * 100_000)
    assert arg_cache.get("h1") == "big value"
    assert arg_cache.get("h2") == "x" * 100_000
    assert arg_cache.get("missing") is None


def test_put_of_an_existing_key_keeps_the_first_value(arg_cache: ArgCache) -> None:
    arg_cache.put("h1", "first")
    arg_cache.put("h1", "second")
    assert arg_cache.get("h1") == "first"


def test_purge_removes_every_value(arg_cache: ArgCache) -> None:
    arg_cache.put("h1", "v")
    arg_cache.purge()
    assert arg_cache.get("h1") is None
    arg_cache.put("h1", "again")
    assert arg_cache.get("h1") == "again"
