"""Key layout of the Redis backend. Every key of an app starts with ``pynenc:{<app_id>}:``.

The braces make the app id a Redis Cluster hash tag: all keys of one app live in one slot, so the
Lua scripts, which compute index keys from the prefix, stay valid on a cluster. One letter after
the prefix names the port, which is what each port's ``purge`` deletes (SCAN + UNLINK).

State (``s:``)::

    s:inv:<id>              hash    the invocation (field names in ``codec.py``; ``inbox`` and ``watched``
                                    name who is told when it is final)
    s:hist:<id>             list    status changes, oldest first (JSON arrays)
    s:chg                   stream  every status change in order, one entry per script: c "<id>\\t<entry>"
                                    lines; about CHANGES_KEPT newest entries kept (changes_since)
    s:out:<id>              hash    kind, payload, display of the final outcome
    s:ix:st:<STATUS>        zset    invocations in STATUS, score updated_at (their union: all of them)
    s:ix:task:<task_id>     zset    by task, score updated_at
    s:ix:owner:<runner_id>  zset    owned by the runner, score updated_at
    s:ix:parent:<id>        zset    children of an invocation, score updated_at
    s:ix:wf:<workflow_id>   zset    members of a workflow, score updated_at
    s:ix:run:<running_key>  zset    invocations with the running key, score updated_at
    s:ix:call:<task>|<call> zset    invocations of one call, score created_at (result cache)
    s:rk:<STATUS>:<key>     zset    invocations with a running key, per status (queries by key)
    s:lock:<key>            string  the invocation that last took a registration or running key (KeyLocks)
    s:waits:<waiter>        set     targets a paused invocation waits on
    s:waiters:<target>      set     invocations waiting on a target
    s:runners               set     runner ids
    s:runner:<runner_id>    hash    ctx (JSON), hb, state, slots, busy, details
    s:lease:<name>          hash    holder, expires
    s:kv:<namespace>        hash    key -> value
    s:inbox:<token>         list    ids that became final, for the process named by token (notify.py)
    s:watchers:<id>         set     inbox tokens of processes waiting on an invocation they did not register

Broker (``b:``)::

    b:queues                set     queue names ever used
    b:q:<queue>             zset    waiting invocation ids; score = -priority * 2**40 + seq
    b:loc                   hash    waiting id -> its queue
    b:seq                   string  send counter (FIFO order within a priority)
    b:fly:<consumer>        hash    in flight: seq -> "<queue>\\t<score>\\t<id>"
    b:took                  hash    worker -> "<nonce>\\t<id>" of its last fused take (take_start.lua), or
                                    "h\\t<id>" of the last invocation handed to it (register.lua)
    b:wake:<queue>          list    wake-up tokens for consumers blocked in BLPOP (capped)
    b:idle:<queue>          zset    workers blocked on the queue, each "<worker>\\n<claim and start
                                    frames as JSON>", score the time until which it is there
    b:hand:<worker>         list    invocations handed to the worker, already started (JSON [id, mutable
                                    values, fields]): register.lua hands a new call to an idle worker;
                                    or HAND_MARK, which only wakes the worker (take_start.lua)

Triggers (``t:``)::

    t:trig                  hash    trigger_id -> JSON [task_id, definition]
    t:task:<task_id>        set     trigger ids of the task (put_triggers.lua replaces them per task)
    t:evq                   stream  the events feed, in storing order: one entry "e <event_id>" per event;
                                    its entry ids are the cursors of events_since
    t:ev                    hash    event_id -> "<t:evq entry id>\\n" JSON [event_id, code, payload, at,
                                    emitter_invocation_id, emitter_runner_id]
    t:evs / t:evs:<code>    zset    events for pages, all of score 0, members "<at key>|<event_id>" (at key:
                                    16 hex digits that sort as the floats do, triggers.at_key): the lex
                                    order is (at, event_id)
    t:run                   hash    run_id -> JSON [trigger_id, task_id, source_kind, source_id,
                                    invocation_id, at]; HSETNX on it is the claim of a run
    t:runs                  zset    run ids, score at
    t:runs:trig:<trigger>   zset    runs of a trigger, score at
    t:runs:src:<source_id>  zset    runs made by a source (tick, event or invocation id), score at
    t:runs:inv:<id>         zset    runs that created the invocation, score at

Argument cache (``c:``)::

    c:<content hash>        string  the cached value (SET NX: never changes)
"""

from __future__ import annotations

import re

PORTS = ("s", "b", "t", "c")
HAND_MARK = "-"  # a b:hand item that is no invocation, only a wake-up (HAND_MARK in lib.lua too)
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def prefix_for(app_id: str) -> str:
    return f"pynenc:{{{app_id}}}:"


def match_pattern(prefix: str) -> str:
    """A SCAN MATCH pattern for every key starting with ``prefix`` (glob characters escaped)."""
    return _GLOB_SPECIAL.sub(r"\\\1", prefix) + "*"


class Keys:
    """Key builders for one app; Lua scripts build the same names from ``prefix``."""

    def __init__(self, app_id: str) -> None:
        self.prefix = prefix_for(app_id)
        p = self.prefix
        self.runners = f"{p}s:runners"
        self.queues = f"{p}b:queues"
        self.triggers = f"{p}t:trig"
        self.event_feed = f"{p}t:evq"
        self.events = f"{p}t:ev"
        self.runs = f"{p}t:run"
        self.run_index = f"{p}t:runs"

    def port(self, letter: str) -> str:
        return f"{self.prefix}{letter}:"

    # --- state
    def inv(self, invocation_id: str) -> str:
        return f"{self.prefix}s:inv:{invocation_id}"

    @property
    def changes(self) -> str:
        return f"{self.prefix}s:chg"

    def hist(self, invocation_id: str) -> str:
        return f"{self.prefix}s:hist:{invocation_id}"

    def out(self, invocation_id: str) -> str:
        return f"{self.prefix}s:out:{invocation_id}"

    def call(self, task_id: str, call_id: str) -> str:
        return f"{self.prefix}s:ix:call:{task_id}|{call_id}"

    def waiters(self, target_id: str) -> str:
        return f"{self.prefix}s:waiters:{target_id}"

    def runner(self, runner_id: str) -> str:
        return f"{self.prefix}s:runner:{runner_id}"

    def lease(self, name: str) -> str:
        return f"{self.prefix}s:lease:{name}"

    def kv(self, namespace: str) -> str:
        return f"{self.prefix}s:kv:{namespace}"

    # --- broker
    def queue(self, name: str) -> str:
        return f"{self.prefix}b:q:{name}"

    def wake(self, name: str) -> str:
        return f"{self.prefix}b:wake:{name}"

    def hand(self, worker: str) -> str:
        return f"{self.prefix}b:hand:{worker}"

    # --- triggers
    def event_pages(self, code: str | None = None) -> str:
        return f"{self.prefix}t:evs" if code is None else f"{self.prefix}t:evs:{code}"

    def runs_of(self, kind: str, some_id: str) -> str:
        """The run index of a trigger (``trig``), a source (``src``) or an invocation (``inv``)."""
        return f"{self.prefix}t:runs:{kind}:{some_id}"

    # --- arg cache
    def cached(self, key: str) -> str:
        return f"{self.prefix}c:{key}"
