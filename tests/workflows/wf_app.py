"""Workflows for the tests (configured by ``PYNENC__*``; reload with :func:`load`).

Children append their name to a log file, so a test counts how often each one really ran.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from pynenc_nb import Pynenc, RetryError

app = Pynenc()


def _append(path: str, line: str) -> None:
    with open(path, "a") as file:
        file.write(line + "\n")


@app.task
def step(name: str, log: str, seconds: float = 0.0) -> str:
    _append(log, name)
    time.sleep(seconds)
    return name.upper()


@app.task
def flaky(name: str, log: str) -> str:
    """Fails the first time it runs (per log file), then succeeds."""
    _append(log, name)
    if Path(log).read_text().count(name + "\n") == 1:
        raise ValueError(f"{name} fails once")
    return name.upper()


@app.workflow(max_retries=1)
def order(log: str, values_file: str) -> dict[str, Any]:
    """Three deterministic values and three children, then a retry once: the retry replays."""
    root = order.wf.root
    values = [root.uuid(), root.random(), root.utc_now().isoformat()]
    _append(values_file, json.dumps(values))
    results = [root.execute_task(step, f"c{i}", log) for i in range(3)]
    order.wf.set_data("results", results)
    marker = Path(values_file + ".retried")
    if not marker.exists():
        marker.write_text("")
        raise RetryError("once")
    return {"values": values, "results": results}


@app.workflow(max_retries=1, retry_for=(ValueError,))
def with_flaky_child(log: str) -> str:
    first = with_flaky_child.wf.root.execute_task(step, "before", log)
    second = with_flaky_child.wf.root.execute_task(flaky, "flaky", log)
    return f"{first}+{second}"


@app.workflow
def slow_order(log: str, seconds: float) -> list[str]:
    root = slow_order.wf.root
    return [
        root.execute_task(step, "c0", log),
        root.execute_task(step, "c1", log, seconds),
        root.execute_task(step, "c2", log),
    ]


@app.workflow(max_retries=1)
def drifting(source: str, log: str) -> str:
    """Its child's argument comes from a file it changes: the retry asks for another call."""
    value = Path(source).read_text()
    result = drifting.wf.root.execute_task(step, value, log)
    Path(source).write_text(value + "-changed")
    raise RetryError(f"again after {result}")


@app.task
def read_data(key: str) -> Any:
    return read_data.wf.get_data(key)


@app.workflow
def shares_data() -> Any:
    shares_data.wf.set_data("answer", {"value": 42})
    return shares_data.wf.root.execute_task(read_data, "answer")


@app.task
def not_a_root() -> str:
    return not_a_root.wf.root.uuid()


@app.workflow
def calls_a_sub_workflow(log: str) -> dict[str, Any]:
    sub = shares_data()
    return {"sub": sub.result, "identity": sub.invocation_id}


@app.workflow
def many_steps(n: int) -> int:
    root = many_steps.wf.root
    return sum(1 for _ in range(n) if root.random() >= 0)


def load() -> ModuleType:
    return importlib.reload(sys.modules[__name__])
