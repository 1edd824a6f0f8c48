"""One Redis client per backend: pooled connections, timeouts, retries, Lua scripts, error translation.

The pool is redis-py's: it checks the pid on every use, so a forked child opens its own sockets and
never talks over the parent's. Every call goes through :meth:`Connection.run`,
:meth:`Connection.command` or :meth:`Connection.eval`, which turn client errors into
``BackendUnavailableError`` / ``BackendError`` with the URL redacted. Inside
:meth:`Connection.group`, fire-and-forget scripts (``defer``) are sent in the same round trip as the
next script of the thread. A script sent with :meth:`Connection.send_ahead` goes out at once, and
its reply is read before the thread's next exchange: the thread goes on while the server works.

Scripts and hot commands go over the calling thread's own redis-py ``Connection`` (same URL, TLS,
auth and timeouts), not through the client object: on redis-py 8 the client layer costs about as
much per round trip as the round trip itself (measured: 225 µs against 105 µs for one EVALSHA).
Retries with backoff are ours there; every script is safe to resend.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from typing import Any, TypeVar

from pynenc_nb.backends.redis.keys import Keys, match_pattern
from pynenc_nb.conf.urls import redact_text, redact_url
from pynenc_nb.exceptions import BackendError, BackendUnavailableError, MissingDependencyError

try:
    import redis
    from redis.backoff import ExponentialBackoff, NoBackoff
    from redis.exceptions import NoScriptError, ResponseError
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised by a test that hides the package
    raise MissingDependencyError("Redis backend", "redis") from exc
try:
    import hiredis  # redis-py's own packer costs more than the round trip's syscalls
except ImportError:  # pragma: no cover - the redis extra installs hiredis
    hiredis = None  # type: ignore[assignment]


def _packed(conn: Any, commands: Sequence[Sequence[Any]]) -> list[bytes]:
    """Commands in the wire format, ready for ``send_packed_command``."""
    if hiredis is None:  # pragma: no cover
        return list(conn.pack_commands(commands))
    return [b"".join(hiredis.pack_command(tuple(command)) for command in commands)]


def _replies(conn: Any, count: int) -> list[Any]:
    """The next ``count`` replies of a pipeline, an error reply in place as its exception."""
    replies: list[Any] = []
    for _ in range(count):
        try:
            replies.append(conn.read_response())
        except ResponseError as exc:
            replies.append(exc)
    return replies


T = TypeVar("T")
logger = logging.getLogger("pynenc.backends.redis")
SOCKET_TIMEOUT_S = 10.0  # a reply slower than this is a dead connection (blocking reads stay below it)
CONNECT_TIMEOUT_S = 5.0
HEALTH_CHECK_INTERVAL_S = 30
RETRIES = 3  # reconnect attempts per command, with exponential backoff
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 1.0
_UNLINK_BATCH = 500
UNREAD_MAX = 64  # scripts sent ahead whose replies may wait unread; more are read first

SCRIPT_NAMES = (
    "register", "transition", "query", "count", "find_by_call", "final_among", "watch",
    "add_waits", "remove_waits", "wait_pause", "wait_resume", "heartbeat", "lease", "runners",
    "send", "receive", "take_start", "claim_start", "leave", "ack", "nack", "requeue",
    "put_triggers", "add_event", "events_since", "event_page", "purge_events",
    "add_trigger_runs", "trigger_runs", "purge_trigger_runs",
)  # fmt: skip


def _source(name: str) -> str:
    folder = resources.files("pynenc_nb.backends.redis") / "scripts"
    text = (folder / f"{name}.lua").read_text(encoding="utf-8")
    if "--! uses lib" in text:
        text = (folder / "lib.lua").read_text(encoding="utf-8") + "\n" + text
    return text


class Script:
    def __init__(self, name: str, source: str, sha: str) -> None:
        self.name = name
        self.source = source
        self.sha = sha


class Connection:
    def __init__(self, url: str, app_id: str) -> None:
        self.url = redact_url(url)
        self.keys = Keys(app_id)
        self._local = threading.local()
        backoff = ExponentialBackoff(cap=BACKOFF_CAP_S, base=BACKOFF_BASE_S)
        self._backoff = backoff
        self.client = self._client(url, SOCKET_TIMEOUT_S, Retry(backoff, RETRIES))
        self._direct_connections: weakref.WeakSet[Any] = weakref.WeakSet()
        timeout = self.client.connection_pool.connection_kwargs.get("socket_timeout")
        self.max_block_s = max(0.05, float(timeout) - 1.0) if timeout else 60.0
        # Opening fails fast (one attempt, short timeouts) on a wrong address, password or TLS setting;
        # later commands retry with backoff. The probe also loads every script in one round trip.
        probe = self._client(url, CONNECT_TIMEOUT_S, Retry(NoBackoff(), 0))
        try:
            self.scripts = self._load_scripts(probe)
        finally:
            probe.close()

    def _client(self, url: str, socket_timeout_s: float, retry: Retry) -> Any:
        try:
            return redis.Redis.from_url(
                url,
                decode_responses=True,
                protocol=2,
                socket_timeout=socket_timeout_s,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_keepalive=True,
                health_check_interval=HEALTH_CHECK_INTERVAL_S,
                retry=retry,
            )
        except ValueError as exc:
            raise BackendError(f"invalid Redis URL {self.url!r}: {redact_text(str(exc))}") from None

    def __repr__(self) -> str:
        return f"<RedisConnection {self.url}>"

    # --- errors ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Client errors as our errors, with any password in the message redacted."""
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            exc.args = tuple(redact_text(str(a)) for a in exc.args)
            what = "authenticate to" if isinstance(exc, redis.exceptions.AuthenticationError) else "reach"
            detail = redact_text(str(exc)).rstrip(". ")
            detail += " " if detail.endswith(("?", "!")) else ". "
            raise BackendUnavailableError(
                f"cannot {what} Redis at {self.url}: {detail}Check that the server is running "
                "and that the URL (host, port, password, rediss:// for TLS) is right; set it with "
                "PYNENC__BACKEND_URL or backend_url.",
                url=self.url,
            ) from exc
        except redis.exceptions.RedisError as exc:
            exc.args = tuple(redact_text(str(a)) for a in exc.args)
            raise BackendError(f"Redis at {self.url} refused an operation: {redact_text(str(exc))}") from exc

    def run(self, operation: Callable[[Any], T]) -> T:
        """``operation(client)`` with errors translated, after the replies of this thread's scripts
        sent ahead (the client's pooled connection must not overtake them)."""
        with self.guard():
            if getattr(self._local, "unread", None):
                self._read_ahead()
            return operation(self.client)

    # --- this thread's own connection --------------------------------------------------------------

    def _direct(self) -> Any:
        """The calling thread's connection, opened on first use (again after a fork)."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            pool = self.client.connection_pool  # not make_connection(): the pool caps and counts its own
            conn = pool.connection_class(**pool.connection_kwargs)
            local.conn, local.pid = conn, os.getpid()
            local.unread, local.unread_lost = [], False  # a forked child's are its parent's to read
            self._direct_connections.add(conn)
        return conn

    def _io(self, exchange: Callable[[Any], T], retries: int = RETRIES) -> T:
        """``exchange(connection)`` on this thread's connection, reconnecting with backoff; the
        replies of scripts sent ahead are read first.

        Anything but an error reply leaves the connection in an unknown state (a reply may be
        unread), so it is dropped; only connection errors and timeouts are retried.
        """
        attempt = 0
        while True:
            conn = self._direct()
            try:
                self._settle(conn)
                return exchange(conn)
            except (ResponseError, BackendError):  # an error reply: the connection is in step
                raise
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                self._drop(conn)
                if attempt >= retries:
                    raise
                if attempt == 0:  # once per failing command, not per try: bounded log volume
                    logger.warning(
                        "Redis at %s: %s; reconnecting", self.url, redact_text(f"{type(exc).__name__}: {exc}")
                    )
                attempt += 1
                time.sleep(self._backoff.compute(attempt))
            except BaseException:
                self._drop(conn)
                raise

    def _drop(self, conn: Any) -> None:
        """Close a connection in an unknown state; scripts sent ahead on it are sent again later
        (each is safe to resend)."""
        conn.disconnect()
        local = self._local
        if getattr(local, "unread", None):
            local.unread_lost = True

    # --- scripts sent ahead ------------------------------------------------------------------------

    def send_ahead(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Send a script whose reply the caller can predict, without waiting for it: the reply is
        read before this thread's next exchange with the server (an error reply raises there).

        Only for scripts safe to run twice, and for threads that will talk to the server again:
        a script whose send fails is sent again at once (with retries, raising when it cannot
        be); one whose reply is lost with its connection is sent again before the next exchange.
        The server runs them in order, before anything this thread sends later. A thread's
        deferred scripts (``defer``) go first.
        """
        local = self._local
        self._direct()  # (re)sets local.unread after a fork
        if len(local.unread) >= UNREAD_MAX:
            with self.guard():
                self._read_ahead()
        calls = [*getattr(local, "pending", ()), (self.scripts[name], keys, args)]
        local.pending = []
        local.unread.extend(calls)
        if local.unread_lost:  # sent again, in order, by the next exchange: make it now
            with self.guard():
                self._read_ahead()
            return
        conn = self._direct()
        try:
            # no health check: its PING would read a reply sent ahead as its own
            conn.send_packed_command(_packed(conn, [self._evalsha(*call) for call in calls]), check_health=False)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            self._drop(conn)  # sent again now, with retries: a thread may never talk again
            with self.guard():
                self._read_ahead()
        except BaseException:
            self._drop(conn)
            raise

    def _read_ahead(self, retries: int = RETRIES) -> None:
        """Read the replies of this thread's scripts sent ahead now (an exchange of nothing else)."""
        self._io(lambda conn: None, retries)

    def _settle(self, conn: Any) -> None:
        """Read the replies of scripts sent ahead (sending them again first if their connection
        broke); a script the server no longer knows is loaded and run again, in order."""
        local = self._local
        unread = local.unread
        if not unread:
            return
        if local.unread_lost:
            conn.send_packed_command(_packed(conn, [self._evalsha(*call) for call in unread]))
            local.unread_lost = False
        replies = _replies(conn, len(unread))
        refused: ResponseError | None = None
        for (script, keys, args), reply in zip(unread, replies, strict=True):
            if isinstance(reply, NoScriptError):  # a connection error here sends them all again: safe
                sha = self._exchange(conn, ("SCRIPT", "LOAD", script.source))
                if isinstance(sha, ResponseError):
                    reply = sha
                else:
                    script.sha = sha
                    reply = self._exchange(conn, self._evalsha(script, keys, args))
            if isinstance(reply, ResponseError) and refused is None:
                refused, name = reply, script.name
        local.unread = []
        if refused is not None:
            raise BackendError(f"Redis at {self.url} refused the {name} script sent ahead: {redact_text(str(refused))}")

    @staticmethod
    def _exchange(conn: Any, command: Sequence[Any]) -> Any:
        conn.send_packed_command(_packed(conn, (command,)))
        try:
            return conn.read_response()
        except ResponseError as exc:
            return exc

    def command(self, *args: Any, retries: int = RETRIES) -> Any:
        """One command on this thread's own connection, errors translated; resent up to
        ``retries`` times after a connection error (only safe for commands that may run twice)."""
        with self.guard():
            return self._command(*args, retries=retries)

    def _command(self, *args: Any, retries: int = RETRIES) -> Any:
        def exchange(conn: Any) -> Any:
            conn.send_packed_command(_packed(conn, (args,)))
            return conn.read_response()

        return self._io(exchange, retries)

    def commands(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Several commands in one round trip (pipelined, not a transaction); an error reply is
        returned in place as the exception, not raised."""

        def exchange(conn: Any) -> list[Any]:
            conn.send_packed_command(_packed(conn, commands))
            return _replies(conn, len(commands))

        with self.guard():
            return self._io(exchange)

    def read_all(self, commands: Sequence[Sequence[Any]], chunk: int = 500) -> Iterator[Any]:
        """The replies of read-only ``commands``, pipelined ``chunk`` at a time on this thread's
        connection (redis-py's pipeline object costs about as much as the round trip); an error
        reply raises ``BackendError``."""
        for start in range(0, len(commands), chunk):
            for reply in self.commands(commands[start : start + chunk]):
                if isinstance(reply, Exception):
                    raise BackendError(f"Redis at {self.url} refused a read: {redact_text(str(reply))}")
                yield reply

    # --- scripts ---------------------------------------------------------------------------------

    def _load_scripts(self, client: Any) -> dict[str, Script]:
        sources = {name: _source(name) for name in SCRIPT_NAMES}
        with self.guard():
            pipe = client.pipeline(transaction=False)
            for source in sources.values():
                pipe.script_load(source)
            shas = pipe.execute()
        return {name: Script(name, sources[name], sha) for name, sha in zip(sources, shas, strict=True)}

    @staticmethod
    def _evalsha(script: Script, keys: Sequence[str], args: Sequence[Any]) -> tuple[Any, ...]:
        return ("EVALSHA", script.sha, len(keys), *keys, *args)

    def eval(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run a script; deferred scripts of this thread go in the same round trip, first."""
        script = self.scripts[name]
        pending: list[tuple[Script, Sequence[str], Sequence[Any]]] = getattr(self._local, "pending", [])
        if pending:
            self._local.pending = []
            return self._pipelined([*pending, (script, keys, args)])
        local = self._local
        if getattr(local, "unread", None) and not local.unread_lost:
            with self.guard():
                return self._behind(script, keys, args)
        with self.guard():
            try:
                return self._command(*self._evalsha(script, keys, args))
            except NoScriptError:  # the server lost its script cache (restart, SCRIPT FLUSH)
                script.sha = self._command("SCRIPT", "LOAD", script.source)
                return self._command(*self._evalsha(script, keys, args))

    def _behind(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """A script sent behind this thread's scripts sent ahead, every reply read at once: the
        server runs them in order, so it sees what they stored, with no round trip between (a
        running task's wait on the children it just called)."""
        local = self._local
        conn = self._direct()
        unread = local.unread
        try:
            conn.send_packed_command(_packed(conn, [self._evalsha(script, keys, args)]), check_health=False)
            replies = _replies(conn, len(unread) + 1)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            self._drop(conn)  # all sent again, in order, with retries: every script may run twice
            return self._command(*self._evalsha(script, keys, args))
        except BaseException:
            self._drop(conn)
            raise
        local.unread = []
        reloaded = False
        for (ahead, ahead_keys, ahead_args), reply in zip(unread, replies, strict=False):
            if isinstance(reply, NoScriptError):  # every reply is read: safe to run it again now
                ahead.sha = self._command("SCRIPT", "LOAD", ahead.source)
                self._command(*self._evalsha(ahead, ahead_keys, ahead_args))
                reloaded = True
            elif isinstance(reply, ResponseError):
                raise BackendError(
                    f"Redis at {self.url} refused the {ahead.name} script sent ahead: {redact_text(str(reply))}"
                )
        own = replies[-1]
        if isinstance(own, NoScriptError):  # it runs again after the ones it may depend on
            script.sha = self._command("SCRIPT", "LOAD", script.source)
            return self._command(*self._evalsha(script, keys, args))
        if reloaded:  # it ran before a script it may depend on: its answer cannot be trusted
            raise BackendError(
                f"Redis at {self.url} lost its scripts while {script.name} ran behind scripts sent ahead; "
                "they were stored again, and the operation can be retried"
            )
        if isinstance(own, ResponseError):
            raise own
        return own

    def _pipelined(self, calls: Sequence[tuple[Script, Sequence[str], Sequence[Any]]]) -> Any:
        results = self.commands([self._evalsha(script, keys, args) for script, keys, args in calls])
        with self.guard():
            for index, result in enumerate(results):
                if isinstance(result, NoScriptError):
                    script, keys, args = calls[index]
                    script.sha = self._command("SCRIPT", "LOAD", script.source)
                    results[index] = self._command(*self._evalsha(script, keys, args))
                elif isinstance(result, Exception):
                    raise result
        return results[-1]

    def eval_then(
        self, name: str, args: Sequence[Any], command: Sequence[Any], unblock: Callable[[], None]
    ) -> tuple[Any, Any]:
        """Run a script and, in the same write, a blocking ``command`` that the script itself
        unblocks when the caller will not need to block: one send instead of two. Returns both
        replies.

        Never resent (the blocking command may have popped something). When the script fails
        (its reply an error, NOSCRIPT included), ``unblock()`` makes the command return before its
        timeout; the script is then reloaded if needed and the error raised, for the caller to
        take its plain path.
        """
        script = self.scripts[name]
        pending: list[tuple[Script, Sequence[str], Sequence[Any]]] = getattr(self._local, "pending", [])
        self._local.pending = []
        calls = [self._evalsha(s, keys, a) for s, keys, a in [*pending, (script, [], args)]]

        def exchange(conn: Any) -> tuple[list[Any], Any]:
            conn.send_packed_command(_packed(conn, [*calls, tuple(command)]))
            replies = _replies(conn, len(calls))
            if isinstance(replies[-1], ResponseError):
                unblock()
            return replies, conn.read_response()

        with self.guard():
            replies, blocked = self._io(exchange, retries=0)
            failed = next((r for r in replies if isinstance(r, ResponseError)), None)
            if isinstance(failed, NoScriptError):
                for stale, _, _ in [*pending, (script, [], args)]:
                    stale.sha = self._command("SCRIPT", "LOAD", stale.source)
            if failed is not None:
                raise failed
        return replies[-1], blocked

    def defer(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """A script whose reply nobody needs: inside a group it rides along with the next call."""
        if getattr(self._local, "depth", 0):
            pending = getattr(self._local, "pending", None)
            if pending is None:
                pending = self._local.pending = []
            pending.append((self.scripts[name], keys, args))
            return
        self.eval(name, keys, args)

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1
        try:
            yield
        except BaseException:
            local.depth -= 1
            if not local.depth:
                with contextlib.suppress(Exception):  # the group's own error is the one to report
                    self._flush()
            raise
        local.depth -= 1
        if not local.depth:
            self._flush()

    def _flush(self) -> None:
        pending = getattr(self._local, "pending", None)
        if pending:
            self._local.pending = []
            with self.guard():
                self._pipelined(pending)

    # --- housekeeping ----------------------------------------------------------------------------

    def delete_prefix(self, prefix: str) -> int:
        """UNLINK every key starting with ``prefix`` (SCAN, so the server never blocks)."""
        removed = 0
        with self.guard():
            batch: list[str] = []
            for key in self.client.scan_iter(match=match_pattern(prefix), count=1000):
                batch.append(key)
                if len(batch) >= _UNLINK_BATCH:
                    removed += self.client.unlink(*batch)
                    batch = []
            if batch:
                removed += self.client.unlink(*batch)
        return removed

    def close(self) -> None:
        if getattr(self._local, "unread", None):  # best effort: this thread's last replies
            with contextlib.suppress(Exception), self.guard():
                self._read_ahead(retries=0)
        for conn in list(self._direct_connections):
            with contextlib.suppress(Exception):
                conn.disconnect()
        with contextlib.suppress(Exception):
            self.client.close()
        with contextlib.suppress(Exception):
            self.client.connection_pool.disconnect()
