"""Durable workflows: ``task.wf`` (identity and workflow data) and ``task.wf.root`` (deterministic
operations recorded on first execution and replayed on every later attempt); see
:mod:`pynenc_nb.workflow.context`.
"""
