"""Inline widgets of the monitor: live Plotly figures in a kernel, static figures everywhere else.

    from pynenc_nb.widgets import Timeline, FamilyTree, RunnersPanel, InvocationView, MonitorPanel, GroupProgress
    from pynenc_nb.widgets import EventsBrowser, WorkflowsBrowser, WorkflowPanel, LogExplorer
    Timeline(app, since="10m")        # the last expression of a cell: shown live

Each widget reads the monitor query layer only (``pynenc_nb.monitor``), refreshes from one
background thread (throttled, silent when nothing changed) and, when its live updates end,
replaces itself with a static Plotly figure, so a saved notebook shows the final picture.
The figure builders in ``pynenc_nb.widgets.figures`` need neither Plotly nor a kernel.
"""

from __future__ import annotations

from pynenc_nb.widgets.base import LiveWidget, freeze_all, live_widgets
from pynenc_nb.widgets.environment import comms_available
from pynenc_nb.widgets.events import EventsBrowser
from pynenc_nb.widgets.group import GroupProgress
from pynenc_nb.widgets.invocation import InvocationView
from pynenc_nb.widgets.logs import LogExplorer
from pynenc_nb.widgets.monitor import MonitorPanel
from pynenc_nb.widgets.runners import RunnersPanel
from pynenc_nb.widgets.timeline import Timeline
from pynenc_nb.widgets.tree import FamilyTree
from pynenc_nb.widgets.workflows import WorkflowPanel, WorkflowsBrowser

__all__ = [
    "EventsBrowser",
    "FamilyTree",
    "GroupProgress",
    "InvocationView",
    "LiveWidget",
    "LogExplorer",
    "MonitorPanel",
    "RunnersPanel",
    "Timeline",
    "WorkflowPanel",
    "WorkflowsBrowser",
    "comms_available",
    "freeze_all",
    "live_widgets",
]
