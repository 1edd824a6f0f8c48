"""Background services, run by whichever runner holds the services lease.

One lease row/key with an expiry, renewed by its holder every ``services_interval_s``; any
number of runners compete for it, and a dead holder's lease simply expires. The holder recovers
the work of runners that stopped heartbeating, stuck PENDING invocations, queued invocations whose
broker message was lost, and concurrency-controlled invocations nobody will release.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pynenc_nb import forking
from pynenc_nb.failures import Failures
from pynenc_nb.invocation.status import OWNED_STATUSES, QUEUED_STATUSES, InvocationStatus
from pynenc_nb.records import InvocationFilter, RunnerContext
from pynenc_nb.trigger.engine import TriggerEngine

if TYPE_CHECKING:
    from pynenc_nb.app import Pynenc

LEASE = "services"
_BATCH = 500
TRIGGER_POLL_S = 0.2  # how often the holder follows events and status changes for triggers
PURGE_EVERY_S = 60.0  # event and trigger-run retention
# Runners write heartbeats with their own clocks. A runner is dead when its heartbeat has not
# changed for ``runner_dead_after_s`` on the holder's own (monotonic) clock, whatever the time it
# wrote; only a beat older than this plus ``runner_dead_after_s`` by the wall clock is taken as
# dead at first sight (a runner that died before this holder took over), so clocks that disagree
# by up to this much never make a live runner look dead.
CLOCK_SKEW_TOLERANCE_S = 120.0
S = InvocationStatus


class Services:
    def __init__(self, app: Pynenc, holder: RunnerContext, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.holder = holder
        self.triggers = TriggerEngine(app, holder)
        self._purged_at = 0.0
        self._monotonic = monotonic
        # runner id -> (its last heartbeat as written, when this holder first saw that value)
        self._beats: dict[str, tuple[float, float]] = {}

    @property
    def lease_ttl_s(self) -> float:
        return max(3 * self.app.conf.services_interval_s, 2.0)

    def run(self, stop: threading.Event) -> None:
        """Compete for the lease every interval; while holding it, run a tick every interval and
        evaluate triggers every ``TRIGGER_POLL_S`` (an event fires its trigger within that, plus
        the time to register), until ``stop`` is set."""
        interval = self.app.conf.services_interval_s
        state = self.app.state_backend
        next_tick = 0.0
        held_until = 0.0  # the lease is ours until then (renewed each tick, well before it expires)
        failures = Failures(self.app.logger, f"{self.holder.label}: background services failed", fixed_delay_s=interval)
        while not stop.wait(min(interval, TRIGGER_POLL_S)):
            try:
                with forking.quiet():
                    now = time.time()
                    ticked = now >= next_tick
                    if ticked:
                        next_tick = now + interval
                        if state.acquire_lease(LEASE, self.holder.runner_id, self.lease_ttl_s, now):
                            held_until = now + self.lease_ttl_s - interval
                            self.tick(now)
                        else:
                            held_until = 0.0
                    if time.time() < held_until:
                        self.triggers.evaluate()
                if ticked:  # between ticks nothing may have been written: no sign of recovery
                    failures.succeeded()
            except Exception:
                failures.failed()
        try:
            with forking.quiet():
                state.release_lease(LEASE, self.holder.runner_id)
        except Exception:
            self.app.logger.debug("could not release the services lease", exc_info=True)

    def tick(self, now: float) -> dict[str, int]:
        done = {
            "dead_runners": self.recover_dead_runners(now),
            "stuck_pending": self.recover_stuck_pending(now),
            "lost_messages": self.reroute_lost_messages(now),
            "released": self.release_concurrency_controlled(),
        }
        if now - self._purged_at >= PURGE_EVERY_S:
            self._purged_at = now
            done["purged_events"] = self.triggers.purge_old(now)
        # Where and when the services last ran, per holder (shown by monitors, checked by tests).
        self.app.state_backend.kv_put(LEASE, self.holder.runner_id, json.dumps({"at": now, **done}))
        return done

    def recover_dead_runners(self, now: float) -> int:
        conf = self.app.conf
        state = self.app.state_backend
        recovered = 0
        observed_at = self._monotonic()
        listed: set[str] = set()
        for info in state.runners():
            if info.state not in ("running", "stopping"):
                continue
            runner_id = info.context.runner_id
            listed.add(runner_id)
            seen = self._beats.get(runner_id)
            if seen is None or seen[0] != info.last_heartbeat:
                self._beats[runner_id] = seen = (info.last_heartbeat, observed_at)
            silent_s = observed_at - seen[1]
            if silent_s <= conf.runner_dead_after_s and now - info.last_heartbeat <= (
                conf.runner_dead_after_s + CLOCK_SKEW_TOLERANCE_S
            ):
                continue
            self.app.logger.warning(
                "runner %s silent for %.1f s: recovering its invocations",
                info.context.label,
                max(silent_s, now - info.last_heartbeat),
            )
            state.heartbeat(runner_id, info.last_heartbeat, 0, "lost")
            self._beats.pop(runner_id, None)
            recovered += self._recover_owned(runner_id, f"runner {info.context.label} stopped heartbeating")
            self.app.broker.requeue_consumer(runner_id)
        for gone in set(self._beats) - listed:
            del self._beats[gone]
        return recovered

    def _recover_owned(self, owner_id: str, reason: str) -> int:
        records, _ = self.app.state_backend.query(
            InvocationFilter(statuses=OWNED_STATUSES, owner_id=owner_id), limit=_BATCH
        )
        for record in records:
            via = S.PENDING_RECOVERY if record.status is S.PENDING else S.RUNNING_RECOVERY
            self.app.orchestrator.recover(record.invocation_id, self.holder.runner_id, reason, via=via)
        return len(records)

    def recover_stuck_pending(self, now: float) -> int:
        limit = now - self.app.conf.max_pending_seconds
        records, _ = self.app.state_backend.query(
            InvocationFilter(statuses=frozenset({S.PENDING}), updated_before=limit), limit=_BATCH
        )
        for record in records:
            self.app.orchestrator.recover(
                record.invocation_id, self.holder.runner_id, "PENDING for too long", via=S.PENDING_RECOVERY
            )
        return len(records)

    def reroute_lost_messages(self, now: float) -> int:
        """Queued invocations whose broker message was lost (between store and send) go again.

        Decided from the state side, so any broker serves it: an invocation queued for longer than
        ``max_pending_seconds`` while its queue holds no waiting message has none. Sending again
        is always safe (a second delivery finds the invocation claimed); while a queue is busy, its
        lost messages are found once it drains.
        """
        limit = now - self.app.conf.max_pending_seconds
        records, _ = self.app.state_backend.query(
            InvocationFilter(statuses=QUEUED_STATUSES, updated_before=limit), limit=_BATCH
        )
        empty = {queue for queue in {r.queue for r in records} if self.app.broker.depth(queue) == 0}
        lost = [r for r in records if r.queue in empty]
        for record in lost:
            self.app.orchestrator.move(
                record.invocation_id, S.REROUTED, self.holder.runner_id, reason="broker message lost"
            )
        return len(lost)

    def release_concurrency_controlled(self) -> int:
        records, _ = self.app.state_backend.query(
            InvocationFilter(statuses=frozenset({S.CONCURRENCY_CONTROLLED})), limit=_BATCH
        )
        released = 0
        for record in records:
            if self.app.orchestrator.release_if_free(record):
                released += 1
        return released
