"""The REST API of the Jupyter server extension, against a real SQLite app and a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from pynenc_nb.app_registry import read_entries
from pynenc_nb.invocation.status import InvocationStatus
from tests.jupyter_server.conftest import SECRET, Workload, body

Fetch = Callable[..., Awaitable[HTTPResponse]]
API = ("pynenc", "api")


async def get(jp_fetch: Fetch, *parts: str, **params: Any) -> Any:
    response = await jp_fetch(*API, *parts, params=params)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return body(response)


async def error(jp_fetch: Fetch, *parts: str, method: str = "GET", **params: Any) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"params": params, "method": method}
    if method == "POST":
        kwargs["body"] = b""
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*API, *parts, **kwargs)
    response = caught.value.response
    assert response is not None
    return caught.value.code, body(response)


async def test_apps_lists_the_registered_app_without_its_url(jp_fetch: Fetch, workload: Workload) -> None:
    # Given an app that recorded itself in the registry when it opened its SQLite file
    (entry,) = read_entries()
    assert entry.app_id == workload.app.app_id and entry.working_dir == str(Path.cwd())
    # When the browser lists the apps
    apps = (await get(jp_fetch, "apps"))["apps"]
    # Then it gets an opaque key and the file name, never the URL or the path
    assert apps == [
        {
            "key": workload.key,
            "app_id": workload.app.app_id,
            "backend": "sqlite: pynenc.db",
            "broker": None,
            "folder": Path.cwd().name,
            "source": "registry",
            "first_seen": entry.first_seen,
            "last_seen": entry.last_seen,
            "available": True,
            "kernels": [],  # made by this test process, not by a Jupyter kernel
        }
    ]


async def test_summary_counts_runners_failures(jp_fetch: Fetch, workload: Workload) -> None:
    summary = await get(jp_fetch, "apps", workload.key, "summary")
    assert summary["app"]["key"] == workload.key
    assert summary["counts"]["SUCCESS"] == len(workload.ids) - 1 and summary["counts"]["FAILED"] == 1
    assert summary["total"] == len(workload.ids)
    assert [f["invocation_id"] for f in summary["failures"]] == [workload.failed]
    assert summary["running"] == [] and summary["running_more"] is False
    totals = summary["runner_totals"]
    assert (totals["total"], totals["alive"], totals["slots"]) == (1, 1, 2)
    assert [r["runner_cls"] for r in summary["runners"]] == ["ThreadRunner"]


async def test_statuses_come_in_table_order_with_colours(jp_fetch: Fetch) -> None:
    rows = (await get(jp_fetch, "statuses"))["statuses"]
    assert [r["status"] for r in rows] == [s.value for s in InvocationStatus]
    assert {r["status"] for r in rows if r["final"]} == {"SUCCESS", "FAILED", "KILLED", "CONCURRENCY_CONTROLLED_FINAL"}
    assert all(re.fullmatch(r"#[0-9a-f]{6}", r["colour"]) for r in rows)


async def test_runners_say_whether_they_can_be_stopped(jp_fetch: Fetch, workload: Workload) -> None:
    (runner,) = (await get(jp_fetch, "apps", workload.key, "runners"))["items"]
    assert runner["alive"] and runner["state"] == "running"
    assert runner["launched_kind"] is None and runner["stoppable"] is False  # not launched from a notebook
    everything = await get(jp_fetch, "apps", workload.key, "runners", include_stopped="true")
    assert len(everything["items"]) >= 1


async def test_cursor_pagination_covers_every_invocation_once(jp_fetch: Fetch, workload: Workload) -> None:
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = await get(jp_fetch, "apps", workload.key, "invocations", limit="7", cursor=cursor)
        assert len(page["items"]) <= 7
        seen += [row["invocation_id"] for row in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(workload.ids) and len(seen) == len(set(seen))
    assert pages == -(-len(workload.ids) // 7)


async def test_invocations_filter_by_status_and_task(jp_fetch: Fetch, workload: Workload) -> None:
    failed = await get(jp_fetch, "apps", workload.key, "invocations", status="failed")
    assert [row["invocation_id"] for row in failed["items"]] == [workload.failed]
    both = await get(jp_fetch, "apps", workload.key, "invocations", status="FAILED,RUNNING", limit="500")
    assert len(both["items"]) == 1
    task_id = next(t for t in workload.app.tasks if t.endswith(".outer"))
    rows = (await get(jp_fetch, "apps", workload.key, "invocations", task=task_id))["items"]
    assert [row["invocation_id"] for row in rows] == [workload.outer]


async def test_invocation_detail_shows_display_strings_only(jp_fetch: Fetch, workload: Workload) -> None:
    failed = await get(jp_fetch, "apps", workload.key, "invocations", workload.failed)
    assert failed["invocation"]["status"] == "FAILED" and failed["result"] is None
    assert failed["exception"]["type"].endswith("ValueError")
    assert "redis://user:***@db.example" in failed["exception"]["message"]
    assert [h["status"] for h in failed["history"]][-1] == "FAILED"
    opaque = await get(jp_fetch, "apps", workload.key, "invocations", workload.opaque)
    assert opaque["invocation"]["args"] == {"value": "Opaque(hidden)"} and opaque["result"] == "'hidden'"


async def test_family_tree(jp_fetch: Fetch, workload: Workload) -> None:
    tree = await get(jp_fetch, "apps", workload.key, "invocations", workload.outer, "tree", depth="2")
    assert tree["root_id"] == workload.outer and tree["depth"] == 2
    assert {node["invocation_id"] for node in tree["nodes"]} == {workload.outer, workload.inner}
    assert tree["edges"] == [{"parent_id": workload.outer, "child_id": workload.inner}]
    assert "figure" not in tree
    drawn = await get(jp_fetch, "apps", workload.key, "invocations", workload.outer, "tree", figure="1")
    assert drawn["figure"]["data"] and "layout" in drawn["figure"]


async def test_timeline_pages(jp_fetch: Fetch, workload: Workload) -> None:
    whole = await get(jp_fetch, "apps", workload.key, "timeline", since="10m")
    assert {inv["invocation_id"] for inv in whole["invocations"]} == set(workload.ids)
    assert len(whole["segments"]["start"]) >= 4 * len(workload.ids) and whole["next_cursor"] is None
    seen: list[str] = []
    cursor = ""
    while True:
        page = await get(jp_fetch, "apps", workload.key, "timeline", since="all", limit="10", cursor=cursor)
        seen += [inv["invocation_id"] for inv in page["invocations"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(workload.ids)
    failed_only = await get(jp_fetch, "apps", workload.key, "timeline", status="FAILED")
    assert [inv["invocation_id"] for inv in failed_only["invocations"]] == [workload.failed]
    drawn = await get(jp_fetch, "apps", workload.key, "timeline", figure="true")
    ids = {i for trace in drawn["figure"]["data"] for i in trace.get("customdata") or [] if isinstance(i, str)}
    assert set(workload.ids) <= ids  # every invocation can be clicked through to its detail


async def test_tasks(jp_fetch: Fetch, workload: Workload) -> None:
    tasks = (await get(jp_fetch, "apps", workload.key, "tasks"))["items"]
    assert {t["task_id"] for t in tasks} == set(workload.app.tasks)
    assert all(t["defined_here"] is False for t in tasks)  # the server imports no user module


async def test_unknown_app_invocation_and_bad_parameters(jp_fetch: Fetch, workload: Workload) -> None:
    code, reply = await error(jp_fetch, "apps", "no-such-key", "summary")
    assert code == 404 and "no app with key 'no-such-key'" in reply["message"]
    code, reply = await error(jp_fetch, "apps", workload.key, "invocations", "0" * 32)
    assert code == 404 and "0" * 32 in reply["message"]
    code, _ = await error(jp_fetch, "apps", workload.key, "invocations", "0" * 32, "tree")
    assert code == 404
    for params, argument in (
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"status": "DONE"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ):
        code, reply = await error(jp_fetch, "apps", workload.key, "invocations", **params)
        assert code == 400 and argument in reply["message"], reply
    code, reply = await error(jp_fetch, "apps", workload.key, "timeline", since="yesterday")
    assert code == 400 and "since" in reply["message"]
    code, reply = await error(jp_fetch, "apps", workload.key, "runners", "nobody", "stop", method="POST")
    assert code == 404 and "no runner named 'nobody'" in reply["message"]


ROUTES = (
    ("GET", "statuses"),
    ("GET", "apps"),
    ("GET", "apps/{key}/summary"),
    ("GET", "apps/{key}/runners"),
    ("GET", "apps/{key}/invocations"),
    ("GET", "apps/{key}/invocations/{id}"),
    ("GET", "apps/{key}/invocations/{id}/tree"),
    ("GET", "apps/{key}/timeline"),
    ("GET", "apps/{key}/tasks"),
    ("GET", "apps/{key}/events"),
    ("GET", "apps/{key}/triggers"),
    ("GET", "apps/{key}/trigger_runs"),
    ("POST", "apps/{key}/runners/somebody/stop"),
    ("POST", "apps/{key}/invocations/{id}/rerun"),
)


async def test_every_route_refuses_a_request_without_the_token(
    http_server_client: Any, jp_base_url: str, workload: Workload
) -> None:
    for method, route in ROUTES:
        path = jp_base_url + "pynenc/api/" + route.format(key=workload.key, id=workload.failed)
        response = await http_server_client.fetch(
            path, method=method, body=b"" if method == "POST" else None, raise_error=False
        )
        assert response.code == 403, (method, route, response.code)
        assert workload.app.app_id not in response.body.decode()


async def test_a_post_needs_the_xsrf_token_when_authenticated_by_cookie(
    http_server_client: Any, jp_base_url: str, jp_serverapp: Any, workload: Workload
) -> None:
    # Given a browser session: the login cookie obtained with the token once
    token = jp_serverapp.identity_provider.token
    first = await http_server_client.fetch(f"{jp_base_url}pynenc/api/apps?token={token}")
    cookies = SimpleCookie()
    for header in first.headers.get_list("Set-Cookie"):
        cookies.load(header)
    session = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items() if name != "_xsrf")
    assert session, "the server set no login cookie"
    stop = f"{jp_base_url}pynenc/api/apps/{workload.key}/runners/somebody/stop"
    # When it POSTs without the XSRF token
    refused = await http_server_client.fetch(
        stop, method="POST", body=b"", headers={"Cookie": session}, raise_error=False
    )
    # Then Jupyter refuses it; with the token the request reaches our handler (which knows no such runner)
    assert refused.code == 403 and "_xsrf" in refused.body.decode()
    xsrf = "0123456789abcdef0123456789abcdef"
    allowed = await http_server_client.fetch(
        stop,
        method="POST",
        body=b"",
        headers={"Cookie": f"{session}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
        raise_error=False,
    )
    assert allowed.code == 404 and "no runner named 'somebody'" in json.loads(allowed.body)["message"]


async def test_no_response_carries_a_url_a_path_or_a_payload(jp_fetch: Fetch, workload: Workload) -> None:
    # Given what must stay on the server: the backend URL and folder, the stored encoded argument
    # (a pickle for Opaque) and the stored exception payload (traceback with locals-free frames,
    # its own pickle, the unredacted message)
    state = workload.app.state_backend
    stored = state.get(workload.opaque)
    assert stored is not None
    encoded_argument = json.loads(stored.arguments)["value"]
    assert encoded_argument["__pnb__"] == "pickle", "the Opaque argument was expected to be pickled"
    pickled: str = encoded_argument["v"]
    outcome = state.outcome(workload.failed)
    assert outcome is not None
    exception_payload = json.loads(outcome.payload)
    forbidden = [
        workload.app.conf.backend_url,
        "sqlite://",
        str(Path.cwd()),
        SECRET,
        pickled[:40],
        *(str(v) for k, v in exception_payload.items() if k == "pickle" and v),
    ]
    # When every GET route answers
    bodies = [json.dumps(await get(jp_fetch, "apps")), json.dumps(await get(jp_fetch, "statuses"))]
    for route in ("summary", "runners", "tasks"):
        bodies.append(json.dumps(await get(jp_fetch, "apps", workload.key, route)))
    bodies.append(json.dumps(await get(jp_fetch, "apps", workload.key, "invocations", limit="500")))
    bodies.append(json.dumps(await get(jp_fetch, "apps", workload.key, "timeline", limit="500", figure="1")))
    for invocation_id in workload.ids:
        bodies.append(json.dumps(await get(jp_fetch, "apps", workload.key, "invocations", invocation_id)))
        tree = await get(jp_fetch, "apps", workload.key, "invocations", invocation_id, "tree", figure="1")
        bodies.append(json.dumps(tree))
    # Then none of them holds any of it, nor a field named like a payload
    for text in bodies:
        for secret in forbidden:
            assert secret not in text
        assert '"pickle"' not in text and '"payload"' not in text and '"arguments"' not in text


async def test_running_invocations_appear_in_the_summary(jp_fetch: Fetch, workload: Workload) -> None:
    # Given an invocation a runner holds RUNNING (written through the ports)
    from tests.conformance.builders import NON_FINAL, S, cas, record

    state = workload.app.state_backend
    (reg,) = state.register([record("tests.synthetic")], None, NON_FINAL)
    runner = "f" * 32
    assert state.transition(cas(reg.invocation_id, S.PENDING, runner)).applied
    assert state.transition(cas(reg.invocation_id, S.RUNNING, runner)).applied
    # Then the summary lists it as running
    summary = await get(jp_fetch, "apps", workload.key, "summary")
    assert [row["invocation_id"] for row in summary["running"]] == [reg.invocation_id]
    assert summary["counts"]["RUNNING"] == 1
    assert state.transition(cas(reg.invocation_id, S.SUCCESS, runner)).applied  # a final status for the oracle


async def test_server_stop_closes_the_apps_it_opened(jp_fetch: Fetch, jp_serverapp: Any, workload: Workload) -> None:
    # Given an app the server opened to answer a request
    await get(jp_fetch, "apps", workload.key, "summary")
    extension = jp_serverapp.extension_manager.extension_points["pynenc_nb"].app
    catalog = extension.catalog
    opened = catalog.open(workload.key).app
    assert opened is not workload.app and opened.conf.discoverable is False
    # When the server stops the extension
    await extension.stop_extension()
    # Then the app is closed and a late request gets a clear 503
    assert opened.closed
    code, reply = await error(jp_fetch, "apps", workload.key, "summary")
    assert code == 503 and "stopping" in reply["message"]


async def test_rerun_registers_the_same_call_again_and_a_runner_runs_it(jp_fetch: Fetch, workload: Workload) -> None:
    # Given a finished invocation whose task calls another one
    app = workload.app
    # When the browser asks to run it again
    response = await jp_fetch(
        *API, "apps", workload.key, "invocations", workload.outer, "rerun", method="POST", body=b""
    )
    answer = body(response)
    # Then a new top-level invocation of the same call is registered, and the running runner runs it
    assert answer["new"] is True and answer["invocation_id"] != workload.outer
    old, new = app.invocation(workload.outer), app.invocation(answer["invocation_id"])
    assert new.record.call_id == old.record.call_id and new.record.parent_invocation_id is None
    assert new.result_or(30) == 3
    registered = new.history()[0]
    assert registered.status is InvocationStatus.REGISTERED
    (client,) = [
        r for r in app.state_backend.runners(include_stopped=True) if r.context.runner_id == registered.runner_id
    ]
    assert client.context.runner_cls == "MonitorRerun"


async def test_rerun_of_an_unknown_invocation_is_a_404(jp_fetch: Fetch, workload: Workload) -> None:
    code, answer = await error(jp_fetch, "apps", workload.key, "invocations", "0" * 32, "rerun", method="POST")
    assert code == 404 and "does not exist" in answer["message"]
