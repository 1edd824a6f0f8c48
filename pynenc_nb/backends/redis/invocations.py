"""InvocationStore on Redis: every write is one Lua script, with its history entry and indexes.

Registration and status changes are ``register.lua`` and ``transition.lua``; monitor pages walk
the most selective index (``query.lua``). Waiting for final invocations is push-based (``notify.py``).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import pynenc_nb.backends.redis.codec as codec
from pynenc_nb.backends.paging import decode_cursor, encode_cursor
from pynenc_nb.backends.redis.bounded import Bounded
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.backends.redis.notify import FinalWatcher
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.ports.state import HistoryRow
from pynenc_nb.records import (
    InvocationFilter,
    InvocationRecord,
    Outcome,
    StatusChange,
    TransitionRequest,
    TransitionResult,
)

_FINALS = [s.value for s in FINAL_STATUSES]
_ALL_STATUSES = [s.value for s in InvocationStatus]
_COUNTERS = {None: "", "num_retries": "retries", "recoveries": "recov"}
_CHUNK = 500  # ids per script call or pipeline
_STATIC_CACHE_SIZE = 4096  # records kept per process for their static fields (oldest evicted first)
_STATIC_CACHE_BYTES = 32 * 1024 * 1024  # and at most this much of their arguments


def request_args(request: TransitionRequest, *, own_running_key: bool = False, at_s: float | None = None) -> list[str]:
    """A TransitionRequest as the script arguments ``request_at`` of lib.lua reads.

    With ``own_running_key`` the exclusive check uses the record's own running key (``=``), for
    requests built before the invocation is known; ``at_s`` replaces the request's time. Only the
    time differs between the requests a runner sends, so everything else is formatted once per
    kind of request (``_frame``).
    """
    change = request.change
    at = repr(change.at if at_s is None else at_s)
    f = _frame_of(request, own_running_key)
    args = [
        f.to,
        f.owner,
        at,
        f.counter,
        codec.entry_from(f.entry_head, at, change.reason),
        f.token_head + at,
        f.final,
        f.exclusive,
        f.allowed,
        f.owners,
        f.exclusive_statuses,
    ]
    if request.outcome is not None:
        args += [request.outcome.kind, request.outcome.payload, request.outcome.display]
    return args


def frame_args(request: TransitionRequest, *, own_running_key: bool = False) -> list[str]:
    """A request without its time, for a script that applies it later at a time of its own
    (``request_from`` in lib.lua): ``request_args`` less the time, with the history entry split
    around it and the change token's head."""
    f = _frame_of(request, own_running_key)
    before, after = codec.entry_around(f.entry_head, request.change.reason)
    return [f.to, f.owner, f.counter, before, after, f.token_head, f.final, f.exclusive, f.allowed, f.owners,
            f.exclusive_statuses]  # fmt: skip


class Frame(NamedTuple):
    """The time-independent script arguments of a request (``request_at`` in lib.lua), and the
    heads of its history entry and change token up to the time."""

    to: str
    owner: str
    counter: str  # '' | 'retries' | 'recov'
    entry_head: str
    token_head: str
    final: str  # '1' | '0'
    exclusive: str  # '' none, '=' the record's own running key, else the key
    allowed: str  # ",A,B,"
    owners: str  # '*' any, else each owner between \x1f separators
    exclusive_statuses: str  # ",A," when exclusive


def _frame_of(request: TransitionRequest, own_running_key: bool) -> Frame:
    change = request.change
    return _frame(
        change.status,
        change.owner_id,
        change.runner_id,
        request.counter,
        request.allowed_from,
        request.allowed_owners,
        "=" if own_running_key else (request.exclusive_key or ""),
        request.exclusive_statuses,
    )


@functools.lru_cache(maxsize=64)
def _status_values(statuses: frozenset[InvocationStatus]) -> tuple[str, ...]:
    """Script arguments for a set of statuses (``.value`` of an enum member is slow to read)."""
    return tuple(sorted(s.value for s in statuses))


