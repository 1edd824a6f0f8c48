"""One pymongo client per backend and process: timeouts, retries with back-off, error translation.

Every call goes through :meth:`Connection.run`: ``AutoReconnect`` / ``NetworkTimeout`` (a server
restart, a failover, a dropped socket) are retried with exponential back-off for up to
``RETRY_FOR_S``, then raise ``BackendUnavailableError``; other driver errors raise ``BackendError``.
The URL is redacted in every message. The operation gets its attempt number, so a write whose reply
was lost can tell, on the next attempt, that it was applied (see ``invocations.py``).

pymongo clients are not fork-safe: a forked child (a ``ProcessRunner`` worker) opens its own.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from pynenc_nb.conf.urls import redact_text, redact_url
from pynenc_nb.exceptions import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    MissingDependencyError,
    PayloadTooLargeError,
)

try:
    import pymongo
    from pymongo import ReturnDocument
    from pymongo.client_session import ClientSession
    from pymongo.collection import Collection
    from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, OperationFailure, PyMongoError
except ImportError as exc:  # pragma: no cover - exercised by a test that hides the package
    raise MissingDependencyError("MongoDB backend", "mongo") from exc

logger = logging.getLogger("pynenc.backends.mongo")
T = TypeVar("T")
P = ParamSpec("P")
SERVER_SELECTION_TIMEOUT_MS = 5_000
CONNECT_TIMEOUT_MS = 5_000
SOCKET_TIMEOUT_MS = 20_000
RETRY_FOR_S = 30.0  # how long an operation keeps retrying a lost server (a restart takes seconds)
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 1.0
DEFAULT_DATABASE = "pynenc"
# MongoDB refuses documents over 16 MiB; what we store besides the big field stays under 64 KiB.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
DOCUMENT_MARGIN_BYTES = 64 * 1024
AUTH_FAILED_CODES = (18, 13)  # AuthenticationFailed, Unauthorized
RETRIED = (AutoReconnect, NetworkTimeout)  # ServerSelectionTimeoutError is an AutoReconnect

# A test hook: called as hook(operation, "before" | "after") around every attempt; raising
# AutoReconnect "after" simulates a reply lost once the server applied the operation.
FaultHook = Callable[[str, str], None]

__all__ = ["ClientSession", "Collection", "Connection", "ReturnDocument", "pymongo"]


def _database_of(url: str) -> str:
    path = urlsplit(url).path.lstrip("/")
    return unquote(path) if path else DEFAULT_DATABASE


def collection_prefix(app_id: str) -> str:
    """Each app's collections are ``<app_id>.<name>`` in the URL's database (``pynenc`` by default)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", app_id) + "."


