"""The invocation state machine: ONE declarative table.

Every status says whether it is final, which statuses may follow it and how it treats the owner
runner. Backends never interpret this table: the orchestrator turns it into a compare-and-set
request (allowed previous statuses, allowed previous owners, new owner) that a backend applies
atomically. The test oracle replays stored histories against the same table.

Unlike pynenc, every non-final status has a path to a final one (checked by a test), recovery
states can always give up with FAILED, and concurrency-controlled calls always have somewhere to
go (REROUTED or CONCURRENCY_CONTROLLED_FINAL).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class InvocationStatus(enum.StrEnum):
    REGISTERED = "REGISTERED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    KILLED = "KILLED"
    REROUTED = "REROUTED"
    CONCURRENCY_CONTROLLED = "CONCURRENCY_CONTROLLED"
    CONCURRENCY_CONTROLLED_FINAL = "CONCURRENCY_CONTROLLED_FINAL"
    PENDING_RECOVERY = "PENDING_RECOVERY"
    RUNNING_RECOVERY = "RUNNING_RECOVERY"

    @classmethod
    def _missing_(cls, value: object) -> InvocationStatus | None:
        """pynenc's values are lowercase (``InvocationStatus("success")``): both spellings resolve."""
        if isinstance(value, str):
            return cls.__members__.get(value.upper())
        return None

    @property
    def is_final(self) -> bool:
        return STATUS_TABLE[self].final

    @property
    def spec(self) -> StatusSpec:
        return STATUS_TABLE[self]


class Ownership(enum.Enum):
    """How entering a status treats the invocation's owner runner."""

    ACQUIRE = "acquire"  # previous owner must be none; the caller becomes owner
    REQUIRE = "require"  # the caller must already own it and keeps it
    RELEASE = "release"  # the caller must own it (or nobody does); afterwards nobody owns it
    OVERRIDE = "override"  # anyone may do it (recovery, kill); afterwards nobody owns it


@dataclass(frozen=True, slots=True)
class StatusSpec:
    final: bool
    ownership: Ownership
    next: frozenset[InvocationStatus]
    counter: str | None = None  # invocation counter incremented on entering the status
    queued: bool = False  # entering it puts the invocation id on the broker
    description: str = ""


S = InvocationStatus


def _next(*statuses: InvocationStatus) -> frozenset[InvocationStatus]:
    return frozenset(statuses)


STATUS_TABLE: Mapping[InvocationStatus, StatusSpec] = {
    S.REGISTERED: StatusSpec(
        final=False,
        ownership=Ownership.RELEASE,
        next=_next(S.PENDING, S.REROUTED, S.KILLED, S.FAILED, S.PENDING_RECOVERY),
        queued=True,
        description="stored and queued; waits for a runner",
    ),
    S.PENDING: StatusSpec(
        final=False,
        ownership=Ownership.ACQUIRE,
        next=_next(
            S.RUNNING,
            S.CONCURRENCY_CONTROLLED,
            S.CONCURRENCY_CONTROLLED_FINAL,
            S.REROUTED,
            S.PENDING_RECOVERY,
            S.KILLED,
            S.FAILED,
        ),
        description="claimed by a runner that is about to run it",
    ),
    S.RUNNING: StatusSpec(
        final=False,
        ownership=Ownership.REQUIRE,
        next=_next(S.SUCCESS, S.FAILED, S.RETRY, S.PAUSED, S.KILLED, S.RUNNING_RECOVERY, S.REROUTED),
        description="executing on its owner runner",
    ),
    S.PAUSED: StatusSpec(
        final=False,
        ownership=Ownership.REQUIRE,
        next=_next(S.RUNNING, S.KILLED, S.RUNNING_RECOVERY, S.FAILED, S.REROUTED),
        description="waiting on other invocations; does not hold a runner slot",
    ),
    S.RETRY: StatusSpec(
        final=False,
        ownership=Ownership.RELEASE,
        next=_next(S.PENDING, S.REROUTED, S.KILLED, S.FAILED, S.PENDING_RECOVERY),
        counter="num_retries",
        queued=True,
        description="failed with a retriable error; queued for another attempt",
    ),
    S.REROUTED: StatusSpec(
        final=False,
        ownership=Ownership.RELEASE,
        next=_next(S.PENDING, S.REROUTED, S.KILLED, S.FAILED, S.PENDING_RECOVERY),
        queued=True,
        description="queued again (recovery, concurrency control or a stopping runner)",
    ),
    S.CONCURRENCY_CONTROLLED: StatusSpec(
        final=False,
        ownership=Ownership.RELEASE,
        next=_next(S.REROUTED, S.CONCURRENCY_CONTROLLED_FINAL, S.KILLED, S.FAILED),
        description="blocked by running concurrency control; will be rerouted",
    ),
    S.PENDING_RECOVERY: StatusSpec(
        final=False,
        ownership=Ownership.OVERRIDE,
        next=_next(S.REROUTED, S.FAILED, S.KILLED),
        counter="recoveries",
        description="stuck before running; being recovered",
    ),
    S.RUNNING_RECOVERY: StatusSpec(
        final=False,
        ownership=Ownership.OVERRIDE,
        next=_next(S.REROUTED, S.FAILED, S.KILLED),
        counter="recoveries",
        description="its runner died; being recovered",
    ),
    S.KILLED: StatusSpec(
        final=True,
        ownership=Ownership.OVERRIDE,
        next=_next(),
        description="stopped on request; final, with no result",
    ),
    S.SUCCESS: StatusSpec(final=True, ownership=Ownership.RELEASE, next=_next(), description="finished with a result"),
    S.FAILED: StatusSpec(
        final=True, ownership=Ownership.RELEASE, next=_next(), description="finished with an exception"
    ),
    S.CONCURRENCY_CONTROLLED_FINAL: StatusSpec(
        final=True,
        ownership=Ownership.RELEASE,
        next=_next(),
        description="not run because of concurrency control",
    ),
}

