"""A one-screen summary of an app: counts by status, queued messages per queue (from the broker),
runners and their health.

Shared by ``pynenc status`` and ``%pynenc status``; values are plain data, safe to print or send.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pynenc_nb.conf.urls import redact_url

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc


def app_summary(app: Pynenc) -> dict[str, Any]:
    now = time.time()
    counts = app.state_backend.count_by_status()
    queues = {queue: app.broker.depth(queue) for queue in app.conf.queues}
    total = max(app.broker.depth(), sum(queues.values()))  # queues the app's settings do not list too
    return {
        "app_id": app.app_id,
        "backend": redact_url(app.conf.backend_url),
        "broker": redact_url(app.conf.broker_url or app.conf.backend_url),
        "queued": total,
        "queues": queues,
        "counts": {status.value: n for status, n in sorted(counts.items())},
        "runners": [
            {
                **info.context.to_dict(),
                "label": info.label,
                "state": info.state,
                "heartbeat_age_s": round(max(0.0, now - info.last_heartbeat), 3),
                "slots": info.slots,
                "busy": info.busy,
            }
            for info in app.state_backend.runners()
            if info.state != "client"
        ],
    }


def format_summary(summary: dict[str, Any]) -> str:
    per_queue = ", ".join(f"{queue} {n}" for queue, n in summary["queues"].items())
    if (other := summary["queued"] - sum(summary["queues"].values())) > 0:
        per_queue += f", other queues {other}"
    lines = [
        f"app {summary['app_id']} on {summary['backend']}, broker {summary['broker']}",
        f"queued messages: {summary['queued']} ({per_queue})",
    ]
    lines.append("invocations by status:")
    lines.extend(f"  {status:<30} {n}" for status, n in summary["counts"].items())
    if not summary["counts"]:
        lines.append("  (none)")
    lines.append("runners:")
    for r in summary["runners"]:
        lines.append(
            f"  {r['label']:<50} {r['state']:<9} heartbeat {r['heartbeat_age_s']:6.1f}s ago  busy {r['busy']}/{r['slots']}"
        )
    if not summary["runners"]:
        lines.append("  (none)")
    return "\n".join(lines)
