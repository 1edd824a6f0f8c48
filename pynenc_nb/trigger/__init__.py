"""Triggers: tasks that run when a cron tick, an event or another task's status, result or exception
says so. ``trigger_builder`` and ``conditions`` define them (pynenc's names and paths),
``definition`` stores them, ``manager`` is ``app.trigger``, ``engine`` evaluates them in the
background services.

Like :mod:`pynenc_nb.invocation`, this package imports none of its modules: they sit in different
layers (see ``docs/architecture.md``).
"""
