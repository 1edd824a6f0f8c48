"""Durable workflows: ``task.wf`` (identity and workflow data) and ``task.wf.root`` (deterministic
operations recorded on first execution and replayed on every later attempt); see
:mod:`pynenc_nb.workflow.context`.

The names below are pynenc's (``from pynenc_nb.workflow import WorkflowIdentity``). They come from
the lowest layers only (the context, records and exceptions), so importing this package loads
nothing above :mod:`pynenc_nb.workflow.context`.
"""

from pynenc_nb.exceptions import (
    DeterministicOperationScopeError,
    WorkflowError,
    WorkflowMembershipError,
    WorkflowNonDeterminismError,
)
from pynenc_nb.records import WorkflowIdentity
from pynenc_nb.workflow.context import RootOperations, WorkflowContext

WorkflowRootOps = RootOperations  # pynenc's name for ``wf.root``

__all__ = [
    "DeterministicOperationScopeError",
    "RootOperations",
    "WorkflowContext",
    "WorkflowError",
    "WorkflowIdentity",
    "WorkflowMembershipError",
    "WorkflowNonDeterminismError",
    "WorkflowRootOps",
]
