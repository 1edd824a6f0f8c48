"""Workflows whose recorded histories are kept in ``tests/fixtures/workflows/`` and replayed by
``test_golden_replay.py`` on every run: a change to the stored format of steps, to how calls are
encoded, or to replay itself makes the replay fail (Temporal's replayer test, for pynenc_nb).

Record them again, deliberately, with ``python -m tests.workflows.golden_app`` (and say why in
the commit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pynenc_nb import Pynenc

app = Pynenc(app_id="golden-workflows", config_values={"backend_url": "memory:", "dev_mode_force_sync_tasks": True})
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows"
executed: list[str] = []  # every child body that ran in this process


@app.task
def reserve(item: str, quantity: int) -> dict[str, Any]:
    executed.append(f"reserve:{item}")
    return {"item": item, "reserved": quantity}


@app.task
def charge(order_id: str, amount: float) -> str:
    executed.append(f"charge:{order_id}")
    return f"receipt-{order_id}-{amount:.2f}"


@app.task
def ship(order_id: str, address: str) -> str:
    executed.append(f"ship:{order_id}")
    return f"shipped {order_id} to {address}"


@app.workflow
def fulfil(items: list[str], address: str) -> dict[str, Any]:
    root = fulfil.wf.root
    order_id = root.uuid()
    placed_at = root.utc_now().isoformat()
    reserved = [root.execute_task(reserve, item, 1) for item in items]
    receipt = root.execute_task(charge, order_id, 9.5 * len(items))
    shipment = root.execute_task(ship, order_id, address)
    return {
        "order_id": order_id,
        "placed_at": placed_at,
        "reserved": reserved,
        "receipt": receipt,
        "shipment": shipment,
    }


@app.workflow
def sample(n: int) -> dict[str, Any]:
    root = sample.wf.root
    draws = [round(root.random(), 12) for _ in range(n)]
    best = root.execute_task(reserve, f"best-{max(draws):.3f}", n)
    return {"draws": draws, "best": best}


WORKFLOWS = {"fulfil": (fulfil, {"items": ["book", "lamp"], "address": "1 Main St"}), "sample": (sample, {"n": 4})}


def record(name: str) -> dict[str, Any]:
    """Run a workflow once and return its history as stored: steps, children, result."""
    from pynenc_nb.records import InvocationFilter
    from pynenc_nb.workflow.context import recorded_steps

    app.purge()
    task, arguments = WORKFLOWS[name]
    invocation = task(**arguments)
    result = invocation.result
    records, _ = app.state_backend.query(InvocationFilter(workflow_id=invocation.invocation_id), limit=1000)
    children = {
        r.invocation_id: {
            "task_id": r.task_id,
            "arguments": json.loads(app.serializer.dumps(_arguments(r))),
            "result": app.invocation(r.invocation_id).result,
        }
        for r in records
        if r.invocation_id != invocation.invocation_id
    }
    return {
        "format": 1,
        "workflow": name,
        "arguments": arguments,
        "root_invocation_id": invocation.invocation_id,
        "steps": recorded_steps(app, invocation.invocation_id),
        "children": children,
        "result": result,
    }


def _arguments(record: Any) -> dict[str, Any]:
    from pynenc_nb.call import decode_values

    return dict(decode_values(record.arguments, app.serializer, app.arg_cache))


def main(names: list[str]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for workflow in names or list(WORKFLOWS):
        path = FIXTURES / f"{workflow}.json"
        path.write_text(json.dumps(record(workflow), indent=2, sort_keys=True) + "\n")
        print(f"recorded {path}")


if __name__ == "__main__":  # run as a module its tasks would be __main__'s: import it instead
    from tests.workflows import golden_app

    golden_app.main(sys.argv[1:])
