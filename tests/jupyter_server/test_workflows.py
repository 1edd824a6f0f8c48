"""The workflows routes of the Jupyter server extension against a real server and a SQLite app
whose workflows ran inline (dev mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.app_registry import public_key
from pynenc_nb.records import InvocationFilter, new_id
from tests.jupyter_server.conftest import SECRET, Opaque
from tests.jupyter_server.test_handlers import Fetch, error, get
from tests.support.oracle import assert_histories_valid


@dataclass
class Flows:
    app: Pynenc
    key: str
    order: str  # a root with a uuid step, a task step and data
    member: str  # the child its task step called


@pytest.fixture
def flows(tmp_path: Path, registry_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flows]:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite://{tmp_path / 'flows.db'}"
    values = {"app_id": f"flows-{new_id()[:8]}", "backend_url": url, "logging_level": "error"}
    app = Pynenc(config_values={**values, "dev_mode_force_sync_tasks": True})

    @app.task
    def double(x: int) -> int:
        return 2 * x

    @app.workflow
    def order(n: int) -> int:
        root = order.wf.root
        order.wf.set_data("secret", Opaque(f"redis://u:{SECRET}@db:6379/0"))  # stored pickled
        root.uuid()
        return int(root.execute_task(double, n))

    try:
        done = order(3)
        assert done.result == 6
        (member,), _ = app.state_backend.query(InvocationFilter(task_id=double.task_id))
        yield Flows(app, public_key(app.app_id, url), done.invocation_id, member.invocation_id)
        assert_histories_valid(app)
    finally:
        app.close()


async def test_workflows_lists_the_roots_with_children(jp_fetch: Fetch, flows: Flows) -> None:
    page = await get(jp_fetch, "apps", flows.key, "workflows")
    (row,) = page["items"]
    assert row["workflow_id"] == flows.order and row["status"] == "SUCCESS"
    assert row["children"] == 1 and page["next_cursor"] is None
    assert page["types"] == [row["workflow_type"]]
    typed = await get(jp_fetch, "apps", flows.key, "workflows", type=row["workflow_type"], status="SUCCESS")
    assert [r["workflow_id"] for r in typed["items"]] == [flows.order]
    assert (await get(jp_fetch, "apps", flows.key, "workflows", status="FAILED"))["items"] == []


async def test_workflow_detail_has_steps_data_keys_and_members(jp_fetch: Fetch, flows: Flows) -> None:
    detail = await get(jp_fetch, "apps", flows.key, "workflows", flows.order)
    assert [s["kind"] for s in detail["steps"]] == ["uuid", "task"]
    assert detail["steps"][1]["invocation_id"] == flows.member and detail["steps"][1]["status"] == "SUCCESS"
    assert detail["data_keys"] == ["secret"]
    assert [m["invocation_id"] for m in detail["members"]] == [flows.member]


async def test_bad_workflow_requests(jp_fetch: Fetch, flows: Flows) -> None:
    for parts, params, argument in (
        (("workflows",), {"limit": "0"}, "limit"),
        (("workflows",), {"status": "NOPE"}, "status"),
        (("workflows",), {"cursor": "not-a-cursor"}, "cursor"),
        (("workflows", flows.member), {}, "not a workflow root"),
    ):
        code, reply = await error(jp_fetch, "apps", flows.key, *parts, **params)
        assert code == 400 and argument in reply["message"], (parts, params, reply)
    assert (await error(jp_fetch, "apps", flows.key, "workflows", "no-such-id"))[0] == 404
    assert (await error(jp_fetch, "apps", "no-such-key", "workflows"))[0] == 404


async def test_no_workflow_answer_carries_a_data_value_or_a_url(jp_fetch: Fetch, flows: Flows) -> None:
    for parts in (("workflows",), ("workflows", flows.order)):
        text = json.dumps(await get(jp_fetch, "apps", flows.key, *parts))
        assert SECRET not in text and "pickle" not in text and "sqlite://" not in text


async def test_workflow_routes_refuse_a_request_without_the_token(
    http_server_client: Any, jp_base_url: str, flows: Flows
) -> None:
    for route in (f"apps/{flows.key}/workflows", f"apps/{flows.key}/workflows/{flows.order}"):
        response = await http_server_client.fetch(jp_base_url + "pynenc/api/" + route, raise_error=False)
        assert response.code == 403, (route, response.code)
        assert flows.app.app_id not in response.body.decode()
