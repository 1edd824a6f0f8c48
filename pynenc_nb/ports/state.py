from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.records import (
    InvocationFilter,
    InvocationRecord,
    Outcome,
    RunnerInfo,
    StatusChange,
    TransitionRequest,
    TransitionResult,
)

# Every backend keeps at least this many of the newest status changes for ``changes_since``.
CHANGES_KEPT = 100_000


class InvocationStore(Protocol):
    """Invocations, their histories and outcomes. Every write is atomic with its history entry."""

    def register(
        self,
        records: Sequence[InvocationRecord],
        registered_by: str | None,
        reuse_statuses: frozenset[InvocationStatus],
        *,
        stored: list[bool] | None = None,
    ) -> list[InvocationRecord]:
        """Store new invocations (status REGISTERED, one history entry each).

        A record with a ``registration_key`` is not stored when an invocation with the same key is
        in one of ``reuse_statuses``: that invocation is returned in its place (atomically). A
        record whose ``invocation_id`` is already stored is not stored again either, and the stored
        record is returned in its place: the trigger engine relies on it to replay an occurrence
        safely with derived invocation ids. ``stored``, when given, gets one flag per record
        appended: whether this call stored it (what a caller sends on).
        """
        ...

    def get(self, invocation_id: str) -> InvocationRecord | None: ...

    def get_many(self, invocation_ids: Sequence[str]) -> dict[str, InvocationRecord]: ...

    def transition(self, request: TransitionRequest) -> TransitionResult:
        """Apply one compare-and-set; see :class:`TransitionRequest`. Unknown id raises."""
        ...

    def history(self, invocation_id: str) -> list[StatusChange]: ...

    def changes_since(self, cursor: str | None, limit: int = 500) -> tuple[list[StatusChange], str]:
        """Up to about ``limit`` status changes stored after ``cursor``, in the order they were stored,
        and the cursor to read on from (opaque; the same one when nothing is new).

        Every path that changes a status appends here (``register``, ``transition``, and whatever
        server-side step a backend's own work source takes), so a follower (the trigger engine, the
        monitor) sees every change on any backend with one indexed read, never a scan. ``None``
        reads from the oldest change kept: at least the newest ``CHANGES_KEPT``.
        """
        ...

    def change_cursor(self) -> str:
        """The cursor after the newest change: a new follower starts here to see only what comes next."""
        ...

    def histories(self, invocation_ids: Sequence[str]) -> dict[str, list[StatusChange]]:
        """The histories of many invocations in a few indexed reads (the monitor's timeline needs
        thousands at once; one read per id would make it O(n) round trips). Unknown ids are left out.
        """
        ...

    def outcome(self, invocation_id: str) -> Outcome | None: ...

    def settled(self, invocation_ids: Sequence[str]) -> dict[str, tuple[InvocationRecord, Outcome | None]]:
        """Records with their outcomes (None while not final), in one read where possible.

        What collecting results needs: one round trip per batch of finished ids, not two per id.
        Unknown ids are left out.
        """
        ...

    def wait_final(self, invocation_ids: Sequence[str], timeout_s: float) -> set[str]:
        """Block until at least one of the ids is final or the timeout passes; return the final ones.

        Implementations are event-driven or back off; they never spin.
        """
        ...

    def find_by_call(
        self, task_id: str, call_id: str, statuses: frozenset[InvocationStatus]
    ) -> InvocationRecord | None:
        """The newest invocation of this exact call in one of ``statuses`` (result cache)."""
        ...

    def query(
        self, flt: InvocationFilter, *, limit: int = 100, cursor: str | None = None, arguments: bool = True
    ) -> tuple[list[InvocationRecord], str | None]:
        """A page of invocations, most recently updated first, and the cursor of the next page.

        ``arguments=False`` leaves the serialized arguments out (``arguments`` is ""): the monitor
        shows ``args_display`` and never decodes them, and each call's may weigh up to
        ``arg_cache_min_bytes``, read and sent for nothing by a timeline of 10,000."""
        ...

    def count_by_status(self, flt: InvocationFilter | None = None) -> dict[InvocationStatus, int]: ...


class KeyLocks(Protocol):
    """Which invocation holds a concurrency key: one small record per key.

    Cross-record constraints (one RUNNING invocation per running key, one live invocation per
    registration key) are kept with these instead of a search across invocations, so every status
    change stays a compare-and-set on one record plus, atomically where the backend can, one key
    record: a unique index, ``SET`` on one Redis key, a primary-key row. ``transition`` with an
    ``exclusive_key`` takes that key for the invocation when it applies, and is refused
    ("exclusive") while the key's holder is in one of ``exclusive_statuses``; ``register`` takes a
    new invocation's registration key the same way, answering with the holder while it is in one of
    ``reuse_statuses``. A holder that left those statuses (or was purged) no longer holds the key:
    the next taker replaces it, so a key is never stuck behind an invocation that ended.
    """

    def key_holder(self, key: str) -> str | None:
        """The invocation that last took ``key`` (it holds it only while in the statuses it was
        taken for: read its record to know), or None when nobody ever took it."""
        ...


