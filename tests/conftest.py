"""Shared fixtures: one backend parameter for the whole suite, and the history oracle after each test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.conf.urls import redact_url, scheme_of
from pynenc_nb.records import new_id
from tests.support.oracle import assert_histories_valid

# Backends every conformance test runs on. Server backends join this list as they land.
# "memory-broker" is the broker-only double: state in SQLite, queues from ``memory:``, so runners
# take work through the generic work source, the path a message broker (RabbitMQ) takes.
BACKENDS = ["memory", "sqlite", "redis", "mongo", "memory-broker"]
# Usable by runners in other processes; "sqlite-broker" is the broker-only double across processes
# (state and queues in two SQLite files: two backends, the generic work source).
SHARED_BACKENDS = ["sqlite", "redis", "mongo", "sqlite-broker"]
# Broker on RabbitMQ, state on SQLite or Redis: they run the tests that exercise the broker (the
# broker and work-source conformance tests, the guarantees), not the state suite again.
RABBITMQ_BACKENDS = ["rabbitmq-sqlite", "rabbitmq-redis"]
# The rest of the suite (engine features, triggers, runner faults) runs on these: a backend is done
# when it passes the conformance and guarantee suites, which override the fixtures with the lists
# above. MongoDB joins them against a real server (PYNENC_NB_MONGO_URL); on the session's wire
# server (SecantusDB, a few hundred commands a second) it runs the conformance, guarantee, fault
# and MongoDB suites only, which keeps the default run within its time.
_REAL_MONGO = bool(os.environ.get("PYNENC_NB_MONGO_URL"))
ENGINE_BACKENDS = [k for k in BACKENDS if _REAL_MONGO or k != "mongo"]
ENGINE_SHARED_BACKENDS = [k for k in SHARED_BACKENDS if _REAL_MONGO or k != "mongo"]
BROKER_BACKENDS = [*BACKENDS, *RABBITMQ_BACKENDS]
# Need a running server (services.md; mongo: a private one this session starts); skipped locally when down.
SERVER_BACKENDS = {"redis", "mongo", *RABBITMQ_BACKENDS}
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
_service_problems: dict[str, str | None] = {}  # kind -> why it cannot be used (None: it can), per session
_mongo: dict[str, Any] = {}  # the session's private MongoDB wire server, started on first use ("server", "error")


def mongo_url() -> str:
    """``PYNENC_NB_MONGO_URL``, or the session's private SecantusDB server (started on first use,
    stopped by pid at the end of the session: ``stop_mongo_server``)."""
    if url := os.environ.get("PYNENC_NB_MONGO_URL"):
        return url
    if "server" not in _mongo and "error" not in _mongo:
        from tests.support.mongo_server import MongoServer

        server = MongoServer()  # on disk in a temp dir: SecantusDB's :memory: engine updates in O(n)
        try:
            _mongo["server"] = server.start()
        except (RuntimeError, OSError) as exc:
            server.stop()
            _mongo["error"] = f"the private MongoDB wire server did not start: {exc}"
    return _mongo["server"].url if "server" in _mongo else "mongodb://127.0.0.1:1/unavailable"


@pytest.fixture(autouse=True, scope="session")
def stop_mongo_server() -> Iterator[None]:
    yield
    server = _mongo.pop("server", None)
    if server is not None:
        server.stop()


def backend_url_for(kind: str, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory:"
    if kind in ("sqlite", "memory-broker", "sqlite-broker", "rabbitmq-sqlite"):
        return f"sqlite://{tmp_path / 'pynenc.db'}"
    if kind in ("redis", "rabbitmq-redis"):
        return os.environ.get("PYNENC_NB_REDIS_URL", DEFAULT_REDIS_URL)
    if kind == "mongo":
        return mongo_url()  # each app's collections are named after its fresh app id
    raise ValueError(kind)


def broker_url_for(kind: str, tmp_path: Path) -> str:
    """The broker URL of a broker-only double; "" (the backend's own broker) for the others."""
    if kind == "memory-broker":
        return "memory:"
    if kind == "sqlite-broker":
        return f"sqlite://{tmp_path / 'broker.db'}"
    if kind in RABBITMQ_BACKENDS:
        return rabbitmq_url()
    return ""


def rabbitmq_url() -> str:
    """The test server's URL; each app's queues are named after its fresh app id, and expire on the
    server if a test leaves any behind (``cleanup_server``)."""
    url = os.environ.get("PYNENC_NB_RABBITMQ_URL", DEFAULT_RABBITMQ_URL)
    return f"{url}{'&' if '?' in url else '?'}queue_expires_s=600"


def cleanup_server(app: Pynenc) -> None:
    """Leave none of a test app's keys or queues behind on a server that outlives the test."""
    try:
        if scheme_of(app.conf.backend_url) in ("redis", "rediss"):
            app.purge()
        if scheme_of(app.conf.backend_url) in ("mongodb", "mongodb+srv"):
            for backend in app.backends.owned:
                if hasattr(backend, "drop"):
                    backend.drop()
        if app.conf.broker_url and scheme_of(app.conf.broker_url) in ("amqp", "amqps"):
            app.broker.delete_queues()  # type: ignore[attr-defined]
    finally:
        app.close()


def _rabbitmq_problem(url: str) -> str | None:
    try:
        import pika
    except ImportError:
        return 'the pika package is not installed (pip install "pynenc_nb[rabbitmq]")'
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
    except pika.exceptions.AMQPError as exc:
        return f"no RabbitMQ server at {redact_url(url)} ({type(exc).__name__})"
    return None


def _service_problem(kind: str, url: str) -> str | None:
    if kind in RABBITMQ_BACKENDS:
        problem = _rabbitmq_problem(os.environ.get("PYNENC_NB_RABBITMQ_URL", DEFAULT_RABBITMQ_URL))
        if problem is not None or kind == "rabbitmq-sqlite":
            return problem
        kind = "redis"
    if kind == "mongo":
        return _mongo_problem(url)
    if kind == "redis":
        try:
            import redis
        except ImportError:
            return 'the redis package is not installed (pip install "pynenc_nb[redis]")'
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        except redis.exceptions.RedisError as exc:
            return f"no Redis server at {redact_url(url)} ({type(exc).__name__})"
        finally:
            client.close()
    return None


def _mongo_problem(url: str) -> str | None:
    if "error" in _mongo:
        return str(_mongo["error"])
    try:
        import pymongo
    except ImportError:
        return 'the pymongo package is not installed (pip install "pynenc_nb[mongo]")'
    client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=2000)
    try:
        client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        return f"no MongoDB server at {redact_url(url)} ({type(exc).__name__})"
    finally:
        client.close()
    return None