class Connection:
    def __init__(self, url: str, app_id: str, *, client_cls: Any = None) -> None:
        self.raw_url = url
        self.url = redact_url(url)
        self.app_id = app_id
        self.database_name = _database_of(url)
        self.prefix = collection_prefix(app_id)
        self.fault_hook: FaultHook | None = None
        self._client_cls = client_cls or pymongo.MongoClient
        self._lock = threading.Lock()
        self._pid = -1
        self._client: Any = None
        given = {key.lower() for key, _ in parse_qsl(urlsplit(url).query)}
        self._options: dict[str, Any] = {
            name: value
            for name, value in (
                ("serverSelectionTimeoutMS", SERVER_SELECTION_TIMEOUT_MS),
                ("connectTimeoutMS", CONNECT_TIMEOUT_MS),
                ("socketTimeoutMS", SOCKET_TIMEOUT_MS),
                # Our own retries (``run``) find out whether a write whose reply was lost applied;
                # the driver's retryable writes cost SecantusDB 0.7 ~30 ms a write (measured).
                ("retryWrites", False),
                # acknowledged once journaled: a write a runner was told is stored survives a crash
                ("journal", True),
                ("retryReads", True),
            )
            if name.lower() not in given
        }
        hello = self._probe()
        self.max_document_bytes = int(hello.get("maxBsonObjectSize", MAX_DOCUMENT_BYTES))
        # Transactions (and change streams) need a replica set or a sharded cluster.
        self.replica_set = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
        if not self.replica_set:
            raise ConfigError(
                f"MongoDB at {self.url} is a standalone server: the MongoDB backend needs a replica set "
                "(concurrency keys and the waits-for graph use transactions). Start mongod with "
                "--replSet rs0 and run rs.initiate() once (a one-node replica set is enough)",
                variable="backend_url",
                value=self.url,
            )
        self.change_streams = self.replica_set

    def _probe(self) -> dict[str, Any]:
        """Fail fast on a wrong address: one ``hello`` with the selection timeout, no retries."""
        try:
            hello: dict[str, Any] = self.client.admin.command("hello")
        except ConnectionFailure as exc:
            raise BackendUnavailableError(
                f"cannot reach MongoDB at {self.url}: {type(exc).__name__}; check that the server runs "
                "and the URL is right",
                url=self.url,
            ) from exc
        except OperationFailure as exc:
            if exc.code in AUTH_FAILED_CODES:  # not retried: a wrong password stays wrong
                raise BackendUnavailableError(
                    f"MongoDB at {self.url} refused the credentials ({redact_text(str((exc.details or {}).get('errmsg', exc)))}"
                    "); check the user, password and authSource in the URL",
                    url=self.url,
                ) from exc
            raise BackendError(f"MongoDB at {self.url} refused the connection: {redact_text(str(exc))}") from exc
        except PyMongoError as exc:
            raise BackendError(f"MongoDB at {self.url} refused the connection: {redact_text(str(exc))}") from exc
        return hello

    @property
    def client(self) -> Any:
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    # a forked child never touches its parent's sockets: it opens its own client
                    self._client = self._client_cls(self.raw_url, **self._options)
                    self._pid = pid
        return self._client

    @property
    def db(self) -> Any:
        return self.client[self.database_name]

    def collection(self, name: str) -> Collection[Any]:
        collection: Collection[Any] = self.db[self.prefix + name]
        return collection

    def run(self, operation: str, fn: Callable[[int], T]) -> T:
        """``fn(attempt)`` with retries of lost connections; driver errors translated."""
        deadline = time.monotonic() + RETRY_FOR_S
        attempt = 0
        while True:
            try:
                hook = self.fault_hook
                if hook is not None:
                    hook(operation, "before")
                result = fn(attempt)
                if hook is not None:
                    hook(operation, "after")
                return result
            except RETRIED as exc:
                if attempt == 0:  # once per failing operation, not per try: bounded log volume
                    logger.warning(
                        "MongoDB at %s: %s during %s; reconnecting",
                        self.url,
                        redact_text(f"{type(exc).__name__}: {exc}"),
                        operation,
                    )
                attempt += 1
                if time.monotonic() >= deadline:
                    raise BackendUnavailableError(
                        f"MongoDB at {self.url} unreachable for {RETRY_FOR_S:.0f} s during {operation} "
                        f"({type(exc).__name__}); check the server",
                        url=self.url,
                    ) from exc
                time.sleep(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)))
            except PyMongoError as exc:
                raise BackendError(f"MongoDB at {self.url} failed during {operation}: {redact_text(str(exc))}") from exc

    def call(self, operation: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` through :meth:`run` (for operations safe to send again)."""
        return self.run(operation, lambda _: fn(*args, **kwargs))

    def find(
        self, operation: str, collection: Collection[Any], query: Mapping[str, Any], *args: Any, **options: Any
    ) -> list[dict[str, Any]]:
        """Every document of a ``find``, read through :meth:`run`."""
        return self.run(operation, lambda _: list(collection.find(query, *args, **options)))

    def transaction(self, operation: str, fn: Callable[[ClientSession], T]) -> T:
        """``fn(session)`` as one multi-document transaction, retried on write conflicts."""

        def attempt(_: int) -> T:
            with self.client.start_session() as session:
                result: T = session.with_transaction(fn)
                return result

        return self.run(operation, attempt)

    def check_size(self, what: str, *texts: str) -> None:
        """Refuse, before storing anything, a document that would pass the server's size limit."""
        size = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts)
        limit = self.max_document_bytes - DOCUMENT_MARGIN_BYTES
        if size > limit:
            raise PayloadTooLargeError(
                f"{what} is {size:,} bytes: MongoDB stores at most {self.max_document_bytes:,} bytes per document; "
                "lower the arg cache threshold so large values go to the arg cache, or pass a reference "
                "(a path, a URL) instead of the data",
                size=size,
                limit=limit,
            )

    def drop(self) -> None:
        """Drop every collection of this app (tests; ``purge`` only empties them)."""
        db = self.db
        for name in self.run("drop", lambda _: db.list_collection_names()):
            if name.startswith(self.prefix):
                self.call("drop", db.drop_collection, name)

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None
            self._pid = -1