@functools.lru_cache(maxsize=512)
def _frame(
    status: InvocationStatus,
    owner_id: str | None,
    runner_id: str | None,
    counter: str | None,
    allowed_from: frozenset[InvocationStatus],
    allowed_owners: tuple[str | None, ...] | None,
    exclusive: str,
    exclusive_statuses: frozenset[InvocationStatus],
) -> Frame:
    return Frame(
        status.value,
        owner_id or "",
        _COUNTERS[counter],
        codec.entry_head(status, owner_id, runner_id),
        codec.change_token_head(status, owner_id, runner_id),
        "1" if status in FINAL_STATUSES else "0",
        exclusive,
        "," + ",".join(s.value for s in sorted(allowed_from, key=lambda s: s.value)) + ",",
        "*" if allowed_owners is None else "\x1f" + "\x1f".join(o or "" for o in allowed_owners) + "\x1f",
        "," + ",".join(s.value for s in sorted(exclusive_statuses, key=lambda s: s.value)) + "," if exclusive else "",
    )


class RedisInvocations:
    def __init__(self, conn: Connection, watcher: FinalWatcher) -> None:
        self.conn = conn
        self.keys = conn.keys
        self.watcher = watcher
        # id -> a record of the invocation, for its static fields: a script then returns only the
        # mutable values, and a record is rebuilt from them by one constructor call
        self._static: Bounded[str, InvocationRecord] = Bounded(
            _STATIC_CACHE_SIZE, _STATIC_CACHE_BYTES, lambda r: len(r.arguments)
        )
        self._static_lock = threading.Lock()

    def _remember(self, record: InvocationRecord) -> None:
        with self._static_lock:
            self._static.put(record.invocation_id, record)

    def register(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
        *,
        stored: list[bool] | None = None,
        send: bool = False,
        fresh_ids: bool = False,
    ) -> list[InvocationRecord]:
        """Store ``records`` (``register.lua``); with ``send`` the stored ones are also queued by
        the same script (``RegisterAndSend``).

        With ``fresh_ids`` (ids just made, so no stored invocation has them), a chunk without
        registration keys can only be stored: its script is sent ahead, and this thread reads the
        reply before its next exchange with the server (``Connection.send_ahead``)."""
        out: list[InvocationRecord] = []
        flags: list[bool] = []
        reuse = _status_values(reuse_statuses)
        generation = self.watcher.ready_generation()
        inbox = self.watcher.inbox
        for start in range(0, len(records), _CHUNK):
            chunk = records[start : start + _CHUNK]
            now = time.time()
            args: list[str] = [self.keys.prefix, repr(now), "1" if send else "0", inbox, str(len(reuse)), *reuse]
            # the history entry names no invocation: one for the whole chunk
            entry = codec.entry(StatusChange("", InvocationStatus.REGISTERED, None, registered_by, now))
            for record in chunk:
                args += codec.static_values(record)
                args.append(entry)
            if fresh_ids and all(record.registration_key is None for record in chunk):
                self.conn.send_ahead("register", [], args)
                replies: list[Any] = [0] * len(chunk)
            else:
                replies = self.conn.eval("register", [], args)
            for record, reply in zip(chunk, replies, strict=True):
                flags.append(reply == 0)
                if reply == 0:  # kept so that the final note of this invocation makes a whole record
                    new = record.with_status(InvocationStatus.REGISTERED, None, now, num_retries=0, recoveries=0)
                    self._remember(new)
                    out.append(new)
                else:
                    out.append(codec.to_record(codec.pairs(reply)))
        if generation is not None:  # only what this call stored carries our inbox
            self.watcher.registered([r.invocation_id for r, new in zip(out, flags, strict=True) if new], generation)
        if stored is not None:
            stored.extend(flags)
        return out

    def get(self, invocation_id: str) -> InvocationRecord | None:
        flat = self.conn.command("HGETALL", self.keys.inv(invocation_id))
        return codec.to_record(codec.pairs(flat)) if flat else None

    def get_many(self, invocation_ids: Sequence[str]) -> dict[str, InvocationRecord]:
        """Pipelined HGETALLs (``read_all``): every wait of a runner starts here."""
        found: dict[str, InvocationRecord] = {}
        for flat in self.conn.read_all([("HGETALL", self.keys.inv(i)) for i in invocation_ids], _CHUNK):
            if flat:
                record = codec.to_record(codec.pairs(flat))
                found[record.invocation_id] = record
        return found

    def transition(self, request: TransitionRequest) -> TransitionResult:
        invocation_id = request.change.invocation_id
        static = self.cached_static(invocation_id)
        args = [
            self.keys.prefix,
            invocation_id,
            "0" if static is not None else "1",
            self.storing_inbox(),
            *request_args(request),
        ]
        try:
            reply = self.conn.eval("transition", [], args)
        except BaseException:
            self.watcher.store_failed()
            raise
        if reply[0] == "missing":
            raise InvocationNotFoundError(f"invocation {invocation_id} does not exist", invocation_id=invocation_id)
        result, values, full = reply
        if result == "applied":
            self.stored_final(request, values)
        return self.reply_result(result, values, full, static)

    def storing_inbox(self) -> str:
        """This process's inbox token, for a script whose final changes this process tells its own
        waiters of itself (``stored_final``): the script pushes no note to it."""
        return self.watcher.inbox

    def stored_final(self, request: TransitionRequest, values: Sequence[str]) -> None:
        """A final change this process applied (values: the record's mutable values after it),
        told to its own waiters in place of the note its script did not push to our inbox
        (``FinalWatcher.stored_final``)."""
        if request.change.status not in FINAL_STATUSES:
            return
        outcome = request.outcome
        tail = (outcome.kind, outcome.payload, outcome.display) if outcome is not None else ("", "", "")
        self.watcher.stored_final([request.change.invocation_id, *values, *tail])

    def claim_and_start(
        self, claim: TransitionRequest, start: TransitionRequest
    ) -> tuple[TransitionResult, TransitionResult | None]:
        """``claim`` then, if it applied, ``start`` (exclusive on the record's own running key),
        in one script: what a delivery from another broker costs is one round trip, as a take
        from the Redis broker does. The start is None when the claim did not apply."""
        invocation_id = claim.change.invocation_id
        static = self.cached_static(invocation_id)
        args = [
            self.keys.prefix,
            invocation_id,
            "0" if static is not None else "1",
            *request_args(claim),
            *request_args(start, own_running_key=True),
        ]
        reply = self.conn.eval("claim_start", [], args)
        if reply[0] == "missing":
            raise InvocationNotFoundError(f"invocation {invocation_id} does not exist", invocation_id=invocation_id)
        claimed = self.reply_result(reply[0], reply[1], reply[2], static)
        if not reply[3]:
            return claimed, None
        return claimed, self.reply_result(reply[3], reply[4], None, claimed.record)

    def cached_static(self, invocation_id: str) -> InvocationRecord | None:
        """A record of the invocation held for its static fields (its mutable ones may be old)."""
        with self._static_lock:
            return self._static.get(invocation_id)

    def reply_result(
        self, result: str, values: Sequence[str], full: Sequence[str] | None, static: InvocationRecord | None = None
    ) -> TransitionResult:
        """A script's reply as a TransitionResult: the mutable values over the (cached) static fields."""
        if full:
            status, owner, retries, recoveries, updated = values
            fields = codec.pairs(full)
            fields.update(status=status, owner=owner, retries=retries, recov=recoveries, updated=updated)
            record = codec.to_record(fields)
            self._remember(record)
        else:
            assert static is not None
            record = codec.with_values(static, *values)
        if result == "applied":
            return TransitionResult(True, record)
        return TransitionResult(False, record, result)

    def history(self, invocation_id: str) -> list[StatusChange]:
        items = self.conn.run(lambda c: c.lrange(self.keys.hist(invocation_id), 0, -1))
        return [codec.to_change(invocation_id, item) for item in items]

    def key_holder(self, key: str) -> str | None:
        holder = self.conn.command("GET", f"{self.keys.prefix}s:lock:{key}")
        return str(holder) if holder is not None else None

    def changes_since(self, cursor: str | None, limit: int = 500) -> tuple[list[StatusChange], str]:
        """A range of the ``s:chg`` stream: one entry per script, holding that script's changes (so
        ``limit`` counts entries: a registration of many calls is one)."""
        start = f"({cursor}" if cursor else "-"
        entries = self.conn.run(lambda c: c.xrange(self.keys.changes, start, "+", count=limit))
        changes = []
        for _, fields in entries:
            for line in fields["c"].split("\n"):
                invocation_id, _, item = line.partition("\t")
                changes.append(codec.to_change(invocation_id, item))
        return changes, str(entries[-1][0]) if entries else (cursor or "0-0")

    def change_cursor(self) -> str:
        newest = self.conn.run(lambda c: c.xrevrange(self.keys.changes, "+", "-", count=1))
        return str(newest[0][0]) if newest else "0-0"

    def outcome(self, invocation_id: str) -> Outcome | None:
        kind, payload, display = self.conn.command("HMGET", self.keys.out(invocation_id), "kind", "payload", "display")
        return Outcome(kind, payload, display) if kind is not None else None

    def settled(self, invocation_ids: Sequence[str]) -> dict[str, tuple[InvocationRecord, Outcome | None]]:
        """Records with their outcomes: from the final notes just announced to this process when
        it holds the static fields (it registered them), else read in pipelined batches."""
        found: dict[str, tuple[InvocationRecord, Outcome | None]] = {}
        for invocation_id, note in self.watcher.take_notes(invocation_ids).items():
            static = self.cached_static(invocation_id)
            if static is None:
                continue
            _, status, owner, retries, recoveries, updated, kind, payload, display = note
            record = codec.with_values(static, status, owner, retries, recoveries, updated)
            found[invocation_id] = (record, Outcome(kind, payload, display) if kind else None)
        ids = [i for i in dict.fromkeys(invocation_ids) if i not in found]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]

            reads: list[tuple[str, ...]] = []
            for invocation_id in chunk:
                reads.append(("HGETALL", self.keys.inv(invocation_id)))
                reads.append(("HMGET", self.keys.out(invocation_id), "kind", "payload", "display"))
            replies = self.conn.commands(reads)
            for index, invocation_id in enumerate(chunk):
                flat, (kind, payload, display) = replies[2 * index], replies[2 * index + 1]
                if flat:
                    outcome = Outcome(kind, payload, display) if kind is not None else None
                    found[invocation_id] = (codec.to_record(codec.pairs(flat)), outcome)
        return found

    # --- waiting ---------------------------------------------------------------------------------

    def _final_among(self, invocation_ids: Sequence[str]) -> set[str]:
        done: set[str] = set()
        for start in range(0, len(invocation_ids), _CHUNK):
            chunk = invocation_ids[start : start + _CHUNK]
            done.update(self.conn.eval("final_among", [], [self.keys.prefix, len(_FINALS), *_FINALS, *chunk]))
        return done

    def _watch(self, invocation_ids: Sequence[str]) -> set[str]:
        """The final ones among ``invocation_ids``; our inbox is attached to the others."""
        done: set[str] = set()
        inbox = self.watcher.inbox
        for start in range(0, len(invocation_ids), _CHUNK):
            chunk = invocation_ids[start : start + _CHUNK]
            done.update(self.conn.eval("watch", [], [self.keys.prefix, inbox, len(_FINALS), *_FINALS, *chunk]))
        return done

    def wait_final(self, invocation_ids: Sequence[str], timeout_s: float) -> set[str]:
        ids = list(dict.fromkeys(invocation_ids))
        if not ids:
            return set()
        known = self.watcher.known_final(ids)
        if known:
            return known
        if timeout_s <= 0:
            return self._final_among(ids)
        deadline = time.monotonic() + timeout_s
        with self.watcher.watch(ids) as watch:
            while True:
                unverified = self.watcher.unverified(watch)
                done = self._watch(unverified) if unverified else set()
                if done:
                    return done
                self.watcher.verified(watch, unverified)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return done
                hits = self.watcher.wait(watch, remaining)
                if hits:
                    return hits

    # --- lookups and monitor queries -------------------------------------------------------------

    def find_by_call(
        self, task_id: str, call_id: str, statuses: frozenset[InvocationStatus]
    ) -> InvocationRecord | None:
        if not statuses:
            return None
        flat = self.conn.eval(
            "find_by_call", [self.keys.call(task_id, call_id)], [self.keys.prefix, *(s.value for s in statuses)]
        )
        return codec.to_record(codec.pairs(flat)) if flat else None

    def _groups(self, flt: InvocationFilter) -> list[list[str]]:
        """Candidate indexes for a filter, each a union of zsets; the script walks the smallest."""
        ix = f"{self.keys.prefix}s:ix:"
        groups = [
            [f"{ix}{name}:{value}"]
            for name, value in (
                ("task", flt.task_id),
                ("owner", flt.owner_id),
                ("parent", flt.parent_invocation_id),
                ("wf", flt.workflow_id),
                ("run", flt.running_key),
            )
            if value is not None
        ]
        if flt.statuses is not None:
            if flt.running_key is not None:
                groups.append([f"{self.keys.prefix}s:rk:{s.value}:{flt.running_key}" for s in flt.statuses])
            else:
                groups.append([f"{ix}st:{s.value}" for s in flt.statuses])
        return groups or [[f"{ix}st:{s}" for s in _ALL_STATUSES]]

    @staticmethod
    def _fields(flt: InvocationFilter) -> list[str]:
        values = (flt.task_id, flt.owner_id, flt.parent_invocation_id, flt.workflow_id, flt.running_key)
        return ["" if v is None else v for v in values]

    def query(
        self, flt: InvocationFilter, *, limit: int = 100, cursor: str | None = None, arguments: bool = True
    ) -> tuple[list[InvocationRecord], str | None]:
        if limit <= 0 or (flt.statuses is not None and not flt.statuses):
            return [], None
        upper = "+inf" if flt.updated_before is None else f"({flt.updated_before!r}"
        cursor_at, cursor_id = "", ""
        if cursor:
            at, cursor_id = decode_cursor(cursor)
            cursor_at = repr(at)
            if flt.updated_before is None or at < flt.updated_before:
                upper = cursor_at
        lower = "-inf" if flt.updated_after is None else repr(flt.updated_after)
        statuses = [] if flt.statuses is None else [s.value for s in flt.statuses]
        groups = self._groups(flt)
        args: list[str | int] = [self.keys.prefix, limit, upper, lower, cursor_at, cursor_id, "1" if arguments else "0"]
        args += [len(statuses) if flt.statuses is not None else -1, *statuses, *self._fields(flt), len(groups)]
        for group in groups:
            args += [len(group), *group]
        reply = self.conn.eval("query", [], args)
        records = [codec.to_record(codec.pairs(flat)) for flat in reply[1:]]
        return records, (encode_cursor(records[-1]) if reply[0] and records else None)

    def count_by_status(self, flt: InvocationFilter | None = None) -> dict[InvocationStatus, int]:
        flt = flt or InvocationFilter()
        statuses = _ALL_STATUSES if flt.statuses is None else [s.value for s in flt.statuses]
        if not statuses:
            return {}
        lower = "-inf" if flt.updated_after is None else repr(flt.updated_after)
        upper = "+inf" if flt.updated_before is None else f"({flt.updated_before!r}"
        args: list[str | int] = [self.keys.prefix, lower, upper, len(statuses), *statuses]
        fields = self._fields(flt)
        if any(fields):
            groups = self._groups(flt)
            args += ["scan", *fields, len(groups)]
            for group in groups:
                args += [len(group), *group]
        else:
            args.append("fast")
        flat = self.conn.eval("count", [], args)
        return {InvocationStatus(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}

    # --- bulk reads for the monitor --------------------------------------------------------------

    def histories(self, invocation_ids: Sequence[str]) -> dict[str, list[StatusChange]]:
        """One pipelined LRANGE per id, ``_CHUNK`` ids per round trip (no script: reads only)."""
        return {i: [codec.to_change(i, item) for item in items] for i, items in self._history_items(invocation_ids)}

    def history_rows(self, invocation_ids: Sequence[str]) -> dict[str, list[HistoryRow]]:
        """``histories`` as bare rows (``HistoryRows``): the same reads, no object per entry."""
        to_row = codec.to_row
        return {i: [to_row(item) for item in items] for i, items in self._history_items(invocation_ids)}

    def _history_items(self, invocation_ids: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
        """The encoded history of each id that has one."""
        ids = list(dict.fromkeys(invocation_ids))
        replies = self.conn.read_all([("LRANGE", self.keys.hist(i), "0", "-1") for i in ids], _CHUNK)
        for invocation_id, items in zip(ids, replies, strict=True):
            if items:
                yield invocation_id, items
