"""In-process backend: every port on dicts behind one lock. For tests, dev mode and thread runners.

It cannot serve a runner in another process (``serves_other_processes`` is False): asking for
one raises a ConfigError that points to SQLite or Redis.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace

from pynenc_nb.backends.paging import (
    decode_cursor,
    encode_cursor,
    event_matches,
    event_order,
    event_page_cursor,
    find_cycle,
    matches,
    retention_victims,
)
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.invocation.status import FINAL_STATUSES, InvocationStatus
from pynenc_nb.ports.state import CHANGES_KEPT
from pynenc_nb.records import (
    Delivery,
    EventRecord,
    InvocationFilter,
    InvocationRecord,
    Outcome,
    RunnerInfo,
    StatusChange,
    TransitionRequest,
    TransitionResult,
    TriggerRun,
)


class MemoryState:
    def __init__(self, changed: threading.Condition) -> None:
        self._cond = changed
        self._records: dict[str, InvocationRecord] = {}
        self._history: dict[str, list[StatusChange]] = defaultdict(list)
        self._changes: deque[StatusChange] = deque(maxlen=CHANGES_KEPT)  # every change, in order
        self._changes_dropped = 0  # how many fell off the front: cursors count from the first ever
        self._outcomes: dict[str, Outcome] = {}
        self._locks: dict[str, str] = {}  # registration/running key -> the invocation that last took it
        self._by_call: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._waits: dict[str, set[str]] = {}  # waiter -> targets
        self._waiters: dict[str, set[str]] = defaultdict(set)  # target -> waiters
        self._runners: dict[str, RunnerInfo] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._kv: dict[tuple[str, str], str] = {}

    # --- invocations -----------------------------------------------------------------------------

    def register(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
        *,
        stored: list[bool] | None = None,
    ) -> list[InvocationRecord]:
        out: list[InvocationRecord] = []
        flags = [] if stored is None else stored
        with self._cond:
            for record in records:
                existing = record.invocation_id if record.invocation_id in self._records else None
                if existing is None and record.registration_key:
                    existing = self._holder(record.registration_key, reuse_statuses)
                flags.append(existing is None)
                if existing is not None:
                    out.append(self._records[existing])
                    continue
                now = time.time()
                record = replace(record, status=InvocationStatus.REGISTERED, owner_id=None, updated_at=now)
                self._records[record.invocation_id] = record
                self._append(StatusChange(record.invocation_id, InvocationStatus.REGISTERED, None, registered_by, now))
                self._by_call[(record.task_id, record.call_id)].append(record.invocation_id)
                if record.registration_key:
                    self._locks[record.registration_key] = record.invocation_id
                out.append(record)
            self._cond.notify_all()
        return out

    def _holder(self, key: str | None, statuses: frozenset[InvocationStatus], skip: str = "") -> str | None:
        """The invocation holding ``key`` while in ``statuses`` (one lookup: the caller holds the lock)."""
        holder = self._locks.get(key or "")
        if holder is None or holder == skip:
            return None
        record = self._records.get(holder)
        return holder if record is not None and record.status in statuses else None

    def key_holder(self, key: str) -> str | None:
        with self._cond:
            return self._locks.get(key)

    def get(self, invocation_id: str) -> InvocationRecord | None:
        with self._cond:
            return self._records.get(invocation_id)

    def get_many(self, invocation_ids: Sequence[str]) -> dict[str, InvocationRecord]:
        with self._cond:
            return {i: self._records[i] for i in invocation_ids if i in self._records}

    def transition(self, request: TransitionRequest) -> TransitionResult:
        change = request.change
        with self._cond:
            current = self._records.get(change.invocation_id)
            if current is None:
                raise InvocationNotFoundError(
                    f"invocation {change.invocation_id} does not exist", invocation_id=change.invocation_id
                )
            if current.status not in request.allowed_from:
                return TransitionResult(False, current, "status")
            if request.allowed_owners is not None and current.owner_id not in request.allowed_owners:
                return TransitionResult(False, current, "owner")
            if request.exclusive_key and self._holder(
                request.exclusive_key, request.exclusive_statuses, skip=current.invocation_id
            ):
                return TransitionResult(False, current, "exclusive")
            updated = current.with_status(change.status, change.owner_id, change.at)
            if request.counter:
                updated = replace(updated, **{request.counter: getattr(updated, request.counter) + 1})
            self._records[current.invocation_id] = updated
            if request.exclusive_key:
                self._locks[request.exclusive_key] = current.invocation_id
            self._append(change)
            if request.outcome is not None:
                self._outcomes[current.invocation_id] = request.outcome
            if change.status in FINAL_STATUSES:
                self._cond.notify_all()
            return TransitionResult(True, updated)

    def _append(self, change: StatusChange) -> None:
        """The caller holds the lock."""
        self._history[change.invocation_id].append(change)
        if len(self._changes) == self._changes.maxlen:
            self._changes_dropped += 1
        self._changes.append(change)

    def history(self, invocation_id: str) -> list[StatusChange]:
        with self._cond:
            return list(self._history.get(invocation_id, ()))

    def changes_since(self, cursor: str | None, limit: int = 500) -> tuple[list[StatusChange], str]:
        with self._cond:
            skip = max(0, int(cursor or 0) - self._changes_dropped)
            changes = list(itertools.islice(self._changes, skip, skip + limit))
            return changes, str(self._changes_dropped + skip + len(changes))

    def change_cursor(self) -> str:
        with self._cond:
            return str(self._changes_dropped + len(self._changes))

    def histories(self, invocation_ids: Sequence[str]) -> dict[str, list[StatusChange]]:
        with self._cond:
            return {i: list(self._history[i]) for i in dict.fromkeys(invocation_ids) if self._history.get(i)}

    def outcome(self, invocation_id: str) -> Outcome | None:
        with self._cond:
            return self._outcomes.get(invocation_id)

    def settled(self, invocation_ids: Sequence[str]) -> dict[str, tuple[InvocationRecord, Outcome | None]]:
        with self._cond:
            return {
                i: (self._records[i], self._outcomes.get(i))
                for i in dict.fromkeys(invocation_ids)
                if i in self._records
            }

    def wait_final(self, invocation_ids: Sequence[str], timeout_s: float) -> set[str]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                done = {i for i in invocation_ids if i in self._records and self._records[i].status in FINAL_STATUSES}
                remaining = deadline - time.monotonic()
                if done or remaining <= 0:
                    return done
                self._cond.wait(remaining)

    def find_by_call(
        self, task_id: str, call_id: str, statuses: frozenset[InvocationStatus]
    ) -> InvocationRecord | None:
        with self._cond:
            for invocation_id in reversed(self._by_call.get((task_id, call_id), ())):
                if self._records[invocation_id].status in statuses:
                    return self._records[invocation_id]
        return None

    def query(
        self, flt: InvocationFilter, *, limit: int = 100, cursor: str | None = None, arguments: bool = True
    ) -> tuple[list[InvocationRecord], str | None]:
        with self._cond:
            candidates = [r for r in self._records.values() if matches(r, flt)]
        candidates.sort(key=lambda r: (r.updated_at, r.invocation_id), reverse=True)
        if cursor:
            after = decode_cursor(cursor)
            candidates = [r for r in candidates if (r.updated_at, r.invocation_id) < after]
        page = candidates[:limit]
        next_cursor = encode_cursor(page[-1]) if len(candidates) > limit else None
        if not arguments:
            page = [replace(r, arguments="") for r in page]
        return page, next_cursor

    def count_by_status(self, flt: InvocationFilter | None = None) -> dict[InvocationStatus, int]:
        counts: dict[InvocationStatus, int] = defaultdict(int)
        with self._cond:
            for record in self._records.values():
                if flt is None or matches(record, flt):
                    counts[record.status] += 1
        return dict(counts)

    # --- waits-for graph -------------------------------------------------------------------------

    def add_waits(self, waiter_id: str, target_ids: Sequence[str]) -> list[str] | None:
        with self._cond:
            cycle = find_cycle(waiter_id, list(target_ids), lambda node: self._waits.get(node, ()))
            if cycle is not None:
                return cycle
            self._waits.setdefault(waiter_id, set()).update(target_ids)
            for target in target_ids:
                self._waiters[target].add(waiter_id)
            return None

    def remove_waits(self, waiter_id: str) -> None:
        with self._cond:
            for target in self._waits.pop(waiter_id, ()):
                waiters = self._waiters.get(target)
                if waiters is not None:
                    waiters.discard(waiter_id)
                    if not waiters:
                        del self._waiters[target]

    def waiter_counts(self, target_ids: Sequence[str]) -> dict[str, int]:
        with self._cond:
            return {t: len(self._waiters[t]) for t in target_ids if self._waiters.get(t)}

    # --- runners ---------------------------------------------------------------------------------

    def put_runner(self, info: RunnerInfo) -> None:
        with self._cond:
            self._runners[info.context.runner_id] = info

    def heartbeat(self, runner_id: str, at: float, busy: int, state: str = "running") -> None:
        with self._cond:
            info = self._runners.get(runner_id)
            if info is not None:
                self._runners[runner_id] = replace(info, last_heartbeat=at, busy=busy, state=state)

    def runners(self, *, include_stopped: bool = False) -> list[RunnerInfo]:
        with self._cond:
            return [r for r in self._runners.values() if include_stopped or r.state != "stopped"]

    def acquire_lease(self, name: str, holder: str, ttl_s: float, now: float) -> bool:
        with self._cond:
            current = self._leases.get(name)
            if current is None or current[0] == holder or current[1] <= now:
                self._leases[name] = (holder, now + ttl_s)
                return True
            return False

    def release_lease(self, name: str, holder: str) -> None:
        with self._cond:
            if self._leases.get(name, ("",))[0] == holder:
                del self._leases[name]

    # --- key/value -------------------------------------------------------------------------------

    def kv_put(self, namespace: str, key: str, value: str) -> None:
        with self._cond:
            self._kv[(namespace, key)] = value

    def kv_get(self, namespace: str, key: str) -> str | None:
        with self._cond:
            return self._kv.get((namespace, key))

    def kv_keys(self, namespace: str) -> list[str]:
        with self._cond:
            return sorted(k for ns, k in self._kv if ns == namespace)

    def kv_delete(self, namespace: str, key: str) -> None:
        with self._cond:
            self._kv.pop((namespace, key), None)

    def purge(self) -> None:
        with self._cond:
            self._changes_dropped += len(self._changes)  # cursors held by followers stay valid
            self._changes.clear()
            for store in (self._records, self._history, self._outcomes, self._locks, self._by_call):
                store.clear()
            self._waits.clear()
            self._waiters.clear()
            self._runners.clear()
            self._leases.clear()
            self._kv.clear()

    def close(self) -> None:
        pass


class MemoryBroker:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queues: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self._in_flight: dict[str, tuple[str, str, str, int]] = {}  # token -> consumer, queue, id, priority
        self._seq = itertools.count()

    def send(self, queue: str, invocation_id: str, priority: int = 0) -> None:
        self.send_many([(queue, invocation_id, priority)])

    def send_many(self, items: Sequence[tuple[str, str, int]]) -> None:
        with self._cond:
            for queue, invocation_id, priority in items:
                heapq.heappush(self._queues[queue], (-priority, next(self._seq), invocation_id))
            self._cond.notify(len(items))

    def receive(self, queues: Sequence[str], consumer_id: str, timeout_s: float) -> Delivery | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                best: tuple[int, int, str] | None = None
                best_queue = ""
                for queue in queues:
                    heap = self._queues.get(queue)
                    if heap and (best is None or heap[0] < best):
                        best, best_queue = heap[0], queue
                if best is not None:
                    heapq.heappop(self._queues[best_queue])
                    token = f"m{best[1]}"
                    self._in_flight[token] = (consumer_id, best_queue, best[2], -best[0])
                    return Delivery(best[2], best_queue, token)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def ack(self, delivery: Delivery) -> None:
        with self._cond:
            self._in_flight.pop(delivery.token, None)

    def nack(self, delivery: Delivery) -> None:
        with self._cond:
            entry = self._in_flight.pop(delivery.token, None)
        if entry is not None:
            self.send(entry[1], entry[2], entry[3])

    def requeue_consumer(self, consumer_id: str) -> int:
        with self._cond:
            tokens = [t for t, entry in self._in_flight.items() if entry[0] == consumer_id]
            entries = [self._in_flight.pop(t) for t in tokens]
        if entries:
            self.send_many([(queue, invocation_id, priority) for _, queue, invocation_id, priority in entries])
        return len(entries)

    def depth(self, queue: str | None = None) -> int:
        with self._cond:
            if queue is not None:
                return len(self._queues.get(queue, ()))
            return sum(len(heap) for heap in self._queues.values())

    def purge(self) -> None:
        with self._cond:
            self._queues.clear()
            self._in_flight.clear()

    def close(self) -> None:
        pass


class MemoryTriggerStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._triggers: dict[str, dict[str, str]] = {}  # task id -> trigger id -> definition
        self._events: dict[int, EventRecord] = {}  # storing order (dicts keep insertion order)
        self._seq = 0
        self._runs: dict[str, TriggerRun] = {}

    def put_triggers(self, definitions: Mapping[str, Mapping[str, str]]) -> None:
        with self._lock:
            for task_id, triggers in definitions.items():
                self._triggers[task_id] = dict(triggers)

    def triggers(self) -> dict[str, tuple[str, str]]:
        with self._lock:
            return {t: (task, d) for task, defs in self._triggers.items() for t, d in defs.items()}

    def add_event(self, event: EventRecord) -> None:
        with self._lock:
            self._seq += 1
            self._events[self._seq] = event

    def events_since(self, cursor: str | None, limit: int = 500) -> tuple[list[EventRecord], str]:
        after = int(cursor) if cursor else 0
        with self._lock:
            found = [(seq, e) for seq, e in self._events.items() if seq > after][:limit]
        return [e for _, e in found], str(found[-1][0]) if found else str(after)

    def event_cursor(self) -> str:
        with self._lock:
            return str(self._seq)

    def events(
        self,
        *,
        code: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[EventRecord], str | None]:
        with self._lock:
            found = [e for e in self._events.values() if event_matches(e, code, since, until, cursor)]
        found.sort(key=event_order, reverse=True)
        return found[:limit], event_page_cursor(found, limit)

    def get_events(self, event_ids: Sequence[str]) -> dict[str, EventRecord]:
        wanted = set(event_ids)
        with self._lock:
            return {e.event_id: e for e in self._events.values() if e.event_id in wanted}

    def add_trigger_runs(self, runs: Sequence[TriggerRun]) -> list[bool]:
        stored: list[bool] = []
        with self._lock:
            for run in runs:
                stored.append(run.run_id not in self._runs)
                self._runs.setdefault(run.run_id, run)
        return stored

    def trigger_runs(
        self,
        *,
        trigger_id: str | None = None,
        source_ids: Sequence[str] | None = None,
        invocation_ids: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[TriggerRun]:
        sources = None if source_ids is None else set(source_ids)
        invocations = None if invocation_ids is None else set(invocation_ids)
        with self._lock:
            found = [
                r
                for r in self._runs.values()
                if (trigger_id is None or r.trigger_id == trigger_id)
                and (sources is None or r.source_id in sources)
                and (invocations is None or r.invocation_id in invocations)
            ]
        found.sort(key=lambda r: (r.at, r.run_id), reverse=True)
        return found[:limit]

    def purge_events(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        with self._lock:
            doomed = set(retention_victims(self._events.items(), lambda e: e.at, older_than, keep_last))
            self._events = {seq: e for seq, e in self._events.items() if seq not in doomed}
            return len(doomed)

    def purge_trigger_runs(self, *, older_than: float | None = None, keep_last: int | None = None) -> int:
        with self._lock:
            doomed = set(retention_victims(self._runs.items(), lambda r: r.at, older_than, keep_last))
            self._runs = {k: r for k, r in self._runs.items() if k not in doomed}
            return len(doomed)

    def purge(self) -> None:
        with self._lock:
            self._triggers.clear()
            self._events.clear()
            self._runs.clear()


class MemoryArgCache:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._values.setdefault(key, value)

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def purge(self) -> None:
        with self._lock:
            self._values.clear()


class MemoryBackend:
    """One private store per app object; nothing is shared between app objects or processes."""

    serves_other_processes = False

    def __init__(self, url: str = "memory:", app_id: str = "pynenc") -> None:
        self._state = MemoryState(threading.Condition())
        self._broker = MemoryBroker()
        self._triggers = MemoryTriggerStore()
        self._cache = MemoryArgCache()

    def state(self) -> MemoryState:
        return self._state

    def broker(self) -> MemoryBroker:
        return self._broker

    def trigger_store(self) -> MemoryTriggerStore:
        return self._triggers

    def arg_cache(self) -> MemoryArgCache:
        return self._cache

    def atomic(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()  # every operation is already atomic under its lock

    def close(self) -> None:
        pass
