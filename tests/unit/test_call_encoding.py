"""Calls are serialized once, at call time: refusals store nothing, large values go to the arg cache."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest

from pynenc_nb import Pynenc, SerializationError
from pynenc_nb.call import Signature, content_hash
from pynenc_nb.serialization.codec import TAG


def test_unserializable_argument_under_strict_json_fails_at_call_time_and_stores_nothing(
    make_app: Callable[..., Pynenc],
) -> None:
    app = make_app(serializer="json")

    @app.task
    def consume(x: Any, label: str = "") -> str:
        return label

    with pytest.raises(SerializationError) as info:
        consume(object(), label="ok")
    error = info.value
    assert error.argument == "x"
    assert error.serializer == "json"
    assert error.value_type == "builtins.object"
    assert "'x'" in str(error) and "builtins.object" in str(error) and "'json'" in str(error)
    assert app.state_backend.count_by_status() == {}
    assert app.broker.depth() == 0


def test_one_bad_item_in_parallelize_stores_none_of_the_items(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(serializer="json")

    @app.task
    def consume(x: Any) -> None:
        return None

    with pytest.raises(SerializationError) as info:
        consume.parallelize([(1,), (2,), (object(),), (4,)])
    assert info.value.argument == "x"
    assert app.state_backend.count_by_status() == {}
    assert app.broker.depth() == 0


def test_large_arguments_go_to_the_arg_cache_by_content_hash(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(arg_cache_min_bytes=1000, dev_mode_force_sync_tasks=True)

    @app.task
    def echo(data: str, small: int) -> str:
        return data + str(small)

    big = "x" * 5000
    invocation = echo(big, 7)
    stored = json.loads(invocation.record.arguments)
    assert stored["small"] == 7
    reference = stored["data"]
    assert reference[TAG] == "ref"
    expected_text = app.serializer.dumps(big)
    assert reference["k"] == content_hash(expected_text)
    assert app.arg_cache.get(reference["k"]) == expected_text
    assert big not in invocation.record.arguments
    assert invocation.arguments == {"data": big, "small": 7}
    assert invocation.result == big + "7"  # the task saw the full value; the large result came back too


def test_equal_large_arguments_share_one_cache_entry(make_app: Callable[..., Pynenc]) -> None:
    app = make_app(arg_cache_min_bytes=100)

    @app.task
    def first(data: list[int]) -> None:
        return None

    @app.task
    def second(payload: list[int]) -> None:
        return None

    values = list(range(200))
    a = json.loads(first(values).record.arguments)["data"]["k"]
    b = json.loads(second(list(values)).record.arguments)["payload"]["k"]
    assert a == b
    assert second(values).arguments == {"payload": values}


def test_call_id_is_equal_for_equal_arguments(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task
    def add(a: Any, b: int = 2) -> None:
        return None

    @app.task
    def other(a: Any, b: int = 2) -> None:
        return None

    base = add(1, 2).call_id
    assert add(1, 2).call_id == base
    assert add(a=1, b=2).call_id == base
    assert add(1).call_id == base  # defaults are bound before hashing
    assert add(1, 3).call_id != base
    assert add(2, 1).call_id != base
    assert other(1, 2).call_id != base
    assert add((1,), 2).call_id != add([1], 2).call_id  # a tuple is not a list


def test_disable_cache_args_are_left_out_of_the_call_id(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task(disable_cache_args=("verbose",))
    def work(x: int, verbose: bool = False) -> int:
        return x

    loud = work(1, verbose=True)
    quiet = work(1, verbose=False)
    assert loud.call_id == quiet.call_id
    assert work(2, verbose=True).call_id != loud.call_id
    assert loud.arguments == {"x": 1, "verbose": True}  # still passed to the task


def test_args_display_is_a_bounded_plain_repr(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task
    def show(text: str, pair: tuple[int, int], items: list[int], nested: dict[str, Any]) -> None:
        return None

    invocation = show("y" * 10_000, (1, 2), list(range(1000)), {"a": {"b": {"c": {"d": 1}}}})
    shown = json.loads(invocation.record.args_display)
    assert set(shown) == {"text", "pair", "items", "nested"}
    assert shown["pair"] == "(1, 2)"
    assert TAG not in invocation.record.args_display
    for value in shown.values():
        assert len(value) <= 120
    assert shown["text"].startswith("'yyy")
    assert shown["items"].startswith("[0, 1, 2")


def test_args_display_of_small_values_equals_repr(make_app: Callable[..., Pynenc]) -> None:
    app = make_app()

    @app.task
    def show(a: Any, b: Any, c: Any) -> None:
        return None

    values = {"a": "héllo", "b": {"k": [1, None]}, "c": 2.5}
    shown = json.loads(show(**values).record.args_display)
    assert shown == {k: repr(v) for k, v in values.items()}


def _plain(a: int, b: int) -> int:
    return a + b


def _defaults(a: int, b: int = 2, *rest: int, c: int = 3, **more: int) -> int:
    return a + b + c


def _positional_only(a: int, /, b: int) -> int:
    return a - b


@pytest.mark.parametrize(
    ("func", "args", "kwargs"),
    [
        (_plain, (1, 2), {}),
        (_plain, (1,), {"b": 2}),
        (_plain, (), {"b": 2, "a": 1}),
        (_defaults, (1,), {}),
        (_defaults, (1, 5, 6, 7), {"c": 4, "d": 8}),
        (_positional_only, (4, 1), {}),
    ],
)
def test_binding_a_call_names_its_values_as_python_does(
    func: Callable[..., int], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    # Given a task signature, when a call is bound, then the values are those Python binds, in order
    expected = inspect.signature(func).bind(*args, **kwargs)
    expected.apply_defaults()
    bound = Signature(func).bind(args, kwargs)
    assert list(bound.items()) == list(expected.arguments.items())
    assert Signature(func).call(func, bound) == func(*args, **kwargs)


@pytest.mark.parametrize(("args", "kwargs"), [((1,), {}), ((1, 2, 3), {}), ((1, 2), {"a": 1}), ((1, 2), {"z": 0})])
def test_binding_a_call_that_does_not_fit_the_signature_raises_type_error(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        Signature(_plain).bind(args, kwargs)
