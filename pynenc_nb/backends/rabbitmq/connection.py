"""Connections to RabbitMQ: one ``BlockingConnection`` per thread, rebuilt with backoff when lost.

pika's ``BlockingConnection`` (and its channels) may only be used by the thread that made it, so
every thread that touches the broker gets its own ``Session``: a connection with one channel in
publisher-confirm mode that also consumes, gets, acks and declares. Nothing is shared between
threads except the registry of sessions, under a lock. Work reaching another thread's session
(an ack of a delivery received there, a consumer declared dead) goes through
``add_callback_threadsafe``, the one thread-safe call pika has, and runs the next time that thread
talks to the server. A session whose thread has ended is closed by whichever thread notices
(the owner can no longer use it), so the server gives its unacked messages back at once. Writes
(publishes, acks) go to the socket at once, a publish's frames in one piece (``_write_at_once``);
what the server sends is read when the thread next waits, receives or checks its confirms.

Every operation runs through ``Connections.run``: on a lost connection, a blocked connection past
``blocked_connection_timeout`` or a channel closed by the server, the thread's session is
dropped and the operation runs again on a new one, with exponential backoff, until
``reconnect_timeout_s`` has passed. Deliveries of a dropped session are already back in their
queue on the server; their tokens name the old session, so acking them later does nothing.

URL options (the query string), besides pika's own (``heartbeat``, ``blocked_connection_timeout``,
``ssl_options`` for ``amqps://`` …): ``reconnect_timeout_s`` (default 60) and ``queue_expires_s`` (queues unused that long are
deleted by the server: for throwaway apps and tests; off by default).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pynenc_nb.conf.urls import redact_text, redact_url
from pynenc_nb.exceptions import BackendError, BackendUnavailableError, ConfigError, MissingDependencyError

try:
    import pika
    import pika.exceptions
except ImportError as exc:  # pragma: no cover - exercised by a test that hides the package
    raise MissingDependencyError("RabbitMQ backend", "rabbitmq") from exc

T = TypeVar("T")
logger = logging.getLogger("pynenc_nb.backends.rabbitmq")

_DEFAULTS = {"heartbeat": "30", "blocked_connection_timeout": "60", "socket_timeout": "10", "stack_timeout": "15"}
_OURS = {"reconnect_timeout_s": float, "queue_expires_s": float}
# Errors after which a new connection may succeed; a channel closed for a bad request is not one.
_FATAL_REPLY_CODES = {403, 406}
_serials = itertools.count(1)
CLOSE_CONFIRM_S = 5.0  # how long closing waits for this thread's outstanding confirms


@dataclass(frozen=True)
class Settings:
    url: str  # for pika: our own options removed, pika's defaults added
    redacted: str
    reconnect_timeout_s: float = 60.0
    queue_expires_s: float | None = None

    @classmethod
    def from_url(cls, url: str) -> Settings:
        parts = urlsplit(url)
        pika_query: dict[str, str] = dict(_DEFAULTS)
        ours: dict[str, Any] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name in _OURS:
                try:
                    ours[name] = _OURS[name](value)
                except ValueError:
                    raise ConfigError(
                        f"broker_url option {name}={value!r} should be a {_OURS[name].__name__}",
                        variable="broker_url",
                        value=redact_url(url),
                    ) from None
            else:
                pika_query[name] = value
        pika_url = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(pika_query), ""))
        try:
            pika.URLParameters(pika_url)
        except ValueError as exc:
            raise ConfigError(
                f"broker_url {redact_url(url)!r}: {redact_text(str(exc))}", variable="broker_url", value=redact_url(url)
            ) from None
        return cls(url=pika_url, redacted=redact_url(url), **ours)


def _nothing() -> None:
    pass


def _write_at_once(connection: Any) -> bool:
    """Make this connection write what it is given at once, in one piece per call.

    pika hands each frame of a publish (method, header, body) to its transport separately, and the
    transport only buffers them: the blocking layer then turns the event loop once (a poll, a
    writability watch set and removed) and sends them in three system calls, each waking the
    server. For a one-at-a-time call that loop is about half of pika's cost. Here the frames of one
    call go out joined, straight to the socket when nothing is buffered before them; a partial or
    refused write leaves the rest to pika's own buffered path, and so does any error (its event
    loop then sees and reports it). Reading is untouched: what arrives (confirms, heartbeats) is
    read at the next wait, receive or confirm check (``SETTLE_FROM``).

    pika's transport and frame output are internals: where they are not as expected (another pika
    version, TLS, whose socket writes differently) nothing is changed and False is returned.
    """
    impl: Any = getattr(connection, "_impl", None)
    transport: Any = getattr(impl, "_transport", None)
    if (
        type(transport).__name__ != "_AsyncPlaintextTransport"
        or not all(hasattr(transport, name) for name in ("_sock", "_tx_buffers", "_state", "_STATE_ACTIVE", "write"))
        or not all(
            hasattr(impl, name)
            for name in ("_output_marshaled_frames", "_adapter_emit_data", "bytes_sent", "frames_sent")
        )
    ):
        return False
    buffered_write = transport.write
    sock = transport._sock
    active = transport._STATE_ACTIVE

    def write(data: bytes) -> None:
        if transport._tx_buffers or transport._state != active:
            buffered_write(data)
            return
        try:
            sent = sock.send(data)
        except OSError:  # full (EAGAIN) or broken: pika's path buffers it and reports a failure
            sent = 0
        if sent < len(data):
            buffered_write(data[sent:])

    def output(frames: Any) -> None:
        data = b"".join(frames)
        impl.bytes_sent += len(data)
        impl.frames_sent += len(frames)
        impl._adapter_emit_data(data)

    transport.write = write
    impl._output_marshaled_frames = output
    return True


class Session:
    """One thread's connection and channel, and what that thread holds on them."""

    def __init__(self, settings: Settings, on_message: Callable[[Session, Any, Any, bytes], None]) -> None:
        self.serial = next(_serials)
        self._waiting = False  # inside wait_until: a confirm or a selection must end its wait
        self.pid = os.getpid()
        self.thread = threading.current_thread()
        self.connection = pika.BlockingConnection(pika.URLParameters(settings.url))
        self.writes_at_once = _write_at_once(self.connection)
        try:
            self.channel = self.connection.channel()
            # One pushed message in flight per channel (whatever its consumers): while a worker runs
            # what it was pushed, that delivery stays unacked (``deferred``) and nothing else is pushed.
            self.channel.basic_qos(prefetch_count=1, global_qos=True)
            # published, not yet confirmed: seq -> (queue name, body, properties), kept to publish
            # again if the server refuses one (nack) or the connection is lost first
            self.unconfirmed: dict[int, tuple[str, bytes, Any]] = {}
            self.refused: list[tuple[str, bytes, Any]] = []  # nacked, to publish again
            self._published = 0
            selected: list[bool] = []

            def on_selected(_frame: Any) -> None:
                selected.append(True)
                self._wake()

            # BlockingChannel.confirm_delivery() waits for each message's confirm; turning confirms
            # on beneath it lets a batch be published first and its confirms awaited together.
            self.channel._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=on_selected)
            if not self.wait_until(lambda: bool(selected), settings.reconnect_timeout_s):
                raise pika.exceptions.AMQPConnectionError("confirm.select unanswered")
        except BaseException:
            self.close()
            raise
        self.on_message = on_message
        self.declared: set[str] = set()
        self.consumers: dict[str, str] = {}  # queue name -> consumer tag
        self.consuming: tuple[str, tuple[str, ...]] | None = None  # (consumer id, queue names)
        self.buffer: list[tuple[str, int, str]] = []  # pushed, not handed out: (queue name, tag, id)
        self.levels: dict[int, int] = {}  # buffered delivery tag -> message priority level
        # handed out, not acked: delivery tag -> (consumer id, queue name, invocation id, level, pushed)
        self.held: dict[int, tuple[str, str, str, int, bool]] = {}
        # pushed deliveries acked through the port but not yet on the server: their acks go out
        # when this thread next waits for a push, so the prefetch window opens only then
        self.deferred: list[int] = []
        self.last_empty_get = 0.0  # when a basic.get here last found every queue empty

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tags = (
            [tag for tag in self.unconfirmed if tag <= method.delivery_tag]
            if method.multiple
            else [method.delivery_tag]
        )
        settled = [self.unconfirmed.pop(tag) for tag in tags if tag in self.unconfirmed]
        if isinstance(method, pika.spec.Basic.Nack):
            self.refused.extend(settled)
        if not self.unconfirmed:
            self._wake()

    def _wake(self) -> None:
        """End the current ``process_data_events`` wait of ``wait_until``: a frame handled beneath
        the blocking layer (a confirm) is not an event it returns for, a callback queued this way
        is. Outside such a wait (a confirm read by a publish's own poll) there is nothing to end,
        and the queued callback would cost a write to pika's wake-up socket and a read back."""
        if self._waiting:
            self.connection.add_callback_threadsafe(_nothing)

    def publish(self, name: str, body: bytes, properties: Any) -> None:
        self._published += 1
        # first: the confirm may be read while this publish is written
        self.unconfirmed[self._published] = (name, body, properties)
        self.channel.basic_publish("", name, body, properties)

    def republish_refused(self) -> None:
        """Publish again what the server refused (a nack), its queue declared first (``resend``);
        it is confirmed like any other."""
        while self.refused:
            self.resend(*self.refused[0])
            self.refused.pop(0)

    def resend(self, name: str, body: bytes, properties: Any) -> None:
        """Publish a message again; ``Connections`` replaces it by the broker's publish that
        declares the queue first (it may have gone: an expired queue, a node restarted bare)."""
        self.publish(name, body, properties)

    def settle_confirms(self) -> None:
        """Read the confirms that have arrived, without waiting (what they refuse is published
        again when the operation ends: ``Connections.run``)."""
        self.connection.process_data_events(time_limit=0)

    def wait_confirms(self, timeout_s: float) -> None:
        """Until the server has confirmed every message published on this session (refused ones
        are published again and waited for too)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.wait_until(lambda: not self.unconfirmed, deadline - time.monotonic()):
                raise pika.exceptions.AMQPConnectionError("no publisher confirm in time")
            if not self.refused:
                return
            logger.warning("RabbitMQ refused %d message(s) (publisher nack); sending them again", len(self.refused))
            self.republish_refused()

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        self._waiting = True
        try:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.connection.process_data_events(time_limit=min(remaining, 1.0))
        finally:
            self._waiting = False
        return True

    def deliver(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self.on_message(self, method, properties, body)

    @property
    def usable(self) -> bool:
        return self.pid == os.getpid() and self.connection.is_open and self.channel.is_open

    def close(self) -> None:
        """Close quietly: the server requeues whatever this session had not acked."""
        if self.pid != os.getpid():
            return  # a forked child never touches its parent's socket
        try:
            if self.connection.is_open:
                self.connection.close()
        except Exception as exc:  # already broken: nothing more to give back
            logger.debug("closing a RabbitMQ connection: %s", exc)


class Connections:
    """The sessions of this process, one per thread, and the retry loop around every operation."""

    def __init__(self, settings: Settings, on_message: Callable[[Session, Any, Any, bytes], None]) -> None:
        self.settings = settings
        self.on_message = on_message
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: dict[int, Session] = {}  # serial -> session
        self._connected_once = False
        self._last_sweep = 0.0
        # the broker's publish that declares the queue first, for messages sent again
        self.resend: Callable[[Session, str, bytes, Any], None] | None = None

    def session(self) -> Session:
        session: Session | None = getattr(self._local, "session", None)
        if session is not None and session.usable:
            return session
        if session is not None:
            self.drop(session)
        session = Session(self.settings, self.on_message)
        self._connected_once = True
        self._local.session = session
        with self._lock:
            self._sessions[session.serial] = session
        if self.resend is not None:
            session.resend = functools.partial(self.resend, session)  # type: ignore[method-assign]
        self.sweep()
        return session

    def _resend_held(self, session: Session) -> None:
        """What this thread's lost connections left unconfirmed, and what the server refused:
        published again on ``session`` (a duplicate is dropped by the claim)."""
        carried: list[tuple[str, bytes, Any]] = getattr(self._local, "carried", [])
        while carried:
            session.resend(*carried[0])
            carried.pop(0)
        session.republish_refused()

    def current(self) -> Session | None:
        """This thread's session, if it has a usable one (no connection is made)."""
        session: Session | None = getattr(self._local, "session", None)
        return session if session is not None and session.usable else None

    def find(self, serial: int) -> Session | None:
        with self._lock:
            return self._sessions.get(serial)

    def others(self) -> list[Session]:
        """Live sessions of other threads of this process."""
        me = threading.current_thread()
        with self._lock:
            return [s for s in self._sessions.values() if s.thread is not me and s.pid == os.getpid()]

    def drop(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.serial, None)
        if getattr(self._local, "session", None) is session:
            self._local.session = None
            # the server may not have them: the thread's next session sends them again (a
            # duplicate is dropped by the claim)
            pending = [*session.unconfirmed.values(), *session.refused]
            session.unconfirmed.clear()
            session.refused.clear()
            if pending:
                self._local.carried = [*getattr(self._local, "carried", []), *pending]
        session.close()

    def sweep(self, every_s: float = 0.0) -> None:
        """Close the sessions of threads that have ended, so their unacked messages go back now."""
        now = time.monotonic()
        if now - self._last_sweep < every_s:
            return
        self._last_sweep = now
        with self._lock:
            dead = [s for s in self._sessions.values() if not s.thread.is_alive() or s.pid != os.getpid()]
            for session in dead:
                del self._sessions[session.serial]
        for session in dead:
            session.close()

    def run(self, operation: Callable[[Session], T]) -> T:
        """``operation`` on this thread's session, again on a new one after a connection loss."""
        deadline: float | None = None
        delay = 0.05
        while True:
            session: Session | None = None
            try:
                session = self.session()
                self._resend_held(session)
                result = operation(session)
                if session.refused:  # nacks read during the operation (a receive, an ack)
                    session.republish_refused()
                return result
            except (pika.exceptions.ProbableAuthenticationError, pika.exceptions.AuthenticationError) as exc:
                if session is not None:
                    self.drop(session)
                raise BackendUnavailableError(
                    f"RabbitMQ at {self.settings.redacted} refused the credentials of the URL: check the user "
                    f"name and password in broker_url ({redact_text(repr(exc))})",
                    url=self.settings.redacted,
                ) from exc
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code in _FATAL_REPLY_CODES:
                    if session is not None:
                        self.drop(session)
                    raise BackendError(f"RabbitMQ at {self.settings.redacted} refused: {exc.reply_text}") from exc
                failure: Exception = exc
            except (pika.exceptions.AMQPError, BackendError, OSError) as exc:
                failure = exc
            if session is not None:
                self.drop(session)
            now = time.monotonic()
            if deadline is None:
                limit = (
                    self.settings.reconnect_timeout_s
                    if self._connected_once
                    else min(10.0, self.settings.reconnect_timeout_s)
                )
                deadline = now + limit
                logger.warning("RabbitMQ at %s: %s; reconnecting", self.settings.redacted, redact_text(repr(failure)))
            if now >= deadline:
                raise BackendUnavailableError(
                    f"RabbitMQ at {self.settings.redacted} is unreachable: {redact_text(repr(failure))}",
                    url=self.settings.redacted,
                ) from failure
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 2.0)

    def close(self) -> None:
        if getattr(self._local, "carried", None):  # a lost connection's messages: out before closing
            try:
                self.run(lambda session: session.wait_confirms(CLOSE_CONFIRM_S))
            except (pika.exceptions.AMQPError, BackendError, OSError) as exc:
                logger.warning(
                    "RabbitMQ at %s: closing with %d message(s) not sent again (the lost-message reroute will): %s",
                    self.settings.redacted,
                    len(self._local.carried),
                    redact_text(repr(exc)),
                )
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        me = threading.current_thread()
        for session in sessions:
            if session.thread is me and session.usable and (session.unconfirmed or session.refused):
                try:  # what this thread sent goes out confirmed before the connection closes
                    session.wait_confirms(CLOSE_CONFIRM_S)
                except (pika.exceptions.AMQPError, BackendError, OSError) as exc:
                    logger.warning("RabbitMQ at %s: closing with unconfirmed messages: %s", self.settings.redacted, exc)
            if session.thread is me or not session.thread.is_alive():
                session.close()
            else:
                try:
                    session.connection.add_callback_threadsafe(session.close)
                except Exception as exc:
                    logger.debug("closing another thread's RabbitMQ connection: %s", exc)
        self._local = threading.local()
