"""KeyValueStore: small values by namespace."""

from __future__ import annotations

from pynenc_nb.ports import StateBackend


def test_values_are_kept_per_namespace(state: StateBackend) -> None:
    # Given values in two namespaces, one overwritten
    state.kv_put("tasks", "a", "1")
    state.kv_put("tasks", "b", "2")
    state.kv_put("tasks", "a", "3")
    state.kv_put("workflows", "a", "x")
    # Then each namespace returns its latest values and only its keys
    assert (state.kv_get("tasks", "a"), state.kv_get("tasks", "b"), state.kv_get("workflows", "a")) == ("3", "2", "x")
    assert sorted(state.kv_keys("tasks")) == ["a", "b"]
    assert state.kv_keys("workflows") == ["a"]


def test_missing_keys_and_namespaces(state: StateBackend) -> None:
    state.kv_put("tasks", "a", "")
    assert state.kv_get("tasks", "a") == ""
    assert state.kv_get("tasks", "missing") is None
    assert state.kv_get("nowhere", "a") is None
    assert state.kv_keys("nowhere") == []


def test_a_deleted_key_is_gone_and_deleting_twice_is_harmless(state: StateBackend) -> None:
    state.kv_put("runner_requests", "r1", "stop")
    state.kv_put("runner_requests", "r2", "stop")
    state.kv_delete("runner_requests", "r1")
    state.kv_delete("runner_requests", "r1")
    state.kv_delete("nowhere", "x")
    assert state.kv_get("runner_requests", "r1") is None
    assert state.kv_keys("runner_requests") == ["r2"]
