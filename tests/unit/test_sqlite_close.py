"""Closing a SQLite app waits for its checkpoint thread: no connection is closed while in use
(closing one under a running checkpoint crashed the process)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from pynenc_nb import Pynenc, forking


@pytest.fixture
def backend_kind() -> str:
    return "sqlite"


def test_close_waits_for_a_checkpoint_under_way(
    make_app: Callable[..., Pynenc], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynenc_nb.backends.sqlite import connection

    monkeypatch.setattr(connection, "CHECKPOINT_INTERVAL_S", 0.01)
    app = make_app()

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    def checkpointers() -> set[threading.Thread]:  # other apps of this process may have theirs
        return {t for t in threading.enumerate() if t.name == "pynenc-sqlite-checkpoint"}

    before = checkpointers()
    add(1, 2)  # a write: the checkpoint thread starts
    (checkpointer,) = checkpointers() - before
    # Given the checkpoint thread held at the start of its next checkpoint
    with forking.forking():
        time.sleep(0.05)
        closing = threading.Thread(target=app.close)
        closing.start()
        closing.join(0.3)
        # Then close() waits for it instead of closing its connection under it
        assert closing.is_alive(), "close() returned while a checkpoint was under way"
    closing.join(15)
    assert not closing.is_alive() and not checkpointer.is_alive()
