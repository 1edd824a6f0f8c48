"""RabbitMQ broker: a durable classic priority queue per (app, queue), confirmed persistent messages.

Queues are ``pynenc.<app_id>.<queue>``, declared with ``x-max-priority`` (and ``x-expires`` when
``queue_expires_s`` is set). A message body is the invocation id; it is published persistent with
a publisher confirm, and ``send``/``send_many`` return once the messages are written, not
confirmed: a confirm is a server round trip plus its disk sync (about 1.4 ms here, half a sequential
call), and the invocation is already durable in the state store. The thread reads the confirms at
its next wait or receive, at a send with ``SETTLE_FROM`` outstanding, and when the broker closes
(waiting up to ``CLOSE_CONFIRM_S``); a
refused message (nack) is published again then, and the unconfirmed messages of a lost connection
are published again on the thread's next one (a duplicate is dropped by the claim). What a process
that died right after sending had not had confirmed, and the server lost, is sent again by the
services' lost-message reroute (an invocation queued past ``max_pending_seconds`` with its queue
empty). A sender more than ``MAX_UNCONFIRMED`` messages ahead of the server waits for them.

Priorities: RabbitMQ keeps ``PRIORITY_LEVELS`` (10) levels per queue. The port's integer priority
``p`` goes to level ``p + 2``, clamped to 0…9: priorities -2 to 7 keep their order, lower ones share
level 0 and higher ones level 9, oldest first among them. The dependents-first boost
(``blocking._boost``: the call's priority plus the number of invocations waiting on it) therefore
orders calls of priority 0 by up to 7 waiters; beyond that they are taken in arrival order at the
top level.

Receiving: what this thread was pushed comes first, then a ``basic.get`` per queue; only when
every queue is empty does the thread wait on its standing consumer (one per thread and set of
queues, started the first time it waits and kept, manual acks). Once that consumer stands on a
single queue, a timed receive skips the get and waits for the push (the work source of a pushing
broker receives only that way): the server pushes the highest-priority ready message as soon as
the deferred ack reopens the window, the same message a get would return, and a runner between
calls saves a round trip. The channel's prefetch is one message in all, and a pushed delivery's
ack is deferred until the thread next waits: while a
worker runs what it was pushed nothing else is pushed to it, so a runner busy with a long task
keeps no second message another runner could take, and a parent paused on its child never holds
that child's message (``release``, called when a worker is about to wait on other invocations,
also cancels the consumer and gives back anything pushed). A delivery is acked by the generic work
source once the claim is stored (pushed ones on the server a little later, as said); if the runner
dies first, its connection drops and the server requeues it. ``requeue_consumer`` gives back what
this process's threads hold for that consumer; a consumer in another process that died lost its
connection, so the server has requeued its messages already (0 is returned for those).

``depth()`` and ``purge()`` without a queue cover ``default`` and the queues this process has
used: AMQP cannot list queues.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import pika

from pynenc_nb.backends.rabbitmq.connection import Connections, Session, Settings
from pynenc_nb.exceptions import BackendError
from pynenc_nb.records import Delivery

PRIORITY_LEVELS = 10
PRIORITY_OFFSET = 2  # the level of priority 0: two levels below it for negative priorities
CONFIRM_TIMEOUT_S = 30.0
# Confirms are awaited lazily: a send returns once its messages are written, the confirms are
# read at the thread's next broker operation. Past this many outstanding, a send waits for them.
MAX_UNCONFIRMED = 1000
# A wait right after an empty ``basic.get`` (the work source tries without waiting, then waits)
# skips asking again: the consumer is about to be pushed whatever arrives.
RECENT_GET_S = 0.005
# A send reads the confirms that have arrived only with this many outstanding: otherwise the
# thread's next wait or receive reads them, and a caller sending one call at a time makes no pass
# through pika's event loop per send (a fifth of a sequential call's time here).
SETTLE_FROM = 64


def level_of(priority: int) -> int:
    return max(0, min(PRIORITY_LEVELS - 1, int(priority) + PRIORITY_OFFSET))


class RabbitMQBroker:
    def __init__(self, settings: Settings, app_id: str) -> None:
        self.settings = settings
        self.prefix = f"pynenc.{app_id}."
        self.conns = Connections(settings, self._on_message)
        self.conns.resend = self._publish_declared
        self._known: set[str] = {"default"}
        self._arguments: dict[str, Any] = {"x-max-priority": PRIORITY_LEVELS - 1}
        if settings.queue_expires_s is not None:
            self._arguments["x-expires"] = max(1000, int(settings.queue_expires_s * 1000))

    def __repr__(self) -> str:
        return f"<RabbitMQBroker {self.settings.redacted} {self.prefix}*>"

    def _name(self, queue: str) -> str:
        self._known.add(queue)
        return self.prefix + queue

    def _declare(self, session: Session, name: str) -> int:
        """Declare (idempotent, never a 404 that would close the channel); the ready count."""
        frame = session.channel.queue_declare(name, durable=True, arguments=self._arguments)
        session.declared.add(name)
        return int(frame.method.message_count)

    def _ensure(self, session: Session, name: str) -> None:
        if name not in session.declared:
            self._declare(session, name)

    # --- sending

    def _publish_declared(self, session: Session, name: str, body: bytes, properties: Any) -> None:
        self._ensure(session, name)
        session.publish(name, body, properties)

    def send(self, queue: str, invocation_id: str, priority: int = 0) -> None:
        self.send_many([(queue, invocation_id, priority)])

    def send_many(self, items: Sequence[tuple[str, str, int]]) -> None:
        if not items:
            return
        messages = [(self._name(q), i.encode(), level_of(p)) for q, i, p in items]

        def publish(session: Session) -> None:
            if len(session.unconfirmed) >= SETTLE_FROM:
                session.settle_confirms()
            for name, body, level in messages:
                self._ensure(session, name)
                session.publish(name, body, pika.BasicProperties(delivery_mode=2, priority=level))
            if len(session.unconfirmed) > MAX_UNCONFIRMED:  # a sender far ahead of the server waits
                session.wait_confirms(CONFIRM_TIMEOUT_S)

        self.conns.run(publish)  # a batch cut by a lost connection is sent again: duplicates are dropped by the claim

    # --- receiving

    def _on_message(self, session: Session, method: Any, properties: Any, body: bytes) -> None:
        name = next((n for n, tag in session.consumers.items() if tag == method.consumer_tag), method.routing_key)
        session.buffer.append((name, method.delivery_tag, body.decode()))
        session.levels[method.delivery_tag] = int(properties.priority or 0)

    def _delivery(
        self, session: Session, name: str, tag: int, invocation_id: str, level: int, consumer_id: str, pushed: bool
    ) -> Delivery:
        session.held[tag] = (consumer_id, name, invocation_id, level, pushed)
        return Delivery(invocation_id, name.removeprefix(self.prefix), f"{session.serial}:{tag}")

    def _pop(self, session: Session, consumer_id: str) -> Delivery | None:
        if not session.buffer:
            return None
        best = max(range(len(session.buffer)), key=lambda i: (session.levels.get(session.buffer[i][1], 0), -i))
        name, tag, invocation_id = session.buffer.pop(best)
        return self._delivery(session, name, tag, invocation_id, session.levels.pop(tag, 0), consumer_id, True)

    def _get(self, session: Session, names: Sequence[str], consumer_id: str) -> Delivery | None:
        for name in names:
            self._ensure(session, name)
            method, properties, body = session.channel.basic_get(name, auto_ack=False)
            if method is not None:
                level = int(properties.priority or 0)
                return self._delivery(session, name, method.delivery_tag, body.decode(), level, consumer_id, False)
        session.last_empty_get = time.monotonic()
        return None

    def _consume(self, session: Session, key: tuple[str, tuple[str, ...]]) -> None:
        for name in key[1]:
            self._ensure(session, name)
            session.consumers[name] = session.channel.basic_consume(
                name, on_message_callback=session.deliver, auto_ack=False
            )
        session.consuming = key

    def _flush_acks(self, session: Session) -> None:
        """Send the deferred acks of pushed deliveries: the prefetch window opens again."""
        while session.deferred:
            session.channel.basic_ack(session.deferred.pop())

    def _stop_consuming(self, session: Session) -> int:
        """Cancel this thread's consumers and give back what they pushed; how many were given back."""
        self._flush_acks(session)
        for tag in session.consumers.values():
            session.channel.basic_cancel(tag)  # pika rejects (requeues) deliveries not yet dispatched
        session.consumers.clear()
        session.consuming = None
        pushed = [(tag, name, invocation_id, session.levels.pop(tag, 0)) for name, tag, invocation_id in session.buffer]
        session.buffer.clear()
        self._republish(session, pushed)
        return len(pushed)

    def _republish(self, session: Session, messages: Sequence[tuple[int, str, str, int]]) -> None:
        """Give messages back as new ones, confirmed, then ack the originals.

        Not ``basic.nack(requeue)``: the queue answers a ``depth`` query ahead of a requeue it has
        not applied yet, while a confirmed publish is in the queue before its confirm comes back.
        The message goes behind those of its priority (as the port allows)."""
        if not messages:
            return
        for _, name, invocation_id, level in messages:
            session.publish(name, invocation_id.encode(), pika.BasicProperties(delivery_mode=2, priority=level))
        session.wait_confirms(CONFIRM_TIMEOUT_S)
        for tag, _, _, _ in messages:
            session.channel.basic_ack(tag)

    def receive(self, queues: Sequence[str], consumer_id: str, timeout_s: float) -> Delivery | None:
        if not queues:
            return None
        names = tuple(self._name(q) for q in queues)
        key = (consumer_id, names)
        deadline = time.monotonic() + max(0.0, timeout_s)
        self.conns.sweep(every_s=1.0)

        def take(session: Session) -> Delivery | None:
            if session.consuming is not None and session.consuming != key:
                self._stop_consuming(session)  # another consumer id or other queues on this thread
            found = self._pop(session, consumer_id)
            if found is not None:
                return found
            asked_lately = time.monotonic() - session.last_empty_get <= RECENT_GET_S
            if timeout_s <= 0 or not (asked_lately or self._standing(session, key)):
                found = self._get(session, names, consumer_id)
                if found is not None or time.monotonic() >= deadline:
                    return found
            self._flush_acks(session)
            if session.consuming is None:
                self._consume(session, key)
            while not session.buffer and (remaining := deadline - time.monotonic()) > 0:
                session.connection.process_data_events(time_limit=min(remaining, 1.0))
            return self._pop(session, consumer_id)

        return self.conns.run(take)

    @staticmethod
    def _standing(session: Session, key: tuple[str, tuple[str, ...]]) -> bool:
        """This thread's consumer already stands on this one queue, with no pushed delivery still
        unsettled: once its deferred ack is out, the server pushes the highest-priority ready
        message, what a ``basic.get`` would return, so a wait asks for nothing first. (With several
        queues a get goes through them in the caller's order; a push comes from any.)"""
        return (
            session.consuming == key
            and len(key[1]) == 1
            and not any(entry[4] for entry in session.held.values() if entry[0] == key[0])
        )

    def release(self, consumer_id: str) -> int:
        """A worker of ``consumer_id`` on this thread is about to wait on other invocations: cancel
        its standing consumer and give back anything pushed to it (its child may be among them)."""
        session = self.conns.current()
        if session is None or session.consuming is None or session.consuming[0] != consumer_id:
            return 0
        return self.conns.run(lambda s: self._stop_consuming(s) if s is session else 0)

    # --- settling

    def _settle(self, delivery: Delivery, requeue: bool | None) -> None:
        """Ack (None) or give back (requeue=True) on the session that received the delivery."""
        serial_text, _, tag_text = delivery.token.partition(":")
        serial, tag = int(serial_text), int(tag_text)
        session = self.conns.current()
        if session is not None and session.serial == serial:
            self._settle_on(session, tag, requeue)
            return
        owner = self.conns.find(serial)
        if owner is not None and owner.usable:  # received by another thread: its thread does it
            owner.connection.add_callback_threadsafe(functools.partial(self._settle_on, owner, tag, requeue))
        # otherwise its session is gone and the server has requeued the message already

    def _settle_on(self, session: Session, tag: int, requeue: bool | None) -> None:
        if tag not in session.held:
            return
        try:
            _, name, invocation_id, level, pushed = session.held[tag]
            if requeue is None and pushed:
                session.deferred.append(tag)  # acked on the server when this thread next waits
            elif requeue is None:
                session.channel.basic_ack(tag)
            else:
                self._republish(session, [(tag, name, invocation_id, level)])
        except (pika.exceptions.AMQPError, BackendError, OSError):
            self.conns.drop(session)  # the server requeues it; a duplicate is dropped by the claim
            return
        del session.held[tag]

    def ack(self, delivery: Delivery) -> None:
        self._settle(delivery, None)

    def nack(self, delivery: Delivery) -> None:
        self._settle(delivery, True)

    def _give_back(self, session: Session, consumer_id: str) -> int:
        count = 0
        self._flush_acks(session)  # acked through the port: not given back
        if session.consuming is not None and session.consuming[0] == consumer_id:
            count += self._stop_consuming(session)
        for tag in [t for t, held in session.held.items() if held[0] == consumer_id]:
            self._settle_on(session, tag, True)
            count += 1
        return count

    def requeue_consumer(self, consumer_id: str) -> int:
        self.conns.sweep()
        count = 0
        session = self.conns.current()
        if session is not None:
            count += self.conns.run(lambda s: self._give_back(s, consumer_id) if s is session else 0)
        for other in self.conns.others():
            held = sum(1 for entry in list(other.held.values()) if entry[0] == consumer_id)
            if other.consuming is not None and other.consuming[0] == consumer_id:
                held += len(other.buffer)
            if held and other.usable:
                other.connection.add_callback_threadsafe(functools.partial(self._give_back, other, consumer_id))
                count += held
        return count

    # --- inspecting and cleaning

    def depth(self, queue: str | None = None) -> int:
        """Ready messages on the server (not those delivered and unacked), this thread's sends
        included: their confirms are awaited first."""
        names = [self._name(queue)] if queue is not None else [self.prefix + q for q in sorted(self._known)]

        def count(session: Session) -> int:
            session.wait_confirms(CONFIRM_TIMEOUT_S)  # a confirmed message is in its queue: counted
            return sum(self._declare(session, name) for name in names)

        return self.conns.run(count)

    def purge(self) -> None:
        """Empty this app's known queues; what this thread holds is dropped too."""

        def purge(session: Session) -> None:
            session.wait_confirms(CONFIRM_TIMEOUT_S)  # what this thread sent is in its queue, purged too
            self._stop_consuming(session)  # its deferred acks go out first
            for tag in list(session.held):
                session.channel.basic_ack(tag)
            session.held.clear()
            for name in sorted(self.prefix + q for q in self._known):
                self._ensure(session, name)
                session.channel.queue_purge(name)

        self.conns.run(purge)

    def delete_queues(self) -> None:
        """Delete this app's known queues (tests and throwaway apps clean up with it)."""

        def delete(session: Session) -> None:
            self._stop_consuming(session)
            for name in sorted(self.prefix + q for q in self._known):
                session.channel.queue_delete(name)
            session.declared.clear()

        self.conns.run(delete)

    def close(self) -> None:
        """Give back what this thread holds (others' are given back by their connection's close)."""
        session = self.conns.current()
        if session is not None:
            try:
                self._stop_consuming(session)
                self._republish(session, [(tag, *entry[1:4]) for tag, entry in session.held.items()])
                session.held.clear()
            except (pika.exceptions.AMQPError, BackendError, OSError):
                pass  # the connection is gone: the server has requeued them
        self.conns.close()
