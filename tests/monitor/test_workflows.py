"""Workflow views: the roots by type and status, and one workflow's steps, data keys and members."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.exceptions import InvalidMonitorQueryError, InvocationNotFoundError
from pynenc_nb.invocation.status import InvocationStatus as S
from pynenc_nb.monitor import Monitor
from pynenc_nb.records import InvocationFilter


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass(frozen=True)
class Flows:
    order: str  # root: uuid, random, utc_now, two task steps (one a sub-workflow), a direct call
    sub: str  # the sub-workflow root started by order's second task step
    broken: str  # a failed root of another type
    plain: str  # a task outside any workflow


def run_flows(app: Pynenc) -> Flows:
    """Workflows run inline (dev mode): every call finishes before it returns."""

    @app.task
    def double(x: int) -> int:
        return 2 * x

    @app.task
    def echo(x: int) -> int:
        return x

    @app.workflow
    def refill(n: int) -> int:
        return echo(n).result + 1

    @app.workflow
    def order(n: int) -> int:
        root = order.wf.root
        order.wf.set_data("token", root.uuid())
        root.random()
        root.utc_now()
        a = root.execute_task(double, n)
        b = root.execute_task(refill, n)
        return int(a) + int(b) + echo(n).result

    @app.workflow
    def broken(n: int) -> int:
        raise ValueError(f"broken {n}")

    done = order(3)
    assert done.result == 6 + 4 + 3
    failed = broken(1)
    assert failed.wait(10) is S.FAILED
    plain = echo(9)
    assert plain.result == 9
    state = app.state_backend
    (sub,), _ = state.query(InvocationFilter(task_id=refill.task_id))
    return Flows(done.invocation_id, sub.invocation_id, failed.invocation_id, plain.invocation_id)


@pytest.fixture
def flows_app(make_app: Any) -> Pynenc:
    return make_app(dev_mode_force_sync_tasks=True)


@pytest.fixture
def flows(flows_app: Pynenc) -> Flows:
    return run_flows(flows_app)


def test_workflows_lists_every_root_with_its_type_status_and_children(flows_app: Pynenc, flows: Flows) -> None:
    # Given three workflow runs (one a sub-workflow) and invocations that are not roots
    # When the workflows are listed
    page = Monitor(flows_app).workflows()
    # Then only the roots are rows, most recently updated first
    by_id = {row.workflow_id: row for row in page.rows}
    assert set(by_id) == {flows.order, flows.sub, flows.broken}
    assert [r.updated_at for r in page.rows] == sorted((r.updated_at for r in page.rows), reverse=True)
    order = by_id[flows.order]
    assert order.workflow_type.endswith(".order") and order.status is S.SUCCESS and order.final
    # double and the direct echo are members; the sub-workflow is counted apart
    assert order.children == 2 and order.children_by_status == {"SUCCESS": 2}
    assert order.parent_workflow_id is None and order.duration_s is not None and order.duration_s >= 0
    assert by_id[flows.sub].parent_workflow_id == flows.order and by_id[flows.sub].children == 1
    assert by_id[flows.broken].status is S.FAILED and by_id[flows.broken].children == 0
    assert sorted(t.rsplit(".", 1)[-1] for t in page.types) == ["broken", "order", "refill"]
    json.dumps(page.to_json())


def test_pages_walk_every_root_once_across_types(flows_app: Pynenc, flows: Flows) -> None:
    monitor = Monitor(flows_app)
    whole = [row.workflow_id for row in monitor.workflows(limit=50).rows]
    walked: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = monitor.workflows(limit=1, cursor=cursor)
        walked += [row.workflow_id for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == whole and len(walked) == 3


def test_workflows_filter_by_type_and_status(flows_app: Pynenc, flows: Flows) -> None:
    monitor = Monitor(flows_app)
    order_type = flows_app.state_backend.get(flows.order).task_id  # type: ignore[union-attr]
    assert [r.workflow_id for r in monitor.workflows(workflow_type=order_type).rows] == [flows.order]
    assert [r.workflow_id for r in monitor.workflows(statuses=["FAILED"]).rows] == [flows.broken]
    assert monitor.workflows(workflow_type="no.such.flow").rows == ()


def test_listing_reads_by_index_never_every_invocation(flows_app: Pynenc, flows: Flows) -> None:
    # Given a source whose state backend records every query's filter
    seen: list[InvocationFilter] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def query(self, flt: InvocationFilter, **kwargs: Any) -> Any:
            seen.append(flt)
            return self.inner.query(flt, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    class Source:
        state_backend = Spy(flows_app.state_backend)
        trigger_store = flows_app.trigger_store
        conf = flows_app.conf
        tasks: dict[str, Any] = {}  # like the monitor server's reader: no task defined here

    # When the workflows are listed
    rows = Monitor(Source()).workflows().rows  # type: ignore[arg-type]
    # Then every query was by task id (a probe or a page of one type), and the roots were found
    assert len(rows) == 3 and seen and all(flt.task_id is not None for flt in seen)


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [({"statuses": ["NOPE"]}, "statuses"), ({"limit": 0}, "limit"), ({"cursor": "x"}, "cursor")],
)
def test_bad_listing_arguments_are_refused(flows_app: Pynenc, arguments: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidMonitorQueryError) as caught:
        Monitor(flows_app).workflows(**arguments)
    assert caught.value.argument == argument


def test_workflow_detail_has_steps_data_keys_members_and_sub_workflows(flows_app: Pynenc, flows: Flows) -> None:
    # When the order workflow is shown
    view = Monitor(flows_app).workflow_detail(flows.order)
    # Then its steps are in order, task steps with their child and its status now
    assert [step.kind for step in view.steps] == ["uuid", "random", "utc_now", "task", "task"]
    assert [step.step for step in view.steps] == [0, 1, 2, 3, 4]
    uuid_step, random_step = view.steps[0], view.steps[1]
    assert uuid_step.value is not None and len(uuid_step.value) == 36 and uuid_step.task_id is None
    assert random_step.value is not None and 0.0 <= float(random_step.value) < 1.0
    double, refill = view.steps[3], view.steps[4]
    assert double.task_id is not None and double.task_id.endswith(".double") and double.call == f"{double.task_id}(x=3)"
    assert double.attempt == 0 and double.status is S.SUCCESS and double.invocation_id is not None
    assert refill.invocation_id == flows.sub
    assert not view.steps_truncated
    # the data keys, not their values
    assert view.data_keys == ("token",)
    # the members (the root excluded) with their status, and the sub-workflow apart
    assert {m.task_id.rsplit(".", 1)[-1] for m in view.members} == {"double", "echo"}
    assert all(m.status is S.SUCCESS for m in view.members) and view.members_next_cursor is None
    assert [s.invocation_id for s in view.subworkflows] == [flows.sub]
    assert view.workflow.workflow_id == flows.order and view.workflow.children == 2
    json.dumps(view.to_json())


def test_sub_workflow_detail_names_its_parent(flows_app: Pynenc, flows: Flows) -> None:
    view = Monitor(flows_app).workflow_detail(flows.sub)
    assert view.workflow.parent_workflow_id == flows.order
    assert view.steps == () and view.subworkflows == () and len(view.members) == 1


def test_workflow_detail_refuses_unknown_ids_and_invocations_that_are_not_roots(
    flows_app: Pynenc, flows: Flows
) -> None:
    monitor = Monitor(flows_app)
    with pytest.raises(InvocationNotFoundError):
        monitor.workflow_detail("no-such-id")
    with pytest.raises(InvalidMonitorQueryError, match="not a workflow root"):
        monitor.workflow_detail(flows.plain)
    member = monitor.workflow_detail(flows.order).members[0].invocation_id
    with pytest.raises(InvalidMonitorQueryError, match=flows.order):
        monitor.workflow_detail(member)  # the message names its workflow
    with pytest.raises(InvalidMonitorQueryError):
        monitor.workflow_detail(flows.order, members_limit=0)


def test_workflow_detail_pages_its_members(flows_app: Pynenc, flows: Flows) -> None:
    monitor = Monitor(flows_app)
    first = monitor.workflow_detail(flows.order, members_limit=1)
    assert len(first.members) == 1 and first.members_next_cursor is not None
    second = monitor.workflow_detail(flows.order, members_limit=1, members_cursor=first.members_next_cursor)
    ids = [m.invocation_id for m in first.members + second.members]
    assert len(set(ids)) == 2 and flows.order not in ids


def test_a_sub_workflow_started_by_a_member_is_listed_under_its_workflow(make_app: Any) -> None:
    # Given a workflow whose member (not the root) starts a sub-workflow, which starts another
    app = make_app(dev_mode_force_sync_tasks=True)

    @app.workflow
    def leaf(n: int) -> int:
        return n

    @app.workflow
    def middle(n: int) -> int:
        return leaf(n).result

    @app.task
    def member(n: int) -> int:
        return middle(n).result

    @app.workflow
    def top(n: int) -> int:
        return member(n).result

    done = top(2)
    assert done.result == 2
    state = app.state_backend
    (mid,), _ = state.query(InvocationFilter(task_id=middle.task_id))
    (low,), _ = state.query(InvocationFilter(task_id=leaf.task_id))
    monitor = Monitor(app)
    # When each workflow is shown
    # Then its sub-workflows are listed whoever in it started them, one level at a time
    assert [s.invocation_id for s in monitor.workflow_detail(done.invocation_id).subworkflows] == [mid.invocation_id]
    assert [s.invocation_id for s in monitor.workflow_detail(mid.invocation_id).subworkflows] == [low.invocation_id]
    assert monitor.workflow_detail(low.invocation_id).subworkflows == ()


def test_data_keys_are_read_from_the_workflows_own_namespace(flows_app: Pynenc, flows: Flows) -> None:
    # Given a state backend that records the namespaces whose keys are listed
    listed: list[str] = []
    state = flows_app.state_backend
    original = state.kv_keys

    def spy(namespace: str) -> list[str]:
        listed.append(namespace)
        return original(namespace)

    state.kv_keys = spy  # type: ignore[method-assign]
    try:
        view = Monitor(flows_app).workflow_detail(flows.order)
    finally:
        del state.kv_keys  # type: ignore[method-assign]
    # Then the data keys come from one namespace of that workflow, not from every workflow's data
    assert view.data_keys == ("token",)
    data_namespaces = [n for n in listed if n.startswith("workflow_data")]
    assert data_namespaces == [f"workflow_data:{flows.order}"]
