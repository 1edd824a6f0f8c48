"""POST apps/<key>/runners/<name>/stop: only runners launched from a notebook, the way the launcher would."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from kernel_magics import launchers
from tests.jupyter_server.conftest import Workload, body
from tests.support.processes import poll

Fetch = Callable[..., Awaitable[HTTPResponse]]
API = ("pynenc", "api")


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Names of runners this test launched; whatever is left is stopped afterwards."""
    names: list[str] = []
    yield names
    launched = launchers.default_launchers()
    for name in names:
        runner = launched.thread.runners.pop(name, None)
        if runner is not None:
            runner.stop(wait=True, timeout=15)
        process = launched.process.popens.pop(name, None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(15)


async def runners_by_name(jp_fetch: Fetch, key: str) -> dict[str, Any]:
    reply = body(await jp_fetch(*API, "apps", key, "runners"))
    return {row["name"]: row for row in reply["items"] if row["name"]}


async def test_a_launched_process_runner_is_stopped(jp_fetch: Fetch, workload: Workload, cleanup: list[str]) -> None:
    # Given a process runner launched from "a notebook" in the app's folder
    entry = launchers.start_runner(workload.app, "process", name="proc-1")
    cleanup.append("proc-1")
    listed = await runners_by_name(jp_fetch, workload.key)
    assert listed["proc-1"]["launched_kind"] == "process" and listed["proc-1"]["stoppable"] is True
    # When the browser stops it
    reply = await jp_fetch(*API, "apps", workload.key, "runners", "proc-1", "stop", method="POST", body=b"")
    # Then it stopped gracefully and its process is gone
    assert body(reply) == {"name": "proc-1", "state": "stopped"}
    assert poll(lambda: not _alive(entry.pid), 15)
    assert "proc-1" not in await runners_by_name(jp_fetch, workload.key)  # stopped runners are not listed


async def test_a_thread_runner_must_be_stopped_from_its_kernel(
    jp_fetch: Fetch, workload: Workload, cleanup: list[str]
) -> None:
    launchers.start_runner(workload.app, "thread", name="in-kernel")
    cleanup.append("in-kernel")
    listed = await runners_by_name(jp_fetch, workload.key)
    assert listed["in-kernel"]["launched_kind"] == "thread" and listed["in-kernel"]["stoppable"] is False
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*API, "apps", workload.key, "runners", "in-kernel", "stop", method="POST", body=b"")
    assert caught.value.code == 409
    assert caught.value.response is not None
    assert "%pynenc runner stop in-kernel" in body(caught.value.response)["message"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
