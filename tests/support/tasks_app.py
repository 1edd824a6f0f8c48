"""Tasks for tests that run runners in other processes.

The app is configured from ``PYNENC__*`` variables, so a test sets them, (re)imports this module
with :func:`load`, and starts runners with the same environment.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from pynenc_nb import Pynenc, RetryError
from pynenc_nb.task import Task

app = Pynenc()


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task
def fail(message: str) -> None:
    raise ValueError(message)


class CustomError(Exception):
    """An exception class the caller can import: it must come back as itself."""


@app.task
def fail_custom(code: int) -> None:
    raise CustomError(code)


@app.task(max_retries=2)
def retry_always(marker: str) -> None:
    raise RetryError(f"again {marker}")


@app.task(max_retries=3, retry_for=(ConnectionError,))
def flaky(counter_file: str, fail_times: int) -> int:
    """Fails ``fail_times`` times with ConnectionError, counting attempts in a file."""
    counter = Path(counter_file)
    attempts = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(attempts + 1))
    if attempts < fail_times:
        raise ConnectionError(f"attempt {attempts + 1}")
    return attempts + 1


@app.task
def sleep_then(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


@app.task
def pid() -> int:
    return os.getpid()


@app.task
def kill_own_process() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@app.task
def nested_add(x: int, y: int) -> int:
    return add(x, y).result


@app.task
def log_message(text: str) -> str:
    """Logs through the task's own logger, so the line carries the runner and invocation."""
    cast("Task[Any, Any]", log_message).logger.info("task says %s", text)
    return text


def load() -> ModuleType:
    """Rebuild the module's app from the current ``PYNENC__*`` environment."""
    import tests.support.tasks_app as module

    return importlib.reload(module)


@app.task
def fibonacci(n: int) -> int:
    """Each call waits on two children: deadlocks any runner without blocking control."""
    if n < 2:
        return n
    first, second = fibonacci(n - 1), fibonacci(n - 2)
    return first.result + second.result


@app.task
def until_file_exists(path: str, value: int) -> int:
    """Runs until the test creates ``path``: a task that is surely still running when its runner dies."""
    while not os.path.exists(path):
        time.sleep(0.02)
    return value


@app.task
def wait_then(seconds: float, value: int) -> int:
    """``sleep_then`` without ``time.sleep`` (which fails with EINVAL under libfaketime)."""
    threading.Event().wait(seconds)
    return value


@app.task
def hog(megabytes: int) -> int:
    """Allocates (and touches) ``megabytes`` MB, 8 MB at a time: over a memory cgroup's limit, the
    kernel's OOM killer ends the process running it."""
    chunks = [b"\x01" * (8 << 20) for _ in range(max(1, megabytes // 8))]
    return len(chunks) * 8


@app.task(running_concurrency="TASK")
def one_at_a_time(seconds: float, value: int) -> int:
    """Never two RUNNING at once, across every runner and process."""
    time.sleep(seconds)
    return value


@app.task(running_concurrency="KEYS", key_arguments=("key",))
def one_per_key(key: str, seconds: float, value: int) -> int:
    """Never two RUNNING at once with the same ``key``; different keys run side by side."""
    time.sleep(seconds)
    return value


@app.task
def tick_until_killed(path: str) -> int:
    """Appends a tick to ``path`` every 20 ms for up to a minute: a running task a test kills."""
    ticks = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(path, "a") as out:
            out.write(".")
        ticks += 1
        time.sleep(0.02)
    return ticks


@app.task
def waits_on_ticks(path: str) -> int:
    """PAUSED while its child ticks."""
    return tick_until_killed(path).result