class WaitGraph(Protocol):
    """Which running invocations wait on which others: for cycle detection and dependents-first order."""

    def add_waits(self, waiter_id: str, target_ids: Sequence[str]) -> list[str] | None:
        """Record the edges unless one would close a cycle; then return the cycle (``[waiter, …, waiter]``).

        The check and the insert are one atomic step, so two invocations starting to wait on each
        other at the same moment cannot both succeed.
        """
        ...

    def remove_waits(self, waiter_id: str) -> None: ...

    def waiter_counts(self, target_ids: Sequence[str]) -> dict[str, int]:
        """How many invocations wait on each target (targets nobody waits on are left out)."""
        ...


# One history entry as the timeline draws it: (status, owner after the change, time).
HistoryRow = tuple[InvocationStatus, str | None, float]


class HistoryRows(Protocol):
    """Optional: histories as bare rows, for a view that draws thousands at once (the timeline).

    ``histories`` builds a ``StatusChange`` per entry, most of the timeline's read on SQLite; a
    backend that can return its rows as they come offers this, and the monitor falls back to
    ``histories`` for one that does not."""

    def history_rows(self, invocation_ids: Sequence[str]) -> dict[str, list[HistoryRow]]:
        """As ``histories``, each entry a :data:`HistoryRow`. Unknown ids are left out."""
        ...


class PausedWait(NamedTuple):
    """What :meth:`WaitSteps.pause_waiting` did: the cycle (nothing else done), or the pause and,
    when a first target was named, that target's claim and start (None: not tried). They are tried
    only after a pause that applied, but a resend reports a target its first run started even when
    the pause is refused this time (the caller then gives the target back)."""

    cycle: list[str] | None
    paused: TransitionResult | None = None
    claimed: TransitionResult | None = None
    started: TransitionResult | None = None
    # with ``drop_final``: the targets waited on, as the pause found them (empty: every target was
    # final, and nothing was done)
    waited: dict[str, InvocationRecord] | None = None


class WaitSteps(Protocol):
    """Optional, for a backend whose every call is a round trip (Redis): a runner's wait in two
    calls instead of up to seven. A backend with transactions groups the same port calls in one
    commit each instead (``blocking.py``), so only such a backend offers this."""

    def pause_waiting(
        self,
        waiter_id: str,
        target_ids: Sequence[str],
        pause: TransitionRequest,
        first: tuple[TransitionRequest, TransitionRequest] | None,
        *,
        drop_final: bool = False,
    ) -> PausedWait:
        """``add_waits``, then the pause if there is no cycle, then, if the pause applied, the
        claim and (if the claim applied) the start of ``first``'s target, whose waiting broker
        message, if the same backend holds it, is dropped. A refused pause leaves no edge; a waiter
        that does not exist raises InvocationNotFoundError.

        With ``drop_final`` the targets are first read in the same step (the caller read nothing):
        final ones are left out, nothing at all is done when every one is, and ``waited`` holds the
        others as found. Only for targets whose ``known_record`` this process has."""
        ...

    def known_record(self, invocation_id: str) -> InvocationRecord | None:
        """The invocation's record as this process last saw it, without a round trip: its
        static fields (queue, priority, running key) hold, its status may be old. None when this
        process has not seen it."""
        ...

    def resume_waiting(
        self, waiter_id: str, endings: Sequence[TransitionRequest], resume: TransitionRequest
    ) -> tuple[list[TransitionResult | None], TransitionResult]:
        """The final ``endings`` stored (None where the invocation was purged), ``remove_waits``,
        then the resume. Raises InvocationNotFoundError when the waiter does not exist."""
        ...


class RunnerRegistry(Protocol):
    """Runner contexts, heartbeats and the services lease."""

    def put_runner(self, info: RunnerInfo) -> None: ...

    def heartbeat(self, runner_id: str, at: float, busy: int, state: str = "running") -> None: ...

    def runners(self, *, include_stopped: bool = False) -> list[RunnerInfo]: ...

    def acquire_lease(self, name: str, holder: str, ttl_s: float, now: float) -> bool:
        """Take or renew lease ``name`` for ``holder`` if it is free, expired, or already theirs.

        A backend shared by several hosts keeps the expiry on its own clock (Redis: ``TIME``), so
        holders whose clocks disagree never overlap; one on a single host may use ``now``."""
        ...

    def release_lease(self, name: str, holder: str) -> None: ...


class KeyValueStore(Protocol):
    """Small namespaced values: app info, shipped task code, workflow data."""

    def kv_put(self, namespace: str, key: str, value: str) -> None: ...

    def kv_get(self, namespace: str, key: str) -> str | None: ...

    def kv_keys(self, namespace: str) -> list[str]: ...

    def kv_delete(self, namespace: str, key: str) -> None:
        """Remove one key (a request once obeyed); a missing key is not an error."""
        ...


class StateBackend(InvocationStore, KeyLocks, WaitGraph, RunnerRegistry, KeyValueStore, Protocol):
    def purge(self) -> None:
        """Delete everything this app stored (tests, ``app.purge()``)."""
        ...

    def close(self) -> None: ...
