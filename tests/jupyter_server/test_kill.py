"""POST /pynenc/api/apps/<key>/invocations/<id>/kill, behind Jupyter's auth and XSRF."""

from __future__ import annotations

from typing import Any

from pynenc_nb.invocation.status import InvocationStatus
from tests.jupyter_server.conftest import Workload, body
from tests.jupyter_server.test_handlers import API, Fetch, error


async def test_a_queued_invocation_is_killed_at_once(jp_fetch: Fetch, workload: Workload) -> None:
    # Given an invocation queued where no runner takes from
    @workload.app.task(queue="nobody-listens")
    def parked(x: int) -> int:
        return x

    waiting = parked(1)
    # When the monitor kills it
    response = await jp_fetch(
        *API, "apps", workload.key, "invocations", waiting.invocation_id, "kill", method="POST", body=b""
    )
    # Then it is KILLED, and the answer says so
    assert body(response) == {"invocation_id": waiting.invocation_id, "status": "KILLED"}
    assert waiting.status is InvocationStatus.KILLED


async def test_a_final_invocation_is_left_as_it_is(jp_fetch: Fetch, workload: Workload) -> None:
    response = await jp_fetch(
        *API, "apps", workload.key, "invocations", workload.failed, "kill", method="POST", body=b""
    )
    assert body(response)["status"] == "FAILED"


async def test_killing_an_unknown_invocation_is_a_404(jp_fetch: Fetch, workload: Workload) -> None:
    code, answer = await error(jp_fetch, "apps", workload.key, "invocations", "0" * 32, "kill", method="POST")
    assert code == 404 and "does not exist" in answer["message"]


async def test_the_kill_route_needs_the_token(http_server_client: Any, jp_base_url: str, workload: Workload) -> None:
    url = f"{jp_base_url}pynenc/api/apps/{workload.key}/invocations/{workload.outer}/kill"
    response = await http_server_client.fetch(url, method="POST", body=b"", raise_error=False)
    assert response.code == 403 and workload.app.app_id not in response.body.decode()
