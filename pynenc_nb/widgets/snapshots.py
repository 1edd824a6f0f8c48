"""The kernel's side of saving a notebook with live widgets: fresh snapshots before the save.

A live widget's output carries a static snapshot beside its widget view (``LiveWidget.live_bundle``)
and the server's pre-save hook keeps only the snapshot (``web/saving.py``). Without this the
snapshot would be the figure of the moment the widget was shown. Before JupyterLab saves, the
labextension opens a comm on ``COMM_TARGET``; the kernel has every live widget refresh its snapshot
(each in its own live thread, see ``LiveLoop.request_snapshot``) and answers with how many did.

A kernel busy running a cell cannot answer (comms are served between cells): the labextension
waits a moment, then saves with the snapshots the outputs have.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb.widgets.base import refresh_snapshots

COMM_TARGET = "pynenc_nb.snapshots"
REFRESH_TIMEOUT_S = 2.0


def _on_open(comm: Any, _open_msg: dict[str, Any]) -> None:
    refreshed = refresh_snapshots(REFRESH_TIMEOUT_S)
    comm.send({"refreshed": refreshed})
    comm.close()


_registered: set[int] = set()  # ids of the comm managers that know the target


def register_snapshot_target() -> None:
    """Answer the labextension's snapshot requests in this kernel (done when a widget is first
    shown live, so widgets shown without ``%load_ext`` get fresh snapshots too)."""
    from comm import get_comm_manager

    manager = get_comm_manager()
    if id(manager) not in _registered:
        manager.register_target(COMM_TARGET, _on_open)
        _registered.add(id(manager))
