"""Redis broker: a sorted set per queue, a per-consumer in-flight hash, blocking on wake-up lists.

``receive`` moves the best waiting message across the requested queues into the consumer's
in-flight hash in one script, so a message is always either waiting or in flight: a consumer that
dies holding messages loses nothing, ``requeue_consumer`` gives them back. When the queues are
empty a consumer blocks in BLPOP on the queues' wake-up lists (one token per message sent), then
tries again: no polling, and a token pushed between the try and the BLPOP is not missed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.records import Delivery

RECENT_EMPTY_S = 1.0  # a consumer that just found its queues empty goes straight to BLPOP
MAX_PRIORITY = 4095  # |priority| bound that keeps queue scores exact (score = -priority * 2**40 + seq)
_CHUNK = 500
T = TypeVar("T")


def _clamp(priority: int) -> int:
    return max(-MAX_PRIORITY, min(MAX_PRIORITY, int(priority)))


class RedisBroker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.keys = conn.keys
        self._local = threading.local()  # (consumer, queues, when) of this thread's last empty take

    def __repr__(self) -> str:
        return f"<RedisBroker {self.conn.url} {self.keys.prefix}>"

    def send(self, queue: str, invocation_id: str, priority: int = 0) -> None:
        self.send_many([(queue, invocation_id, priority)])

    def send_many(self, items: Sequence[tuple[str, str, int]]) -> None:
        for start in range(0, len(items), _CHUNK):
            args: list[Any] = [self.keys.prefix]
            for queue, invocation_id, priority in items[start : start + _CHUNK]:
                args += [queue, invocation_id, _clamp(priority)]
            self.conn.eval("send", [], args)

    def _take(self, queues: Sequence[str], consumer_id: str) -> Delivery | None:
        reply = self.conn.eval("receive", [], [self.keys.prefix, consumer_id, *queues])
        if not reply:
            return None
        invocation_id, queue, seq = reply
        return Delivery(invocation_id, queue, f"{seq}:{consumer_id}")

    def receive(self, queues: Sequence[str], consumer_id: str, timeout_s: float) -> Delivery | None:
        return self.wait_for(queues, consumer_id, timeout_s, lambda: self._take(queues, consumer_id))

    def wait_for(
        self,
        queues: Sequence[str],
        consumer_id: str,
        timeout_s: float,
        attempt: Callable[[], T | None],
        hand: tuple[str, Callable[[str], T | None]] | None = None,
    ) -> T | None:
        """``attempt()`` (a script taking from ``queues``) until it returns something or time is up.

        Between attempts the consumer blocks on the queues' wake-up lists, never polls. With
        ``hand`` (a list key and a decoder) it blocks on that list first: an item there is work
        handed over already taken (``register.lua``), returned decoded without an attempt (None from the
        decoder: nothing handed, block again). That pop is never resent (``retries=0``): a failure is
        the caller's to recover.
        """
        if not queues:
            return None
        # Every message added to a queue pushes a wake-up token, so after an empty take of these
        # queues a token (not another take) is what tells that something arrived.
        empty = getattr(self._local, "empty", None)
        just_empty = (
            timeout_s > 0
            and empty is not None
            and empty[:2] == (consumer_id, tuple(queues))
            and time.monotonic() - empty[2] < RECENT_EMPTY_S
        )
        if not just_empty:
            taken = self.attempt(queues, consumer_id, attempt)
            if taken is not None or timeout_s <= 0:
                return taken
        deadline = time.monotonic() + timeout_s
        wake_keys = [self.keys.wake(q) for q in queues]
        if hand is not None:
            wake_keys.insert(0, hand[0])
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            block_s = max(0.01, min(remaining, self.conn.max_block_s))
            woken = self._block(wake_keys, block_s, resend=hand is None)
            if hand is not None and woken is not None and woken[0] == hand[0]:
                handed = hand[1](woken[1])
                if handed is not None:
                    return handed
                continue  # a wake-up with nothing handed (a marker): block again
            if woken is None and deadline - time.monotonic() <= 0.01:
                return None  # the caller's next receive starts with a take: nothing waits unseen for long
            taken = self.attempt(queues, consumer_id, attempt)  # also between long blocks: a token may have gone astray
            if taken is not None:
                return taken

    def attempt(self, queues: Sequence[str], consumer_id: str, attempt: Callable[[], T | None]) -> T | None:
        taken = attempt()
        if taken is None:
            self._local.empty = (consumer_id, tuple(queues), time.monotonic())
        return taken

    def _block(self, wake_keys: list[str], timeout_s: float, resend: bool = True) -> Any:
        return self.conn.command("BLPOP", *wake_keys, timeout_s, **({} if resend else {"retries": 0}))

    def ack(self, delivery: Delivery) -> None:
        seq, _, consumer = delivery.token.partition(":")
        keys = [f"{self.keys.prefix}b:fly:{consumer}", f"{self.keys.prefix}b:loc"]
        self.conn.defer("ack", keys, [seq, delivery.invocation_id, f"@{consumer}\t{seq}"])

    def nack(self, delivery: Delivery) -> None:
        seq, _, consumer = delivery.token.partition(":")
        self.conn.eval("nack", [f"{self.keys.prefix}b:fly:{consumer}"], [self.keys.prefix, seq])

    def requeue_consumer(self, consumer_id: str) -> int:
        keys = [f"{self.keys.prefix}b:fly:{consumer_id}"]
        return int(self.conn.eval("requeue", keys, [self.keys.prefix]))

    def depth(self, queue: str | None = None) -> int:
        def read(client: Any) -> int:
            names = [queue] if queue is not None else sorted(client.smembers(self.keys.queues))
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.zcard(self.keys.queue(name))
            return sum(pipe.execute())

        return int(self.conn.run(read))

    def purge(self) -> None:
        self.conn.delete_prefix(self.keys.port("b"))

    def close(self) -> None:
        pass