def require_service(kind: str, url: str) -> None:
    """Skip a test whose server is down, or fail it when ``PYNENC_NB_REQUIRE_SERVICES=1`` (CI)."""
    if kind not in SERVER_BACKENDS:
        return
    if kind not in _service_problems:
        _service_problems[kind] = _service_problem(kind, url)
    problem = _service_problems[kind]
    if problem is not None:
        skip_or_fail(problem, "see services.md")


def skip_or_fail(problem: str, remedy: str) -> None:
    """Skip a test that lacks something outside the project, or fail it when
    ``PYNENC_NB_REQUIRE_SERVICES=1`` (CI, where ``.ci/run`` provides it)."""
    if os.environ.get("PYNENC_NB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{problem}; PYNENC_NB_REQUIRE_SERVICES=1 requires it ({remedy})")
    pytest.skip(problem)


@pytest.fixture(params=ENGINE_BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Overridden with ``params=BACKENDS`` by the conformance and guarantee suites."""
    return str(request.param)


@pytest.fixture
def backend_url(backend_kind: str, tmp_path: Path) -> str:
    url = backend_url_for(backend_kind, tmp_path)
    require_service(backend_kind, url)
    return url


@pytest.fixture
def broker_url(backend_kind: str, tmp_path: Path) -> str:
    return broker_url_for(backend_kind, tmp_path)


@pytest.fixture
def make_app(backend_url: str, broker_url: str) -> Iterator[Callable[..., Pynenc]]:
    """Build apps on the test's backend; their histories are checked by the oracle afterwards."""
    apps: list[Pynenc] = []

    def factory(**values: Any) -> Pynenc:
        values.setdefault("app_id", f"test-{new_id()[:8]}")
        values.setdefault("backend_url", backend_url)
        if broker_url:
            values.setdefault("broker_url", broker_url)
        values.setdefault("logging_level", "warning")
        app = Pynenc(config_values=values)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        try:
            assert_histories_valid(app)
        finally:
            cleanup_server(app)


@pytest.fixture
def app(make_app: Callable[..., Pynenc]) -> Pynenc:
    return make_app()


@pytest.fixture
def shared_kind() -> str:
    """The backend of ``shared_env``: SQLite unless a test package overrides this fixture with
    ``params=SHARED_BACKENDS`` (the guarantees run on every backend runner processes can share)."""
    return "sqlite"


@pytest.fixture
def shared_env(shared_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``PYNENC__*`` settings for an app shared with runner processes (a fresh app id per test)."""
    shared = shared_kind in ("sqlite", "sqlite-broker", "rabbitmq-sqlite")
    url = f"sqlite://{tmp_path / 'shared.db'}" if shared else backend_url_for(shared_kind, tmp_path)
    require_service(shared_kind, url)
    env = {
        "PYNENC__APP_ID": f"test-{new_id()[:8]}",
        "PYNENC__BACKEND_URL": url,
        "PYNENC__LOGGING_LEVEL": "warning",
    }
    if broker := broker_url_for(shared_kind, tmp_path):
        env["PYNENC__BROKER_URL"] = broker
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def tasks_module(shared_env: dict[str, str]) -> Iterator[Any]:
    """``tests.support.tasks_app`` rebuilt on the test's shared SQLite file; oracle-checked after."""
    from tests.support import tasks_app

    module = tasks_app.load()
    yield module
    try:
        assert_histories_valid(module.app)
    finally:
        cleanup_server(module.app)


@pytest.fixture(autouse=True, scope="session")
def private_app_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Apps made by tests (and the processes they start) record themselves in a throwaway app
    registry, never in the user's Jupyter data dir."""
    path = tmp_path_factory.mktemp("app-registry") / "apps.json"
    previous = os.environ.get("PYNENC_NB_APP_REGISTRY")
    os.environ["PYNENC_NB_APP_REGISTRY"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("PYNENC_NB_APP_REGISTRY", None)
    else:
        os.environ["PYNENC_NB_APP_REGISTRY"] = previous
