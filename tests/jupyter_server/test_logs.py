"""POST /pynenc/api/apps/<key>/logs: pasted log lines parsed and resolved, behind Jupyter's auth and XSRF."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

from pynenc_nb.logs import uuid_form
from tests.jupyter_server.conftest import SECRET, Workload, body
from tests.jupyter_server.test_handlers import API, Fetch

RUNNER_LINE = "2026-03-05 07:56:08.002+01:00 INFO     pynenc.app [TR({runner8}){invocation}:{task}] working at {url}"


def _pasted(workload: Workload) -> str:
    record = workload.app.state_backend.get(workload.outer)
    assert record is not None
    runner_id = next(c.runner_id for c in workload.app.state_backend.history(workload.outer) if c.runner_id)
    return "\n".join(
        [
            RUNNER_LINE.format(
                runner8=runner_id[:8],
                invocation=uuid_form(workload.outer),
                task=record.task_id,
                url=f"redis://user:{SECRET}@db:6379/0",
            ),
            json.dumps(
                {
                    "timestamp": "2026-03-05 07:56:08.100+01:00",
                    "severity": "WARNING",
                    "logger": "pynenc.app",
                    "message": "failed",
                    "invocation_id": workload.failed,
                }
            ),
            "a line in no format",
        ]
    )


async def _post(jp_fetch: Fetch, key: str, payload: Any) -> Any:
    response = await jp_fetch(*API, "apps", key, "logs", method="POST", body=json.dumps(payload).encode())
    assert response.code == 200 and response.headers["Content-Type"].startswith("application/json")
    return body(response)


async def test_pasted_lines_come_back_parsed_resolved_and_drawn(jp_fetch: Fetch, workload: Workload) -> None:
    answer = await _post(jp_fetch, workload.key, {"text": _pasted(workload)})

    assert [line["parsed"] for line in answer["lines"]] == [True, True, False]
    assert answer["unparsed"] == 1 and answer["lines"][2]["raw"] == "a line in no format"
    found = {inv["invocation_id"]: inv for inv in answer["invocations"]}
    assert found[workload.outer]["found"] and found[workload.outer]["invocation"]["status"] == "SUCCESS"
    assert found[workload.failed]["invocation"]["status"] == "FAILED"
    (runner,) = answer["runners"]
    assert runner["runner_id"] is not None and runner["runner_id"] in answer["highlighted_lanes"]
    assert answer["figure"]["data"] and {i["invocation_id"] for i in answer["timeline"]["invocations"]} == set(found)
    text = json.dumps(answer)
    assert SECRET not in text and "sqlite://" not in text and "pickle" not in text


async def test_a_body_without_text_is_a_400(jp_fetch: Fetch, workload: Workload) -> None:
    from tornado.httpclient import HTTPClientError

    for payload in (b"not json", b'{"lines": []}', b'{"text": 3}'):
        try:
            await jp_fetch(*API, "apps", workload.key, "logs", method="POST", body=payload)
        except HTTPClientError as caught:
            assert caught.code == 400 and caught.response is not None
            assert "text" in body(caught.response)["message"] or "JSON" in body(caught.response)["message"]
        else:
            raise AssertionError(f"{payload!r} was accepted")


async def test_the_logs_route_needs_the_token_and_the_xsrf_token(
    http_server_client: Any, jp_base_url: str, jp_serverapp: Any, workload: Workload
) -> None:
    url = f"{jp_base_url}pynenc/api/apps/{workload.key}/logs"
    payload = json.dumps({"text": _pasted(workload)}).encode()
    anonymous = await http_server_client.fetch(url, method="POST", body=payload, raise_error=False)
    assert anonymous.code == 403 and workload.app.app_id not in anonymous.body.decode()
    token = jp_serverapp.identity_provider.token
    first = await http_server_client.fetch(f"{jp_base_url}pynenc/api/apps?token={token}")
    cookies = SimpleCookie()
    for header in first.headers.get_list("Set-Cookie"):
        cookies.load(header)
    session = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items() if name != "_xsrf")
    refused = await http_server_client.fetch(
        url, method="POST", body=payload, headers={"Cookie": session}, raise_error=False
    )
    assert refused.code == 403 and "_xsrf" in refused.body.decode()
    xsrf = "0123456789abcdef0123456789abcdef"
    allowed = await http_server_client.fetch(
        url,
        method="POST",
        body=payload,
        headers={"Cookie": f"{session}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
        raise_error=False,
    )
    assert allowed.code == 200 and json.loads(allowed.body)["parsed"] == 2
