"""A ThreadRunner started in this process for the duration of a ``with`` block."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pynenc_nb import Pynenc, ThreadRunner


@contextlib.contextmanager
def running(app: Pynenc, max_threads: int = 4) -> Iterator[ThreadRunner]:
    runner = ThreadRunner(app, max_threads=max_threads)
    thread = runner.start_in_thread()
    try:
        yield runner
    finally:
        runner.stop(timeout=30)
        assert not thread.is_alive(), "the runner did not stop"
