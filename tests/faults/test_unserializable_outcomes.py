"""A result or an exception the serializer cannot store ends the invocation FAILED with a clear,
typed error; it is never left RUNNING and the runner keeps serving."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from pynenc_nb import InvocationStatus, Pynenc
from pynenc_nb.exceptions import SerializationError, TaskFailedError


class HoldsALock(Exception):
    """An exception whose attribute no serializer can store."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


@pytest.fixture
def served(make_app: Callable[..., Pynenc]) -> Iterator[Pynenc]:
    app = make_app()
    app.runner.start_in_thread()
    try:
        yield app
    finally:
        app.runner.stop()


def test_a_result_that_cannot_be_serialized_ends_failed_with_serialization_error(served: Pynenc) -> None:
    @served.task
    def make_lock() -> object:
        return threading.Lock()

    @served.task
    def fine() -> int:
        return 1

    invocation = make_lock()
    with pytest.raises(SerializationError):
        invocation.result_or(30)
    assert invocation.status is InvocationStatus.FAILED
    assert fine().result_or(30) == 1, "the runner keeps serving"


def test_an_exception_that_cannot_be_serialized_ends_failed_with_its_text(served: Pynenc) -> None:
    @served.task
    def explode() -> None:
        raise HoldsALock("the message survives")

    invocation = explode()
    with pytest.raises((HoldsALock, TaskFailedError, SerializationError), match="the message survives"):
        invocation.result_or(30)
    assert invocation.status is InvocationStatus.FAILED
