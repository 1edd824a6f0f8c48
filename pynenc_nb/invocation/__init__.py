"""Invocations: ``status`` (the status table every layer uses) and ``handle`` (what a call returns).

Two modules at opposite ends of the layers, so this package imports neither: pynenc's path
``pynenc_nb.invocation.status`` resolves without loading the handles.
"""
