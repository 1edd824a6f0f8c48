"""WaitSteps on Redis: the writes of a runner's wait in two scripts instead of up to seven.

A wait answered in the waiting worker's own thread used to be ``add_waits``, the pause, the
target's claim and start, then its ending, ``remove_waits`` and the resume: seven round trips, each
a script with its own Lua start-up and change-log entry. ``wait_pause.lua`` and ``wait_resume.lua``
do the same compare-and-sets in the same order, in one atomic step each (Redis has no transaction
to group them in, as SQLite does: see ``blocking.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pynenc_nb.backends.redis.codec as codec
from pynenc_nb.backends.redis.invocations import RedisInvocations, request_args
from pynenc_nb.exceptions import InvocationNotFoundError
from pynenc_nb.invocation.status import FINAL_STATUSES
from pynenc_nb.ports.state import PausedWait
from pynenc_nb.records import TransitionRequest, TransitionResult

if TYPE_CHECKING:
    from pynenc_nb.records import InvocationRecord

_FINAL_SET = "," + ",".join(status.value for status in FINAL_STATUSES) + ","


class RedisWaitSteps(RedisInvocations):
    """The invocations, plus the two wait steps (which use their static-field cache and replies)."""

    def pause_waiting(
        self,
        waiter_id: str,
        target_ids: Sequence[str],
        pause: TransitionRequest,
        first: tuple[TransitionRequest, TransitionRequest] | None,
        *,
        drop_final: bool = False,
    ) -> PausedWait:
        waiter_static = self.cached_static(waiter_id)
        args: list[Any] = [self.conn.keys.prefix, waiter_id, _want(waiter_static), *request_args(pause)]
        target_static: InvocationRecord | None = None
        if first is None:
            args += ["", "0", *[""] * 22]
        else:
            claim, start = first
            target_id = claim.change.invocation_id
            target_static = self.cached_static(target_id)
            args += [
                target_id,
                _want(target_static),
                *request_args(claim),
                *request_args(start, own_running_key=True),
            ]
        args.append(_FINAL_SET if drop_final else "")
        reply = self.conn.eval("wait_pause", [], [*args, *target_ids])
        if reply[0] == "final":
            return PausedWait(None, waited={})
        if reply[0] == "cycle":
            return PausedWait(list(reply[1]))
        if reply[0] == "missing":
            raise InvocationNotFoundError(f"invocation {waiter_id} does not exist", invocation_id=waiter_id)
        _, paused, pause_values, waiter_full, claimed, claim_values, target_full, started, start_values, found = reply
        waited = self._waited(found) if drop_final else None
        pause_result = self.reply_result(paused, pause_values, waiter_full, waiter_static)
        if not claimed or claimed == "missing":
            return PausedWait(None, pause_result, waited=waited)
        claim_result = self.reply_result(claimed, claim_values, target_full, target_static)
        start_result = self.reply_result(started, start_values, None, claim_result.record) if started else None
        return PausedWait(None, pause_result, claim_result, start_result, waited)

    def known_record(self, invocation_id: str) -> InvocationRecord | None:
        return self.cached_static(invocation_id)

    def _waited(self, found: Sequence[Any]) -> dict[str, InvocationRecord]:
        """The targets as the pause read them; one that vanished (or is no longer cached) keeps
        the record known before (its wait then finds out)."""
        waited: dict[str, InvocationRecord] = {}
        for index in range(0, len(found), 2):
            target_id, values = found[index], found[index + 1]
            static = self.cached_static(target_id)
            if static is not None:
                waited[target_id] = codec.with_values(static, *values) if values else static
        return waited

    def resume_waiting(
        self, waiter_id: str, endings: Sequence[TransitionRequest], resume: TransitionRequest
    ) -> tuple[list[TransitionResult | None], TransitionResult]:
        waiter_static = self.cached_static(waiter_id)
        args: list[Any] = [self.conn.keys.prefix, waiter_id, _want(waiter_static), *request_args(resume)]
        args += [self.storing_inbox(), str(len(endings))]
        statics: list[InvocationRecord | None] = []
        for ending in endings:
            ending_id = ending.change.invocation_id
            static = self.cached_static(ending_id)
            statics.append(static)
            request = request_args(ending)
            args += [ending_id, _want(static), str(len(request)), *request]
        try:
            replies, resumed, values, full = self.conn.eval("wait_resume", [], args)
        except BaseException:
            self.watcher.store_failed()
            raise
        stored: list[TransitionResult | None] = []
        for ending, reply, static in zip(endings, replies, statics, strict=True):
            if reply and reply[0] == "applied":
                self.stored_final(ending, reply[1])
            stored.append(self.reply_result(reply[0], reply[1], reply[2], static) if reply else None)
        if resumed == "missing":
            raise InvocationNotFoundError(f"invocation {waiter_id} does not exist", invocation_id=waiter_id)
        return stored, self.reply_result(resumed, values, full, waiter_static)


def _want(static: InvocationRecord | None) -> str:
    """Whether the script must return the record's static fields (not cached here)."""
    return "0" if static is not None else "1"
