"""What only the MongoDB backend has: URLs and failures, the optional dependency, document limits,
which wake-up path ran, and claims raced by four processes.

The shared conformance and guarantee suites cover the ports; these tests run on the session's
private SecantusDB server (or ``PYNENC_NB_MONGO_URL``), skipped locally without one and failing
under ``PYNENC_NB_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pynenc_nb import PynencBuilder
from pynenc_nb.backends import open_backend
from pynenc_nb.backends.mongo import MongoBackend
from pynenc_nb.exceptions import BackendUnavailableError, ConfigError, MissingDependencyError, PayloadTooLargeError
from pynenc_nb.records import InvocationFilter, Outcome, new_id
from tests.conformance.builders import NON_FINAL, S, cas, record
from tests.conftest import backend_url_for, require_service
from tests.support.mongo_server import free_port

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


@pytest.fixture
def url(tmp_path: Path) -> str:
    value = backend_url_for("mongo", tmp_path)
    require_service("mongo", value)
    return value


@pytest.fixture
def backend(url: str) -> Iterator[MongoBackend]:
    opened = open_backend(url, f"test-{new_id()[:8]}")
    assert isinstance(opened, MongoBackend)
    yield opened
    opened.drop()
    opened.close()


# --- URLs, errors and the optional dependency ----------------------------------------------------


def test_an_unreachable_server_fails_fast_with_the_password_redacted() -> None:
    # Given a URL with a password and nothing listening on its port
    url = f"mongodb://pynenc:s3cr3t-Pa55@127.0.0.1:{free_port()}/db?serverSelectionTimeoutMS=300"
    started = time.monotonic()
    # When the backend is opened, Then it says where it could not connect, without the password
    with pytest.raises(BackendUnavailableError) as raised:
        open_backend(url, "app")
    assert "s3cr3t" not in str(raised.value) and "pynenc:***@127.0.0.1" in str(raised.value)
    assert raised.value.url is not None and "s3cr3t" not in raised.value.url
    assert time.monotonic() - started < 10


def test_without_pymongo_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an environment where pymongo cannot be imported
    for name in list(sys.modules):
        if name == "pymongo" or name.startswith(("pymongo.", "pynenc_nb.backends.mongo")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pymongo", None)
    # When the backend module is imported, Then the error names the extra
    with pytest.raises(MissingDependencyError) as raised:
        importlib.import_module("pynenc_nb.backends.mongo")
    assert isinstance(raised.value, ConfigError)
    assert 'pip install "pynenc_nb[mongo]"' in str(raised.value)


def test_reprs_show_the_url_redacted(url: str) -> None:
    backend = MongoBackend(url, f"test-{new_id()[:8]}")
    try:
        assert repr(backend).startswith("<MongoBackend mongodb://") and backend.url == backend.conn.url
        assert "pynenc_tests" in repr(backend.state()) or backend.conn.database_name in repr(backend.state())
    finally:
        backend.drop()
        backend.close()


def test_the_builder_puts_an_app_in_the_named_database(url: str) -> None:
    # Given an app built with .mongo(url, database=...)
    app = PynencBuilder().app_id(f"test-{new_id()[:8]}").mongo(url, database="pynenc_builder_db").build()
    try:
        # When it stores a call
        app.state_backend.register([record()], None, NON_FINAL)
        # Then its collections are in that database, named after the app
        conn = app.state_backend.conn  # type: ignore[attr-defined]
        assert conn.database_name == "pynenc_builder_db"
        names = conn.db.list_collection_names()
        assert f"{conn.prefix}invocations" in names
    finally:
        for owned in app.backends.owned:
            owned.drop()  # type: ignore[attr-defined]
        app.close()


# --- documents ------------------------------------------------------------------------------------


def test_arguments_over_the_document_limit_are_refused_before_anything_is_stored(backend: MongoBackend) -> None:
    state = backend.state()
    huge = replace(record(), arguments=json.dumps({"x": "a" * (17 * MB)}))
    with pytest.raises(PayloadTooLargeError) as raised:
        state.register([record(), huge], "caller", NON_FINAL)
    assert raised.value.size > raised.value.limit and "16,777,216" in str(raised.value)
    assert state.count_by_status() == {}


def test_a_result_over_the_document_limit_is_refused_and_the_invocation_left_as_it_was(backend: MongoBackend) -> None:
    state = backend.state()
    (stored,) = state.register([record()], "caller", NON_FINAL)
    for status in (S.PENDING, S.RUNNING):
        assert state.transition(cas(stored.invocation_id, status, "r1")).applied
    ending = cas(stored.invocation_id, S.SUCCESS, "r1", outcome=Outcome("result", "a" * (17 * MB), "'aaa…'"))
    with pytest.raises(PayloadTooLargeError):
        state.transition(ending)
    assert state.get(stored.invocation_id).status is S.RUNNING  # type: ignore[union-attr]
    assert state.outcome(stored.invocation_id) is None


# --- which wake-up path ran -------------------------------------------------------------------------


def test_waits_are_woken_by_the_change_stream_on_a_server_that_has_one(backend: MongoBackend) -> None:
    # Given a server that reports a replica set (SecantusDB does; so does any MongoDB replica set)
    assert backend.conn.change_streams
    broker = backend.broker()
    # When a consumer blocks and a message is sent meanwhile
    taken: list[Any] = []
    waiter = threading.Thread(target=lambda: taken.append(broker.receive(["q"], "c1", 10.0)))
    waiter.start()
    deadline = time.monotonic() + 10
    while not backend.notifier.live:
        assert time.monotonic() < deadline, "the change stream did not open"
        time.sleep(0.01)
    sent = time.monotonic()
    broker.send("q", "inv-1")
    waiter.join(10)
    # Then the stream woke it (well before its one-second safety check)
    assert taken and taken[0] is not None and taken[0].invocation_id == "inv-1"
    assert time.monotonic() - sent < 0.9
    print("wake-up path: change stream")


def test_without_change_streams_waits_poll_and_still_see_every_change(backend: MongoBackend) -> None:
    # Given the fallback of a server without change streams
    backend.conn.change_streams = False
    state, broker = backend.state(), backend.broker()
    (stored,) = state.register([record()], "caller", NON_FINAL)
    # When nothing is there, a receive waits its timeout; a message sent is then taken
    started = time.monotonic()
    assert broker.receive(["q"], "c1", 0.3) is None
    assert 0.25 <= time.monotonic() - started < 2.0
    broker.send("q", stored.invocation_id)
    delivery = broker.receive(["q"], "c1", 5.0)
    assert delivery is not None and delivery.invocation_id == stored.invocation_id
    # And wait_final sees a final status without a stream
    for status in (S.PENDING, S.RUNNING, S.SUCCESS):
        assert state.transition(cas(stored.invocation_id, status, "r1")).applied
    assert state.wait_final([stored.invocation_id], 5.0) == {stored.invocation_id}
    assert not backend.notifier.live
    print("wake-up path: polling")


# --- four processes racing one claim -------------------------------------------------------------

RACER = """
import json, sys
from pynenc_nb.backends.mongo import MongoBackend
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.records import StatusChange, TransitionRequest
url, app_id, runner, ids = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
state = MongoBackend(url, app_id).state()
print("ready", flush=True)
sys.stdin.readline()
won = []
for invocation_id in ids:
    change = StatusChange(invocation_id, InvocationStatus.PENDING, runner, runner, 0.0)
    request = TransitionRequest(change, frozenset({InvocationStatus.REGISTERED}), None)
    if state.transition(request).applied:
        won.append(invocation_id)
print(json.dumps(won), flush=True)
"""


def test_four_processes_racing_to_claim_the_same_invocations_never_both_win(backend: MongoBackend) -> None:
    # Given 60 registered invocations and four processes that will each try to claim all of them
    state = backend.state()
    ids = [r.invocation_id for r in state.register([record() for _ in range(60)], "caller", NON_FINAL)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, backend.conn.raw_url, backend.app_id, f"runner-{i}", json.dumps(ids)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for i in range(4)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None and racer.stdout.readline().strip() == "ready"
        # When they are released together
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        won = [json.loads(racer.communicate(timeout=120)[0].strip().splitlines()[-1]) for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
    # Then every invocation was claimed by exactly one of them, and its history says so once
    claimed = [invocation_id for per_racer in won for invocation_id in per_racer]
    assert sorted(claimed) == sorted(ids)
    records, _ = state.query(InvocationFilter(statuses=frozenset({S.PENDING})), limit=100)
    assert len(records) == 60
    for invocation_id in ids:
        assert [c.status for c in state.history(invocation_id)] == [S.REGISTERED, S.PENDING]
    print("claims per racer:", [len(w) for w in won])
