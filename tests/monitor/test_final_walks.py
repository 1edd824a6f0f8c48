"""FinalWalks: which walks of final invocations a monitor keeps for its next timeline, and for how long."""

from __future__ import annotations

from dataclasses import replace

from pynenc_nb.monitor.final_walks import FinalWalk, FinalWalks
from pynenc_nb.monitor.models import TimelineInvocation
from pynenc_nb.monitor.timeline import _Span
from pynenc_nb.records import InvocationRecord
from tests.conformance.builders import S, record


def _final(status: S = S.SUCCESS, at: float = 12.0) -> InvocationRecord:
    return replace(record(), status=status, owner_id="r1", updated_at=at)


def _walk(rec: InvocationRecord, last: tuple[S, str | None, float]) -> FinalWalk:
    history = ((S.REGISTERED, None, 10.0), (S.RUNNING, "r1", 11.0), last)
    facts = TimelineInvocation(
        rec.invocation_id, rec.task_id, rec.status, {}, None, None, 10.0, rec.updated_at, {}, 2.0, "hover"
    )
    spans = [_Span("r1", 11.0, 1, 3, 12.0)]
    return FinalWalk(rec.updated_at, rec.status, history, [11.0, 12.0, 12.0], spans, facts)


def test_a_walk_is_kept_only_when_its_history_ends_with_the_records_final_change() -> None:
    walks = FinalWalks()
    done = _final()
    # A history that ends as the record says is kept, and found while the record is unchanged
    walks.put_many([(done, _walk(done, (S.SUCCESS, "r1", 12.0)))])
    assert walks.get(done) is not None
    # A record that shows another last change (or status) does not get it
    assert walks.get(replace(done, updated_at=13.0)) is None
    assert walks.get(replace(done, status=S.FAILED)) is None
    # A history read before (or after) the record's final change, or of a live record, is not kept
    other = _final()
    walks.put_many([(other, _walk(other, (S.RUNNING, "r1", 11.5)))])
    running = replace(_final(), status=S.RUNNING)
    walks.put_many([(running, _walk(running, (S.RUNNING, "r1", 12.0)))])
    assert walks.get(other) is None and walks.get(running) is None and len(walks) == 1


def test_the_oldest_walks_go_first_past_the_capacity_which_follows_the_window() -> None:
    walks = FinalWalks(capacity=3)
    kept = [_final(at=12.0) for _ in range(4)]
    for rec in kept:
        walks.put_many([(rec, _walk(rec, (S.SUCCESS, "r1", 12.0)))])
    assert len(walks) == 3 and walks.get(kept[0]) is None and walks.get(kept[3]) is not None
    walks.fit(10)  # a window of 10 invocations: room for two of them
    assert walks.capacity == 20
    walks.fit(10**9)
    assert walks.capacity == 12_000


def test_monitors_of_one_backend_share_their_walks_and_others_do_not() -> None:
    from pynenc_nb.monitor.final_walks import shared_walks

    class Backend:
        pass

    class Slotted:
        __slots__ = ()

    one, other = Backend(), Backend()
    assert shared_walks(one) is shared_walks(one)
    assert shared_walks(one) is not shared_walks(other)
    assert shared_walks(Slotted()) is not shared_walks(Slotted())  # no weak reference: walks of its own