FINAL_STATUSES: frozenset[InvocationStatus] = frozenset(s for s, spec in STATUS_TABLE.items() if spec.final)
NON_FINAL: frozenset[InvocationStatus] = frozenset(InvocationStatus) - FINAL_STATUSES
# Bulk reads turn stored text into statuses by a dict lookup, several times cheaper than the enum call.
STATUS_BY_VALUE: Mapping[str, InvocationStatus] = {s.value: s for s in InvocationStatus}
# Statuses whose invocation waits on the broker for a runner.
QUEUED_STATUSES: frozenset[InvocationStatus] = frozenset(s for s, spec in STATUS_TABLE.items() if spec.queued)
# Statuses in which a runner holds the invocation (its death must be recovered).
OWNED_STATUSES: frozenset[InvocationStatus] = frozenset({S.PENDING, S.RUNNING, S.PAUSED})

_SOURCES: dict[InvocationStatus, frozenset[InvocationStatus]] = {
    target: frozenset(src for src, spec in STATUS_TABLE.items() if target in spec.next) for target in InvocationStatus
}


def sources_of(target: InvocationStatus) -> frozenset[InvocationStatus]:
    """Statuses from which ``target`` may be entered."""
    return _SOURCES[target]


def is_allowed(source: InvocationStatus | None, target: InvocationStatus) -> bool:
    """Whether ``source -> target`` is in the table (``None`` is a new invocation)."""
    if source is None:
        return target is S.REGISTERED
    return target in STATUS_TABLE[source].next


def owner_rule(target: InvocationStatus, caller: str | None) -> tuple[tuple[str | None, ...] | None, str | None]:
    """Return (allowed previous owners, or None for any; new owner) for entering ``target``."""
    ownership = STATUS_TABLE[target].ownership
    if ownership is Ownership.ACQUIRE:
        return (None,), caller
    if ownership is Ownership.REQUIRE:
        return (caller,), caller
    if ownership is Ownership.RELEASE:
        return (caller, None), None
    return None, None


def replay_errors(history: Iterable[tuple[InvocationStatus, str | None, str | None]]) -> list[str]:
    """Check one history (status, owner after, caller) against the table; return what breaks it.

    Used by the test oracle after every test and by ``pynenc status`` diagnostics.
    """
    errors: list[str] = []
    previous: InvocationStatus | None = None
    owner: str | None = None
    for index, (status, new_owner, caller) in enumerate(history):
        if not is_allowed(previous, status):
            errors.append(f"step {index}: {previous} -> {status} is not allowed")
        elif previous is not None:
            allowed_owners, expected_new = owner_rule(status, caller)
            if allowed_owners is not None and owner not in allowed_owners:
                errors.append(f"step {index}: {status} by {caller} while owned by {owner}")
            if new_owner != expected_new:
                errors.append(f"step {index}: {status} left owner {new_owner}, expected {expected_new}")
        previous, owner = status, new_owner
    return errors


def render_table() -> str:
    """A text rendering of the state machine for ``pynenc status render``."""
    lines = [f"{'status':<30} {'final':<6} {'owner':<9} next"]
    for status, spec in STATUS_TABLE.items():
        nxt = ", ".join(sorted(s.value for s in spec.next)) or "-"
        lines.append(f"{status.value:<30} {'yes' if spec.final else 'no':<6} {spec.ownership.value:<9} {nxt}")
    return "\n".join(lines)


def render_mermaid() -> str:
    """A Mermaid state diagram of the same table (paste into any Markdown viewer)."""
    lines = ["stateDiagram-v2", "    [*] --> REGISTERED"]
    for status, spec in STATUS_TABLE.items():
        for nxt in sorted(spec.next, key=lambda s: s.value):
            lines.append(f"    {status.value} --> {nxt.value}")
        if spec.final:
            lines.append(f"    {status.value} --> [*]")
    return "\n".join(lines)
