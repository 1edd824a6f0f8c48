"""What only the Redis backend has: URLs and failures, fork safety, its key layout, push-based waits.

The shared conformance suite covers the ports; these tests need a Redis server (skipped locally
without one, failing under ``PYNENC_NB_REQUIRE_SERVICES=1``) except where a test says otherwise.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.backends import open_backend
from pynenc_nb.backends.redis import RedisBackend
from pynenc_nb.backends.redis.connection import Connection
from pynenc_nb.backends.redis.keys import prefix_for
from pynenc_nb.backends.redis.work import RedisWorkSource, TakenStart
from pynenc_nb.exceptions import BackendError, BackendUnavailableError, MissingDependencyError
from pynenc_nb.records import (
    Delivery,
    EventRecord,
    InvocationFilter,
    InvocationRecord,
    Outcome,
    TransitionRequest,
    TransitionResult,
    TriggerRun,
    new_id,
)
from tests.conformance.builders import NON_FINAL, S, cas, record
from tests.conftest import backend_url_for, require_service
from tests.e2e.support import TIMEOUT_S, cli_runner
from tests.support import tasks_app
from tests.support.oracle import assert_histories_valid
from tests.support.processes import poll

SECRET = "s3cr3t-Pa55"
KEY_LAYOUT_DB = 9  # a database no other test writes to, so its whole key set can be inspected


@pytest.fixture
def url(tmp_path: Any) -> str:
    value = backend_url_for("redis", tmp_path)
    require_service("redis", value)
    return value


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def backend(url: str) -> Iterator[RedisBackend]:
    opened = open_backend(url, f"test-{new_id()[:8]}")
    assert isinstance(opened, RedisBackend)
    yield opened
    opened.purge()
    opened.close()


# --- URLs, errors and the optional dependency ----------------------------------------------------


def test_reprs_never_show_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a backend on a URL with a password (no server needed: scripts are not loaded)
    monkeypatch.setattr(Connection, "_load_scripts", lambda self, client: {})
    backend = RedisBackend(f"rediss://user:{SECRET}@redis.example.net:6380/2", "secret-app")
    # Then no repr of it or of its ports shows the password, but they say where it points
    shown = [repr(backend), backend.url, repr(backend.state()), repr(backend.broker())]
    shown += [repr(backend.trigger_store()), repr(backend.arg_cache()), repr(backend.conn)]
    assert all(SECRET not in text and "user:***@redis.example.net:6380" in text for text in shown), shown
    # And rediss:// means TLS
    assert backend.conn.client.connection_pool.connection_class.__name__ == "SSLConnection"
    app = Pynenc(config_values={"app_id": "secret-app", "backend_url": f"redis://:{SECRET}@h:6379/0"})
    assert SECRET not in repr(app)


def test_a_wrong_password_is_refused_with_a_redacted_message(url: str) -> None:
    parts = urlsplit(url)
    wrong = urlunsplit((parts.scheme, f"nobody:{SECRET}@{parts.hostname}:{parts.port or 6379}", parts.path, "", ""))
    with pytest.raises(BackendUnavailableError) as caught:
        open_backend(wrong, "test-auth")
    error = caught.value
    assert "cannot authenticate to Redis" in str(error) and "nobody:***@" in str(error)
    assert all(SECRET not in text for text in (str(error), repr(error), str(error.url), str(error.__cause__)))


def test_an_unreachable_server_fails_fast_saying_what_to_do() -> None:
    # Given nothing listens on the port
    dead = f"redis://:{SECRET}@127.0.0.1:{_free_port()}/0"
    app = Pynenc(config_values={"app_id": "test-unreachable", "backend_url": dead, "logging_level": "error"})
    # When the app first needs its backend
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError) as caught:
        _ = app.state_backend
    # Then it fails within seconds, naming the (redacted) URL and the fix
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "cannot reach Redis at redis://:***@127.0.0.1" in message and SECRET not in message
    assert "Check that the server is running" in message and "PYNENC__BACKEND_URL" in message


def test_missing_redis_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the redis package cannot be imported, and our backend module was not imported yet
    monkeypatch.setitem(sys.modules, "redis", None)
    for name in [m for m in sys.modules if m.startswith("pynenc_nb.backends.redis")]:
        monkeypatch.delitem(sys.modules, name)
    # When a redis:// backend is opened
    with pytest.raises(MissingDependencyError) as caught:
        open_backend("redis://127.0.0.1:6379/0", "test-missing")
    # Then the error names the fix
    assert 'pip install "pynenc_nb[redis]"' in str(caught.value)
    assert (caught.value.feature, caught.value.extra) == ("Redis backend", "redis")


def test_services_skip_locally_and_fail_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.conftest as conftest

    dead = f"redis://127.0.0.1:{_free_port()}/0"
    monkeypatch.setattr(conftest, "_service_problems", {})
    monkeypatch.delenv("PYNENC_NB_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_service("redis", dead)
    monkeypatch.setenv("PYNENC_NB_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception):
        require_service("redis", dead)


# --- connections ---------------------------------------------------------------------------------


def test_a_forked_child_opens_its_own_connections(backend: RedisBackend) -> None:
    # Given the parent has used its pool and its thread's own connection (scripts)
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    parent_client = backend.conn.run(lambda c: c.client_id())
    parent_direct = backend.conn.command("CLIENT", "ID")
    read_end, write_end = os.pipe()
    # When a forked child uses the very same backend object
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            child_client = backend.conn.run(lambda c: c.client_id())
            child_direct = backend.conn.command("CLIENT", "ID")
            found = state.get(stored.invocation_id) is not None
            moved = state.transition(cas(stored.invocation_id, S.PENDING, "child")).applied
            os.write(write_end, f"{child_client} {child_direct} {found} {moved}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_ids = pipe.read().split()
    os.waitpid(pid, 0)
    # Then the child talked over connections of its own, and the parent's still work as before
    assert child_ids[2:] == ["True", "True"]
    assert {int(child_ids[0]), int(child_ids[1])}.isdisjoint({parent_client, parent_direct})
    assert backend.conn.run(lambda c: c.client_id()) == parent_client
    assert backend.conn.command("CLIENT", "ID") == parent_direct
    after = state.get(stored.invocation_id)
    assert after is not None and after.status is S.PENDING and after.owner_id == "child"


def test_commands_reconnect_after_the_server_drops_the_connection(backend: RedisBackend) -> None:
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    own = backend.conn.run(lambda c: c.client_id())
    direct = backend.conn.command("CLIENT", "ID")
    backend.conn.run(lambda c: c.client_kill_filter(_id=own, skipme=False))
    backend.conn.run(lambda c: c.client_kill_filter(_id=direct, skipme=False))
    # scripts go over the thread's own connection, other reads over the pool: both reconnect
    assert state.transition(cas(stored.invocation_id, S.PENDING, "r1")).applied
    assert backend.conn.run(lambda c: c.client_id()) != own
    assert backend.conn.command("CLIENT", "ID") != direct


def test_scripts_are_loaded_again_after_the_server_forgets_them(backend: RedisBackend) -> None:
    # Given the server lost its script cache (a restart or SCRIPT FLUSH)
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    backend.conn.run(lambda c: c.script_flush())
    # Then a script, alone or pipelined with a deferred one, still runs
    assert state.transition(cas(stored.invocation_id, S.PENDING, "r1")).applied
    backend.conn.run(lambda c: c.script_flush())
    with backend.atomic():
        backend.broker().ack(Delivery(stored.invocation_id, "default", "1:r1"))
        assert state.transition(cas(stored.invocation_id, S.RUNNING, "r1")).applied


# --- scripts sent ahead (a running task's fresh calls) -------------------------------------------


def test_a_registration_sent_ahead_reaches_the_server_at_once_and_the_next_command_gets_its_own_reply(
    url: str, backend: RedisBackend
) -> None:
    # Given a fresh call registered without waiting for the reply (a running task's call)
    state = backend.state()
    (mine,) = state.register([record()], None, NON_FINAL, send=True, fresh_ids=True)
    # Then another process finds it stored before this thread says anything more
    other = open_backend(url, backend.app_id)
    try:
        poll(lambda: other.state().get(mine.invocation_id) is not None, timeout_s=5, message="the call stored")
    finally:
        other.close()
    # And this thread's next commands get their own replies, not the registration's
    assert backend.conn.command("PING") == "PONG"
    got = state.get(mine.invocation_id)
    assert got is not None and got.status is S.REGISTERED and backend.broker().depth("default") == 1
    assert [c.status for c in state.history(mine.invocation_id)] == [S.REGISTERED]


def test_a_call_with_a_registration_key_is_never_sent_ahead(backend: RedisBackend) -> None:
    # Given a live invocation holding a registration key
    state = backend.state()
    (holder,) = state.register([record(registration_key="k")], None, NON_FINAL)
    # When a fresh call with the same key registers from a running task's thread
    (answer,) = state.register([record(registration_key="k")], None, NON_FINAL, send=True, fresh_ids=True)
    # Then the server's answer is waited for: the holder answers, nothing new is stored
    assert answer.invocation_id == holder.invocation_id


def test_a_script_sent_ahead_that_the_server_refuses_fails_the_threads_next_command_clearly(
    backend: RedisBackend,
) -> None:
    # Given a script sent ahead with arguments the server refuses
    backend.conn.send_ahead("register", [], ["not", "a", "registration"])
    # When this thread next talks to the server, it learns of it, with the script named
    with pytest.raises(BackendError, match="register script sent ahead"):
        backend.conn.command("PING")
    # And the connection stays in step: the next reply is the next command's own
    assert backend.conn.command("PING") == "PONG"


def test_a_registration_sent_ahead_runs_again_after_the_server_forgets_its_scripts(backend: RedisBackend) -> None:
    # Given the server lost its script cache (a restart or SCRIPT FLUSH)
    state = backend.state()
    backend.conn.run(lambda c: c.script_flush())
    # When a fresh call is registered without waiting, then the thread reads it back
    (mine,) = state.register([record()], None, NON_FINAL, send=True, fresh_ids=True)
    got = state.get(mine.invocation_id)
    # Then the script was loaded again and the call stored once
    assert got is not None and got.status is S.REGISTERED
    assert [c.status for c in state.history(mine.invocation_id)] == [S.REGISTERED]


def test_a_registration_sent_ahead_whose_reply_is_lost_with_its_connection_is_stored_once(
    backend: RedisBackend,
) -> None:
    # Given a fresh call registered without waiting, and its connection dropped before the reply
    # is read
    state = backend.state()
    direct = backend.conn.command("CLIENT", "ID")
    (mine,) = state.register([record()], None, NON_FINAL, send=True, fresh_ids=True)
    backend.conn.run(lambda c: c.client_kill_filter(_id=direct, skipme=False))
    # When the thread talks to the server again
    got = state.get(mine.invocation_id)
    # Then it did so on a new connection, with the registration sent again: stored exactly once
    assert backend.conn.command("CLIENT", "ID") != direct
    assert got is not None and got.status is S.REGISTERED
    assert [c.status for c in state.history(mine.invocation_id)] == [S.REGISTERED]
    assert backend.broker().depth("default") == 1


def test_a_script_behind_registrations_sent_ahead_sees_them_and_gets_its_own_reply(backend: RedisBackend) -> None:
    # Given two fresh calls registered without waiting (a task calling two children)
    state = backend.state()
    first, second = (state.register([record()], None, NON_FINAL, send=True, fresh_ids=True)[0] for _ in range(2))
    # When the thread's next script goes out behind them (a wait on the first)
    claimed = state.transition(cas(first.invocation_id, S.PENDING, "r1"))
    # Then it ran after both were stored, and answered with its own reply
    assert claimed.applied and claimed.record.owner_id == "r1"
    assert state.get(second.invocation_id) is not None and backend.broker().depth("default") == 2


def test_a_script_behind_a_registration_the_server_refused_reports_the_refusal(backend: RedisBackend) -> None:
    # Given a script sent ahead that the server refuses, then a script behind it
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    backend.conn.send_ahead("register", [], ["not", "a", "registration"])
    with pytest.raises(BackendError, match="register script sent ahead"):
        state.transition(cas(stored.invocation_id, S.PENDING, "r1"))
    # Then the connection stays in step for the next one
    assert state.get(stored.invocation_id) is not None and backend.conn.command("PING") == "PONG"


def test_a_script_behind_registrations_runs_after_them_when_the_server_forgot_its_scripts(
    backend: RedisBackend,
) -> None:
    # Given the server lost its script cache, then a fresh call registered without waiting
    state = backend.state()
    backend.conn.run(lambda c: c.script_flush())
    (mine,) = state.register([record()], None, NON_FINAL, send=True, fresh_ids=True)
    # When a script behind it concerns that call
    claimed = state.transition(cas(mine.invocation_id, S.PENDING, "r1"))
    # Then both were loaded again and ran in order: the call stored once, then claimed
    assert claimed.applied
    assert [c.status for c in state.history(mine.invocation_id)] == [S.REGISTERED, S.PENDING]


# --- endings this process stores ---------------------------------------------------------------


def test_an_ending_this_process_stores_pushes_no_note_to_its_own_inbox(url: str, backend: RedisBackend) -> None:
    # Given two invocations registered here
    state = backend.state()
    mine, theirs = state.register([record(), record()], None, NON_FINAL)
    inbox = f"s:inbox:{state.watcher.token}"
    # When this process ends one, its own waiters know at once and its inbox receives nothing
    state.transition(cas(mine.invocation_id, S.FAILED, None))
    assert state.wait_final([mine.invocation_id], timeout_s=5) == {mine.invocation_id}
    assert backend_keys(backend, inbox) == 0
    # While an ending another process stores still reaches the inbox
    other = open_backend(url, backend.app_id)
    try:
        other.state().transition(cas(theirs.invocation_id, S.FAILED, None))
    finally:
        other.close()
    assert backend_keys(backend, inbox) == 1
    assert state.wait_final([theirs.invocation_id], timeout_s=5) == {theirs.invocation_id}


def _blocked_reader(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, InvocationRecord, threading.Thread, list[set[str]]]:
    """A thread blocked popping the inbox for an invocation registered here, with pops that would
    block for 8 s; returns the state, the invocation, the thread and what its wait returns."""
    from pynenc_nb.backends.redis import notify

    monkeypatch.setattr(notify, "READ_TICK_S", 8.0)
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    learned: list[set[str]] = []
    waiter = threading.Thread(target=lambda: learned.append(state.wait_final([stored.invocation_id], timeout_s=20)))
    waiter.start()
    _reader_client(backend)
    return state, stored, waiter, learned


def test_a_reader_blocked_on_an_ending_this_process_stores_is_woken_at_once(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a thread blocked popping the inbox for an invocation registered here
    state, stored, waiter, learned = _blocked_reader(backend, monkeypatch)
    # When another thread of this process ends it (no note goes to the inbox for it)
    state.transition(cas(stored.invocation_id, S.FAILED, None))
    # Then the reader is woken, long before its pop would have ended
    waiter.join(timeout=4)
    assert not waiter.is_alive() and learned == [{stored.invocation_id}]
    assert backend_keys(backend, f"s:inbox:{state.watcher.token}") == 0


def test_an_ending_whose_reply_is_lost_makes_this_processs_waiters_check_the_store(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a thread blocked popping the inbox for an invocation registered here
    state, stored, waiter, learned = _blocked_reader(backend, monkeypatch)
    # When this process's ending is applied but its reply never arrives (the store has it, no note
    # was pushed, and stored_final is never called)
    real_eval = backend.conn.eval

    def lost_reply(name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        reply = real_eval(name, keys, args)
        if name == "transition":
            raise BackendUnavailableError("the reply was lost", url=backend.url)
        return reply

    monkeypatch.setattr(backend.conn, "eval", lost_reply)
    with pytest.raises(BackendUnavailableError):
        state.transition(cas(stored.invocation_id, S.FAILED, None))
    monkeypatch.setattr(backend.conn, "eval", real_eval)
    # Then the waiter checks the store instead of waiting for a note, and learns of the ending
    waiter.join(timeout=4)
    assert not waiter.is_alive() and learned == [{stored.invocation_id}]


def test_a_retried_status_change_that_already_applied_reports_success(backend: RedisBackend) -> None:
    # Given a claim whose reply was lost (the client retries the same request after reconnecting)
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    request = cas(stored.invocation_id, S.PENDING, "r1")
    first = state.transition(request)
    # When the same request arrives again
    again = state.transition(request)
    # Then it reports the change as applied, once, while another runner's claim still loses
    assert first.applied and again.applied and again.record == first.record
    assert [c.status for c in state.history(stored.invocation_id)] == [S.REGISTERED, S.PENDING]
    assert state.transition(cas(stored.invocation_id, S.PENDING, "r2")).conflict == "status"


def _reader_client(backend: RedisBackend, timeout_s: float = 5.0) -> str:
    """The id of this backend's connection blocked in a waiter's BLMPOP on its inbox (tests of
    other backends may run beside it on the same server)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ours = set()
        for conn in list(backend.conn._direct_connections):
            sock = getattr(conn, "_sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    host, port = sock.getsockname()[:2]
                    ours.add(f"{host}:{port}")
        for client in backend.conn.run(lambda c: c.client_list()):
            if client.get("cmd") == "blmpop" and "b" in client.get("flags", "") and client.get("addr") in ours:
                return str(client["id"])
        time.sleep(0.01)
    raise AssertionError("no waiter blocked in BLMPOP")


def test_wait_final_recovers_when_its_reading_connection_is_dropped(backend: RedisBackend) -> None:
    # Given a thread waiting on two invocations, blocked popping its process's inbox
    state = backend.state()
    a, b = (r.invocation_id for r in state.register([record(), record()], None, NON_FINAL))
    killed: list[str] = []

    def kill_the_reader() -> None:
        killed.append(_reader_client(backend))
        backend.conn.run(lambda c: c.client_kill_filter(_id=killed[0], skipme=False))

    # When the server drops that connection mid-pop, and one invocation finishes soon after
    killer = threading.Timer(0.05, kill_the_reader)
    finisher = threading.Timer(0.4, lambda: state.transition(cas(b, S.FAILED, None)))
    killer.start()
    finisher.start()
    try:
        started = time.monotonic()
        done = state.wait_final([a, b], timeout_s=20)
        elapsed = time.monotonic() - started
    finally:
        killer.join()
        finisher.join()
    # Then the waiter still learns about it at once, popping again on a new connection
    assert killed and done == {b} and elapsed < 3, elapsed
    waiter = threading.Thread(target=state.wait_final, args=([a], 1.0))
    waiter.start()
    try:
        assert _reader_client(backend) != killed[0]
    finally:
        waiter.join()


def test_a_lone_waiter_pops_its_inbox_in_its_own_thread(
    url: str, backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process that registered an invocation, and no thread of it waiting
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    before = {t.ident for t in threading.enumerate()}
    scripts: list[str] = []
    real_eval = backend.conn.eval

    def counted(name: str, *args: Any) -> Any:
        scripts.append(name)
        return real_eval(name, *args)

    monkeypatch.setattr(backend.conn, "eval", counted)
    # When another process (a runner) ends it and the main thread waits for it
    runner = open_backend(url, backend.app_id)
    try:
        runner.state().transition(cas(stored.invocation_id, S.FAILED, None))
    finally:
        runner.close()
    assert state.wait_final([stored.invocation_id], timeout_s=5) == {stored.invocation_id}
    # Then the note came from the inbox, popped by the waiting thread itself: the store was not
    # read (the id was vouched for at registration) and no listener thread was started
    assert scripts == []
    assert {t.ident for t in threading.enumerate()} == before
    assert backend_keys(backend, f"s:inbox:{state.watcher.token}") == 0


def test_an_ending_stored_here_is_known_to_this_process_with_no_round_trip(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an invocation registered here and ended by this process (a parent that ran it inline)
    state = backend.state()
    (stored,) = state.register([record()], None, NON_FINAL)
    for status in (S.PENDING, S.RUNNING):
        state.transition(cas(stored.invocation_id, status, "runner-1"))
    state.transition(cas(stored.invocation_id, S.SUCCESS, "runner-1", outcome=Outcome("value", "cGF5bG9hZA==", "42")))
    sent: list[Any] = []
    monkeypatch.setattr(backend.conn, "command", lambda *args, **kwargs: sent.append(args))
    monkeypatch.setattr(backend.conn, "commands", lambda *args, **kwargs: sent.append(args))
    # When a thread of it waits for the invocation and reads its result
    assert state.wait_final([stored.invocation_id], timeout_s=5) == {stored.invocation_id}
    settled = state.settled([stored.invocation_id])
    # Then neither asked the server: the ending it stored told them
    assert sent == []
    record_, outcome = settled[stored.invocation_id]
    assert record_.status is S.SUCCESS and outcome is not None and outcome.display == "42"


def test_threads_waiting_at_once_take_turns_reading_and_each_learns_its_own_end(backend: RedisBackend) -> None:
    # Given six threads of one process, each waiting on its own invocation
    state = backend.state()
    ids = [r.invocation_id for r in state.register([record() for _ in range(6)], None, NON_FINAL)]
    learned: dict[str, float] = {}

    def wait_for(invocation_id: str) -> None:
        if state.wait_final([invocation_id], timeout_s=20) == {invocation_id}:
            learned[invocation_id] = time.monotonic()

    waiters = [threading.Thread(target=wait_for, args=(i,)) for i in ids]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.2)
    # When the invocations end one by one, the first reader's own first
    ended: dict[str, float] = {}
    for invocation_id in ids:
        state.transition(cas(invocation_id, S.FAILED, None))
        ended[invocation_id] = time.monotonic()
        time.sleep(0.1)
    for waiter in waiters:
        waiter.join(20)
    # Then every thread learned of its own end soon after it, whichever thread was reading
    assert set(learned) == set(ids)
    late = {i: learned[i] - ended[i] for i in ids if learned[i] - ended[i] > 1.0}
    assert not late, late


def test_an_interrupted_pop_loses_nothing(url: str, backend: RedisBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a process waiting on an invocation that another process ends while it waits
    state = backend.state()
    other = open_backend(url, backend.app_id)
    (stored,) = state.register([record()], None, NON_FINAL)
    watcher = state.watcher
    real_pop = watcher._pop

    def popped_then_interrupted(key: str, block_s: float) -> list[str]:
        notes = real_pop(key, block_s)
        if notes:  # the notes are off the server, and the waiter is interrupted before it reads them
            monkeypatch.setattr(watcher, "_pop", real_pop)
            raise KeyboardInterrupt
        return notes

    monkeypatch.setattr(watcher, "_pop", popped_then_interrupted)
    ender = threading.Timer(0.2, lambda: other.state().transition(cas(stored.invocation_id, S.FAILED, None)))
    ender.start()
    try:
        # When the user interrupts the wait just as its pop took the note of the end
        with pytest.raises(KeyboardInterrupt):
            state.wait_final([stored.invocation_id], timeout_s=10)
        # Then the next wait still learns of it at once (from the store: the popped note is gone)
        started = time.monotonic()
        assert state.wait_final([stored.invocation_id], timeout_s=10) == {stored.invocation_id}
        assert time.monotonic() - started < 1.0
    finally:
        ender.join()
        other.close()


def test_closing_a_backend_deletes_its_inbox(url: str) -> None:
    # Given a process whose invocation another process ended while nobody waited (its note waits
    # in the inbox)
    app_id = f"inbox-{new_id()[:8]}"
    backend, other = RedisBackend(url, app_id), RedisBackend(url, app_id)
    try:
        state = backend.state()
        (stored,) = state.register([record()], None, NON_FINAL)
        other.state().transition(cas(stored.invocation_id, S.FAILED, None))
        inbox = f"s:inbox:{state.watcher.token}"
        assert backend_keys(backend, inbox) == 1
        # When the process closes its backend
        backend.close()
        # Then the inbox is gone, not left to expire a day later
        assert backend_keys(other, inbox) == 0
    finally:
        other.purge()
        other.close()


def test_a_process_waiting_on_invocations_it_did_not_register_is_told_at_once(url: str) -> None:
    # Given two processes of one app (two backend objects: two inboxes), one registering
    app_id = f"watch-{new_id()[:8]}"
    registrar, waiter = RedisBackend(url, app_id), RedisBackend(url, app_id)
    try:
        ids = [r.invocation_id for r in registrar.state().register([record(), record()], None, NON_FINAL)]
        registrar.state().transition(cas(ids[0], S.FAILED, None))
        finisher = threading.Timer(0.3, lambda: registrar.state().transition(cas(ids[1], S.FAILED, None)))
        # When the other waits on both
        first = waiter.state().wait_final(ids, timeout_s=20)
        finisher.start()
        try:
            started = time.monotonic()
            second = waiter.state().wait_final([ids[1]], timeout_s=20)
            elapsed = time.monotonic() - started
        finally:
            finisher.join()
        # Then it sees the final one at once and is pushed the other when it ends, not after a poll
        assert first == {ids[0]} and second == {ids[1]} and elapsed < 1.5, elapsed
        # And the registering process's own inbox was told too, and the watchers set is gone
        assert registrar.state().wait_final([ids[1]], timeout_s=5) == {ids[1]}
        assert backend_keys(registrar, f"s:watchers:{ids[1]}") == 0
    finally:
        registrar.purge()
        for b in (registrar, waiter):
            b.close()


def backend_keys(backend: RedisBackend, suffix: str) -> int:
    return int(backend.conn.run(lambda c: c.exists(f"{backend.conn.keys.prefix}{suffix}")))


# --- key layout and purge ------------------------------------------------------------------------


def _exercise(app: Pynenc) -> None:
    """Touch every port: tasks with keys and parents run on a thread runner, events, runs, cache, kv."""
    from tests.unit.runner_support import running

    @app.task(registration_concurrency="ARGUMENTS", running_concurrency="TASK")
    def double(x: int) -> int:
        return 2 * x

    @app.workflow
    def flow(n: int) -> int:
        return sum(double(i).result for i in range(n))

    with running(app, max_threads=2):
        assert flow(3).result == 6
    app.trigger_store.add_event(EventRecord("e1", "code", "{}", time.time(), None, "runner-1"))
    assert app.trigger_store.add_trigger_runs(
        [TriggerRun("run1", "t1", "tests.task", "event", "e1", "inv", time.time())]
    )
    app.trigger_store.put_triggers({"tests.task": {"t1": "def"}})
    app.arg_cache.put("hash", "value")
    app.state_backend.add_waits("w", ["t"])
    app.state_backend.acquire_lease("services", "me", 10, time.time())
    app.broker.send("other-queue", "id-1", 3)


def test_every_key_is_under_the_app_prefix_in_one_cluster_slot(url: str) -> None:
    from redis.crc import key_slot

    # Given a database nobody else writes to, and an app id with glob characters in it
    db_url = _with_db(url, KEY_LAYOUT_DB)
    app_id = f"test-{new_id()[:6]}-*?[x]"
    app = Pynenc(config_values={"app_id": app_id, "backend_url": db_url, "logging_level": "warning"})
    backend = app.backends.owned[0]
    assert isinstance(backend, RedisBackend)
    before = set(backend.conn.run(lambda c: c.keys("*")))
    try:
        # When the app uses every port
        _exercise(app)
        assert_histories_valid(app)
        written = set(backend.conn.run(lambda c: c.keys("*"))) - before
        # Then every key it wrote starts with its prefix and a port letter, all in one cluster slot
        prefix = prefix_for(app_id)
        assert written and all(key.startswith(prefix) for key in written), sorted(written)
        assert {key[len(prefix) : len(prefix) + 2] for key in written} == {"s:", "b:", "t:", "c:"}
        assert len({key_slot(key.encode()) for key in written}) == 1
    finally:
        app.purge()
        app.close()
    assert not [k for k in backend.conn.client.keys("*") if k.startswith(prefix_for(app_id))]


def test_purge_removes_all_keys_of_the_app_and_nothing_else(url: str) -> None:
    # Given two apps whose ids one glob pattern would confuse, and a key of someone else
    db_url = _with_db(url, KEY_LAYOUT_DB)
    tag = new_id()[:6]
    apps = [
        Pynenc(config_values={"app_id": app_id, "backend_url": db_url, "logging_level": "warning"})
        for app_id in (f"test-{tag}-*", f"test-{tag}-kept")
    ]
    purged, kept = apps
    conn = purged.backends.owned[0].conn  # type: ignore[attr-defined]
    foreign = f"someone-else:{tag}"
    conn.run(lambda c: c.set(foreign, "1"))
    try:
        for app in apps:
            app.state_backend.register([record()], None, NON_FINAL)
            app.broker.send("q", "id")
            app.arg_cache.put("h", "v")
            app.trigger_store.add_event(EventRecord("e", "c", "{}", 1.0))
        kept_keys = set(conn.run(lambda c: c.keys(f"pynenc:{{test-{tag}-kept}}:*")))
        # When one app is purged
        purged.purge()
        # Then its keys are gone, the other app and the foreign key are untouched
        assert conn.run(lambda c: c.keys(f"pynenc:{{test-{tag}-\\*}}:*")) == []
        assert set(conn.run(lambda c: c.keys(f"pynenc:{{test-{tag}-kept}}:*"))) == kept_keys and kept_keys
        assert conn.run(lambda c: c.get(foreign)) == "1"
        assert kept.state_backend.count_by_status() == {S.REGISTERED: 1}
        assert purged.state_backend.query(InvocationFilter()) == ([], None)
    finally:
        conn.run(lambda c: c.delete(foreign))
        for app in apps:
            app.purge()
            app.close()


# --- runners in other processes ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "runner_args", [("PersistentProcessRunner", "--num-processes", "2"), ("ProcessRunner", "--max-processes", "2")]
)
def test_forking_runners_serve_calls_and_nested_waits(
    url: str, runner_args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given tasks_app on Redis, served by a runner that forks its workers
    env = {"PYNENC__APP_ID": f"test-{new_id()[:8]}", "PYNENC__BACKEND_URL": url, "PYNENC__LOGGING_LEVEL": "warning"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    module = tasks_app.load()
    app = module.app
    try:
        with cli_runner(
            app, env, "--app", "tests.support.tasks_app:app", "runner", "start", "--runner-cls", *runner_args
        ):
            # When calls, a failure and nested waits (children wait on grandchildren) run there
            assert [inv.result_or(TIMEOUT_S) for inv in module.add.parallelize([(i, i) for i in range(6)])] == [
                2 * i for i in range(6)
            ]
            assert module.fibonacci(6).result_or(TIMEOUT_S) == 8
            with pytest.raises(ValueError, match="boom"):
                module.fail("boom").result_or(TIMEOUT_S)
        # Then every history is legal
        assert_histories_valid(app)
    finally:
        app.purge()
        app.close()


# --- the fused take --------------------------------------------------------------------------------


def _take_args(
    backend: RedisBackend,
    runner_id: str,
    nonce: str,
    ending: TransitionRequest | None = None,
    batch: int = 0,
    batch_tasks: tuple[str, ...] = (),
) -> list[str]:
    from dataclasses import replace

    from pynenc_nb.backends.redis.invocations import request_args

    claim = cas("", S.PENDING, runner_id)
    start = replace(cas("", S.RUNNING, runner_id), exclusive_statuses=frozenset({S.RUNNING}))
    prefix = backend.conn.keys.prefix
    ending_args = [] if ending is None else [ending.change.invocation_id, "0", *request_args(ending)]
    return [
        prefix,
        "0",
        *request_args(claim),
        *request_args(start, own_running_key=True),
        nonce,
        f"{runner_id}:worker",  # the worker: b:took and b:hand are per worker
        "",  # mode: not idle
        "",  # its idle-set member: not needed
        "",  # no offer to wait in the idle set
        str(batch),
        str(len(batch_tasks)),
        *batch_tasks,
        str(len(ending_args) // 16),  # endings
        *ending_args,
        "default",
    ]


def _take(backend: RedisBackend, args: list[str]) -> tuple[list[object] | None, list[object] | None]:
    """The reply of one take script: its (only) ending and its (first) taken invocation."""
    endings, taken = backend.conn.eval("take_start", [], args)
    return (endings[0] or ["missing"] if endings else None), (taken[0] if taken else None)


def test_a_resent_take_returns_what_the_first_took_instead_of_taking_another(backend: RedisBackend) -> None:
    # Given two queued invocations
    state, broker = backend.state(), backend.broker()
    first, second = record(), record()
    state.register([first, second], None, NON_FINAL)
    broker.send_many([("default", first.invocation_id, 0), ("default", second.invocation_id, 0)])
    args = _take_args(backend, "runner-a", new_id())
    # When the same take script runs twice (a client resending after a lost reply)
    _, taken = _take(backend, args)
    _, again = _take(backend, args)
    assert taken is not None and again is not None
    # Then both replies name the same invocation, started once, and the other message still waits
    assert taken[0] == again[0] and (taken[1], taken[2]) == ("start", "applied") == (again[1], again[2])
    started = state.get(str(taken[0]))
    assert started is not None and started.status is S.RUNNING and started.owner_id == "runner-a"
    assert [c.status for c in state.history(str(taken[0]))] == [S.REGISTERED, S.PENDING, S.RUNNING]
    assert broker.depth("default") == 1
    # And a resend whose first run lost the claim (another runner owns it) says so again
    other = state.get(second.invocation_id)
    assert other is not None
    state.transition(cas(other.invocation_id, S.PENDING, "runner-b"))
    refused_args = _take_args(backend, "runner-a", new_id())
    _, refused = _take(backend, refused_args)
    _, resent = _take(backend, refused_args)
    assert refused is not None and resent is not None
    assert refused[0] == resent[0] == second.invocation_id
    assert (refused[1], refused[2]) == ("claim", "status") and (resent[1], resent[2]) == ("claim", "owner")
    assert broker.depth("default") == 0


def test_an_ending_rides_on_the_take_is_stored_when_the_queue_is_empty_and_once_on_resend(
    backend: RedisBackend,
) -> None:
    from pynenc_nb.records import Outcome

    # Given an invocation RUNNING on runner-a and an empty queue
    state, broker = backend.state(), backend.broker()
    running = record()
    state.register([running], None, NON_FINAL)
    broker.send_many([("default", running.invocation_id, 0)])
    _, taken = _take(backend, _take_args(backend, "runner-a", new_id()))
    assert taken is not None and taken[0] == running.invocation_id
    # When its ending rides on the next take, and that script is sent twice (a lost reply)
    ending = replace(cas(running.invocation_id, S.SUCCESS, "runner-a"), outcome=Outcome("result", '"7"', "7"))
    args = _take_args(backend, "runner-a", new_id(), ending)
    first, nothing = _take(backend, args)
    second, again = _take(backend, args)
    # Then the ending is stored although nothing was taken, and the resend reports it applied, once
    assert nothing is None and again is None
    assert first is not None and second is not None and first[0] == second[0] == "applied"
    assert [c.status for c in state.history(running.invocation_id)] == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]
    assert state.outcome(running.invocation_id) == Outcome("result", '"7"', "7")
    # And an ending for an invocation that no longer exists does not spoil the take
    queued = record()
    state.register([queued], None, NON_FINAL)
    broker.send_many([("default", queued.invocation_id, 0)])
    ghost = replace(cas(new_id(), S.SUCCESS, "runner-a"), outcome=Outcome("result", "1", "1"))
    missing, taken = _take(backend, _take_args(backend, "runner-a", new_id(), ghost))
    assert missing is not None and missing[0] == "missing"
    assert taken is not None and taken[0] == queued.invocation_id and taken[2] == "applied"


def test_results_announced_to_the_registering_process_match_the_store(url: str) -> None:
    from pynenc_nb.records import Outcome

    # Given invocations registered here, one of them also awaited by another process
    app_id = f"notes-{new_id()[:8]}"
    here, other = RedisBackend(url, app_id), RedisBackend(url, app_id)
    try:
        ids = [r.invocation_id for r in here.state().register([record(), record()], None, NON_FINAL)]
        assert other.state().wait_final(ids, 0.05) == set()  # attaches the other process's inbox
        assert here.state().wait_final(ids, 0.05) == set()
        # When both end, one with a result and one failed by a service with an exception
        for step in (S.PENDING, S.RUNNING):
            assert here.state().transition(cas(ids[0], step, "r1")).applied
        ok = replace(cas(ids[0], S.SUCCESS, "r1"), outcome=Outcome("result", '{"v": "x\\ty"}', "'x\\ty'"))
        assert here.state().transition(ok).applied
        failed = replace(cas(ids[1], S.FAILED, None), outcome=Outcome("exception", "{}", "E: b"))
        assert here.state().transition(failed).applied
        # Then each process learns it without polling, and its settled records and outcomes, built
        # from the notes where it can, are exactly what the store holds
        for backend in (here, other):
            done: set[str] = set()
            deadline = time.monotonic() + 10
            while done != set(ids) and time.monotonic() < deadline:
                done |= backend.state().wait_final([i for i in ids if i not in done], 5)
            reads: list[object] = []
            real = backend.conn.commands

            def counted(commands: Any, reads: list[object] = reads, real: Any = real) -> Any:
                reads.append(commands)
                return real(commands)

            backend.conn.commands = counted  # type: ignore[method-assign]
            settled = backend.state().settled(ids)
            backend.conn.commands = real  # type: ignore[method-assign]
            stored = {i: (here.state().get(i), here.state().outcome(i)) for i in ids}
            assert settled == stored
            # the registering process needed no read; the other one read them
            assert (len(reads) == 0) is (backend is here)
        assert stored[ids[0]][1] == ok.outcome
    finally:
        here.purge()
        for b in (here, other):
            b.close()


def test_results_are_pushed_on_a_server_without_blmpop(backend: RedisBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    from pynenc_nb.exceptions import BackendError

    # Given a server that answers BLMPOP as Redis 6.2 does
    real = backend.conn.command

    def redis_6_2(*args: Any, **kwargs: Any) -> Any:
        if args[0] == "BLMPOP":
            raise BackendError("Redis at redis://… refused an operation: unknown command 'BLMPOP'")
        return real(*args, **kwargs)

    monkeypatch.setattr(backend.conn, "command", redis_6_2)
    state = backend.state()
    ids = [r.invocation_id for r in state.register([record() for _ in range(3)], None, NON_FINAL)]
    assert state.wait_final(ids, 0.05) == set()
    # When they end while a waiter waits
    finisher = threading.Timer(0.3, lambda: [state.transition(cas(i, S.FAILED, None)) for i in ids])
    finisher.start()
    try:
        started, done = time.monotonic(), set[str]()
        while done != set(ids) and time.monotonic() - started < 10:
            done |= state.wait_final([i for i in ids if i not in done], 10)
        elapsed = time.monotonic() - started
    finally:
        finisher.join()
    # Then the listener fell back to BLPOP + LPOP and the waiter was told at once
    assert done == set(ids) and elapsed < 2, elapsed
    assert state.watcher._blmpop is False and state.watcher._ready  # pushed, not re-read from the store


# --- hand-offs to idle workers ---------------------------------------------------------------------


class _Rules:
    """TakeRules for raw-backend tests: the claim and start the orchestrator would build, nothing
    following a stored change, and the ids given back collected."""

    def __init__(self) -> None:
        self.given_back: list[str] = []

    def claim_request(self, invocation_id: str, runner_id: str) -> TransitionRequest:
        return cas(invocation_id, S.PENDING, runner_id)

    def start_request(self, invocation_id: str, runner_id: str, running_key: str | None) -> TransitionRequest:
        return replace(cas(invocation_id, S.RUNNING, runner_id), exclusive_statuses=frozenset({S.RUNNING}))

    def settle(self, request: TransitionRequest, result: TransitionResult) -> None:
        pass

    def started(self, claimed: InvocationRecord, result: TransitionResult) -> InvocationRecord | None:
        return result.record if result.applied else None

    def ended(self, request: TransitionRequest, result: TransitionResult | None) -> None:
        pass

    def give_back(self, invocation_id: str, runner_id: str, reason: str) -> None:
        self.given_back.append(invocation_id)


# This thread's work sources, one per (backend, runner, queues), as a worker thread keeps one. The
# thread and backend objects themselves are in the key (not their ids, which may be reused).
_SOURCES: dict[tuple[threading.Thread, RedisBackend, str, tuple[str, ...]], tuple[RedisWorkSource, _Rules]] = {}


@pytest.fixture(autouse=True)
def _forget_sources() -> Iterator[None]:
    yield
    _SOURCES.clear()


def _source(backend: RedisBackend, runner_id: str, queues: Sequence[str] = ("default",)) -> RedisWorkSource:
    """This thread's work source for ``runner_id`` on ``queues``, made on first use."""
    key = (threading.current_thread(), backend, runner_id, tuple(queues))
    if key not in _SOURCES:
        rules = _Rules()
        _SOURCES[key] = (backend.work_source(rules, queues, runner_id, 0), rules)
    return _SOURCES[key][0]


def _take_and_start(
    backend: RedisBackend,
    runner_id: str,
    timeout_s: float,
    endings: Sequence[TransitionRequest] = (),
    queues: Sequence[str] = ("default",),
) -> tuple[list[TransitionResult | None], list[TakenStart]]:
    """One take of this thread's worker, with ``endings``: (what storing each did, what it took)."""
    source = _source(backend, runner_id, queues)
    source.endings = list(endings)
    take = source._new_take(timeout_s)
    taken = source._run(take)
    if take.stored:
        source.endings.clear()
    return take.ended, taken


def _leave(backend: RedisBackend, runner_id: str) -> list[str]:
    """This thread's workers of ``runner_id`` take no more: the ids handed to them and given back."""
    me = threading.current_thread()
    given_back: list[str] = []
    for key in [k for k in _SOURCES if k[0] is me and k[1] is backend and k[2] == runner_id]:
        source, rules = _SOURCES.pop(key)
        source.close()
        given_back += rules.given_back
    return given_back


def _queued(backend: RedisBackend, invocation_id: str) -> bool:
    """A message for ``invocation_id`` waits in a queue or is in flight."""
    return backend.conn.command("HGET", f"{backend.conn.keys.prefix}b:loc", invocation_id) is not None


def _idle_member(worker: str, runner_id: str) -> str:
    import json

    from pynenc_nb.backends.redis.invocations import frame_args

    claim = cas("", S.PENDING, runner_id)
    start = replace(cas("", S.RUNNING, runner_id), exclusive_statuses=frozenset({S.RUNNING}))
    return f"{worker}\n{json.dumps([frame_args(claim), frame_args(start, own_running_key=True)])}"


def _running(backend: RedisBackend, *runner_ids: str, state: str = "running") -> None:
    """As the runners' registration and heartbeats leave them: only a running runner is handed calls."""
    for runner_id in runner_ids:
        backend.conn.command("HSET", backend.conn.keys.runner(runner_id), "state", state)


def _idle(backend: RedisBackend, queue: str = "default") -> list[str]:
    return list(backend.conn.command("ZRANGE", f"{backend.conn.keys.prefix}b:idle:{queue}", 0, -1))


def _wait_until(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_call_registered_while_a_worker_waits_is_handed_to_it_already_started(backend: RedisBackend) -> None:
    # Given a worker of runner-a blocked on an empty queue
    _running(backend, "runner-a")
    taken: list[Any] = []
    worker = threading.Thread(target=lambda: taken.append(_take_and_start(backend, "runner-a", 5.0)))
    worker.start()
    _wait_until(lambda: len(_idle(backend)) == 1)
    # When a call is registered and sent
    call = record()
    backend.register_and_send([call], "client", NON_FINAL)
    worker.join(10)
    # Then the worker gets it RUNNING for runner-a, claimed and started by the registering script
    # itself (one time for all three entries), and nothing waits in the queue or the idle set
    assert len(taken) == 1
    ended, takes = taken[0]
    assert ended == [] and len(takes) == 1
    take = takes[0]
    assert take.invocation_id == call.invocation_id
    assert take.started is not None and take.started.applied
    assert take.started.record.status is S.RUNNING and take.started.record.owner_id == "runner-a"
    assert take.started.record.arguments == call.arguments
    state = backend.state()
    history = state.history(call.invocation_id)
    assert [c.status for c in history] == [S.REGISTERED, S.PENDING, S.RUNNING]
    assert len({c.at for c in history}) == 1 and history[1].runner_id == history[2].runner_id == "runner-a"
    assert backend.broker().depth("default") == 0 and _idle(backend) == []
    # And the change log, which followers read, has the hand-off's three changes too
    logged, _ = state.changes_since(None)
    assert [c.status for c in logged if c.invocation_id == call.invocation_id] == [S.REGISTERED, S.PENDING, S.RUNNING]
    stored = state.get(call.invocation_id)
    assert stored is not None and stored.status is S.RUNNING and stored.owner_id == "runner-a"


def test_calls_are_handed_only_to_live_workers_of_an_empty_queue(backend: RedisBackend) -> None:
    state, broker = backend.state(), backend.broker()
    idle_key = f"{backend.conn.keys.prefix}b:idle:default"
    hand_key = backend.conn.keys.hand("w1")
    live = _idle_member("w1", "runner-w")
    _running(backend, "runner-w", "runner-gone")
    # Given a worker offering to wait until later, and a call already queued before it
    older = record()
    state.register([older], None, NON_FINAL)
    broker.send_many([("default", older.invocation_id, 0)])
    backend.conn.command("ZADD", idle_key, repr(time.time() + 60), live)
    # When another call is registered
    newer = record()
    backend.register_and_send([newer], None, NON_FINAL)
    # Then it queues behind the older one: no call overtakes the queue's order
    assert broker.depth("default") == 2 and backend.conn.command("LLEN", hand_key) == 0
    assert _idle(backend) == [live]
    # When the queue is empty and two calls come in one registration
    backend.conn.command("DEL", backend.conn.keys.queue("default"), f"{backend.conn.keys.prefix}b:loc")
    first, second = record(), record()
    backend.register_and_send([first, second], None, NON_FINAL)
    # Then the first goes to the worker, started for its runner; the second queues (one hand each offer)
    assert backend.conn.command("LLEN", hand_key) == 1 and broker.depth("default") == 1
    handed = state.get(first.invocation_id)
    assert handed is not None and handed.status is S.RUNNING and handed.owner_id == "runner-w"
    assert _queued(backend, second.invocation_id) and _idle(backend) == []
    # And a worker whose offer expired (it stopped without saying so) is dropped, not handed anything
    backend.conn.command("DEL", backend.conn.keys.queue("default"), f"{backend.conn.keys.prefix}b:loc")
    backend.conn.command("ZADD", idle_key, repr(time.time() - 1), _idle_member("gone", "runner-gone"))
    late = record()
    backend.register_and_send([late], None, NON_FINAL)
    assert _queued(backend, late.invocation_id) and _idle(backend) == []
    # And so is a worker whose runner was declared lost (its process died) before its time was up
    backend.conn.command("DEL", backend.conn.keys.queue("default"), f"{backend.conn.keys.prefix}b:loc")
    backend.conn.command("ZADD", idle_key, repr(time.time() + 60), _idle_member("dead", "runner-gone"))
    _running(backend, "runner-gone", state="lost")
    orphan = record()
    backend.register_and_send([orphan], None, NON_FINAL)
    assert _queued(backend, orphan.invocation_id) and _idle(backend) == []
    # And a call with a running key is never handed: its exclusive start is the worker's take
    backend.conn.command("DEL", backend.conn.keys.queue("default"), f"{backend.conn.keys.prefix}b:loc")
    backend.conn.command("ZADD", idle_key, repr(time.time() + 60), live)
    keyed = record(running_key="k1")
    backend.register_and_send([keyed], None, NON_FINAL)
    assert _queued(backend, keyed.invocation_id) and _idle(backend) == [live]


def test_a_worker_that_leaves_gives_back_what_was_handed_to_it(backend: RedisBackend) -> None:
    # Given a worker that offered to wait, then stopped blocking without taking anything
    _running(backend, "runner-a")
    assert _take_and_start(backend, "runner-a", 0.05) == ([], [])
    assert len(_idle(backend)) == 1
    # When a call is handed to it meanwhile, and the worker leaves
    call = record()
    backend.register_and_send([call], None, NON_FINAL)
    given_back = _leave(backend, "runner-a")
    # Then it gets that call back to reroute, and is handed nothing more
    assert given_back == [call.invocation_id]
    assert _idle(backend) == [] and _leave(backend, "runner-a") == []
    later = record()
    backend.register_and_send([later], None, NON_FINAL)
    assert _queued(backend, later.invocation_id)


def test_a_take_whose_reply_was_lost_past_its_retries_is_resent_by_the_next_take(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two queued calls, and a server that goes away after it ran a worker's take (the take
    # started the first call) and before the worker read its reply, for longer than the retries
    state, broker = backend.state(), backend.broker()
    first, second = record(), record()
    state.register([first, second], None, NON_FINAL)
    broker.send_many([("default", first.invocation_id, 0), ("default", second.invocation_id, 0)])
    real = backend.conn.eval
    lost: list[Any] = []

    def drop_reply(name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        reply = real(name, keys, args)
        if name == "take_start" and not lost:
            lost.append(reply)
            raise BackendUnavailableError("connection lost", url=backend.conn.url)
        return reply

    monkeypatch.setattr(backend.conn, "eval", drop_reply)
    with pytest.raises(BackendUnavailableError):
        _take_and_start(backend, "runner-a", 0.0)
    # When the worker takes again once the server is back
    _, taken = _take_and_start(backend, "runner-a", 0.0)
    # Then it gets the call the lost take started, instead of leaving it RUNNING with nobody on it
    assert lost and [t.invocation_id for t in taken] == [first.invocation_id]
    assert taken[0].started is not None and taken[0].started.applied
    assert [c.status for c in state.history(first.invocation_id)] == [S.REGISTERED, S.PENDING, S.RUNNING]
    # And the next take takes the other call
    _, after = _take_and_start(backend, "runner-a", 0.0)
    assert [t.invocation_id for t in after] == [second.invocation_id]


def test_a_handed_call_whose_pop_reply_was_lost_is_taken_again(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker blocked on an empty queue whose blocking pop takes a handed call but the reply
    # never arrives (the connection drops after the server answered)
    real = backend.conn.command
    lost: list[Any] = []

    def drop_reply(*args: Any, **kwargs: Any) -> Any:
        reply = real(*args, **kwargs)
        if args[0] == "BLPOP" and reply and "b:hand:" in reply[0] and not lost:
            lost.append(reply)
            raise BackendUnavailableError("connection lost", url=backend.conn.url)
        return reply

    monkeypatch.setattr(backend.conn, "command", drop_reply)
    _running(backend, "runner-a")
    failed: list[BaseException] = []
    result: list[Any] = []

    def take_twice() -> None:  # the same worker: it retries its take after the error
        try:
            _take_and_start(backend, "runner-a", 5.0)
        except BackendUnavailableError as exc:
            failed.append(exc)
        result.append(_take_and_start(backend, "runner-a", 1.0))

    worker = threading.Thread(target=take_twice)
    worker.start()
    _wait_until(lambda: len(_idle(backend)) == 1)
    # When a call is handed to it, and the worker takes again after the error
    call = record()
    backend.register_and_send([call], None, NON_FINAL)
    worker.join(10)
    assert failed and lost and len(result) == 1
    # Then it gets that call, still RUNNING for it, instead of leaving it started with nobody on it
    _, takes_again = result[0]
    assert len(takes_again) == 1
    take_again = takes_again[0]
    assert take_again.invocation_id == call.invocation_id
    assert take_again.started is not None and take_again.started.applied
    assert take_again.started.record.status is S.RUNNING and take_again.started.record.owner_id == "runner-a"


def _handed_running(backend: RedisBackend, runner_id: str) -> str:
    """This thread as a worker of ``runner_id`` that was just handed a call: the call's id."""
    assert _take_and_start(backend, runner_id, 0.05) == ([], [])  # offers to wait
    call = record()
    backend.register_and_send([call], None, NON_FINAL)
    _, takes = _take_and_start(backend, runner_id, 5.0)
    assert [t.invocation_id for t in takes] == [call.invocation_id]
    return call.invocation_id


def _ending(invocation_id: str, runner_id: str) -> TransitionRequest:
    from pynenc_nb.records import Outcome

    return replace(cas(invocation_id, S.SUCCESS, runner_id), outcome=Outcome("result", "1", "1"))


def _spy(monkeypatch: pytest.MonkeyPatch, backend: RedisBackend) -> list[str]:
    """Names of what this thread sends through this backend from now on: script names, else
    command names (a script and a command sent in one write: both, joined by +)."""
    sent: list[str] = []
    me = threading.current_thread()
    real_eval, real_command, real_then = backend.conn.eval, backend.conn.command, backend.conn.eval_then

    def note(name: str) -> None:
        if threading.current_thread() is me:
            sent.append(name)

    def eval_(name: str, *args: Any) -> Any:
        note(name)
        return real_eval(name, *args)

    def command(*args: Any, **kwargs: Any) -> Any:
        note(str(args[0]))
        return real_command(*args, **kwargs)

    def eval_then(name: str, args: Sequence[Any], then: Sequence[Any], unblock: Any) -> Any:
        note(f"{name}+{then[0]}")
        return real_then(name, args, then, unblock)

    monkeypatch.setattr(backend.conn, "eval", eval_)
    monkeypatch.setattr(backend.conn, "command", command)
    monkeypatch.setattr(backend.conn, "eval_then", eval_then)
    return sent


def test_a_worker_back_from_a_call_ends_it_and_blocks_in_one_write(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker running a call it was handed, the queue empty
    _running(backend, "runner-a")
    running = _handed_running(backend, "runner-a")
    sent = _spy(monkeypatch, backend)
    # When it sends that call's end with its next take, and a new call comes 0.2 s later
    arrival = threading.Timer(0.2, lambda: backend.register_and_send([record()], None, NON_FINAL))
    arrival.start()
    try:
        ended, takes = _take_and_start(backend, "runner-a", 5.0, [_ending(running, "runner-a")])
    finally:
        arrival.join()
    # Then the end is stored, the new call is handed to it, and take and blocking pop went as one
    assert len(ended) == 1 and ended[0] is not None and ended[0].applied and ended[0].record.status is S.SUCCESS
    assert len(takes) == 1 and takes[0].started is not None and takes[0].started.record.status is S.RUNNING
    assert sent == ["take_start+BLPOP"]


def test_a_worker_that_finds_work_with_its_blocking_pop_behind_returns_at_once(backend: RedisBackend) -> None:
    # Given a worker running a call it was handed, and another call queued meanwhile
    _running(backend, "runner-a")
    running = _handed_running(backend, "runner-a")
    queued = record()
    backend.state().register([queued], None, NON_FINAL)
    backend.broker().send_many([("default", queued.invocation_id, 0)])
    # When it ends its call with a take (its blocking pop in the same write, for 5 s)
    started = time.monotonic()
    ended, takes = _take_and_start(backend, "runner-a", 5.0, [_ending(running, "runner-a")])
    # Then the take's own marker unblocked the pop at once, and nothing is left on its hand list
    assert time.monotonic() - started < 1.0
    assert ended[0] is not None and ended[0].applied
    assert [t.invocation_id for t in takes] == [queued.invocation_id]
    assert backend.conn.command("LLEN", _source(backend, "runner-a").hand_key) == 0


def test_a_stale_marker_on_a_hand_list_is_no_call(backend: RedisBackend) -> None:
    from pynenc_nb.backends.redis.keys import HAND_MARK

    # Given a worker offering to wait, with a marker left on its hand list (a failed pipelined take)
    _running(backend, "runner-a")
    assert _take_and_start(backend, "runner-a", 0.05) == ([], [])
    hand_key = _source(backend, "runner-a").hand_key
    backend.conn.command("RPUSH", hand_key, HAND_MARK)
    # When it blocks again and a call is handed to it 0.2 s later
    call = record()
    arrival = threading.Timer(0.2, lambda: backend.register_and_send([call], None, NON_FINAL))
    arrival.start()
    try:
        started = time.monotonic()
        _, takes = _take_and_start(backend, "runner-a", 5.0)
    finally:
        arrival.join()
    # Then the marker only woke it: it got the call, when it came
    assert [t.invocation_id for t in takes] == [call.invocation_id] and time.monotonic() - started >= 0.15
    # And a marker is skipped by a take looking at its hand list, and by a worker that leaves
    backend.conn.command("RPUSH", hand_key, HAND_MARK)
    assert _take_and_start(backend, "runner-a", 0.0) == ([], [])
    backend.conn.command("RPUSH", hand_key, HAND_MARK)
    assert _leave(backend, "runner-a") == [] and backend.conn.command("LLEN", hand_key) == 0


def test_a_worker_whose_scripts_were_flushed_still_ends_and_takes_without_waiting(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker running a call it was handed, another call queued, and a server that forgot
    # its scripts (SCRIPT FLUSH)
    _running(backend, "runner-a")
    running = _handed_running(backend, "runner-a")
    queued = record()
    backend.state().register([queued], None, NON_FINAL)
    backend.broker().send_many([("default", queued.invocation_id, 0)])
    sent = _spy(monkeypatch, backend)
    backend.conn.run(lambda c: c.script_flush())
    # When it ends its call with a take (its blocking pop behind it, for 5 s)
    started = time.monotonic()
    ended, takes = _take_and_start(backend, "runner-a", 5.0, [_ending(running, "runner-a")])
    # Then the failed script did not leave the pop blocking: the plain take ran after a reload
    assert time.monotonic() - started < 1.0 and sent[0] == "take_start+BLPOP" and "take_start" in sent[1:]
    assert ended[0] is not None and ended[0].applied
    assert [t.invocation_id for t in takes] == [queued.invocation_id]


def test_a_call_handed_to_the_pop_behind_a_take_is_not_lost_with_the_reply(
    backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker ending its call with a take, its blocking pop behind it in the same write, and
    # a connection that drops once the pop has taken a newly handed call (the reply never arrives)
    _running(backend, "runner-a")
    running = _handed_running(backend, "runner-a")
    real_then = backend.conn.eval_then

    def drop_reply(*args: Any) -> Any:
        reply, popped = real_then(*args)
        if popped and "b:hand:" in popped[0]:
            raise BackendUnavailableError("connection lost", url=backend.conn.url)
        return reply, popped

    monkeypatch.setattr(backend.conn, "eval_then", drop_reply)
    call = record()
    arrival = threading.Timer(0.2, lambda: backend.register_and_send([call], None, NON_FINAL))
    arrival.start()
    ending = _ending(running, "runner-a")
    try:
        with pytest.raises(BackendUnavailableError):
            _take_and_start(backend, "runner-a", 5.0, [ending])
    finally:
        arrival.join()
    # When the worker takes again, sending its ending again (it does not know it was stored)
    ended, takes = _take_and_start(backend, "runner-a", 1.0, [ending])
    # Then the ending is reported stored, once, and the call handed to the lost pop comes back
    assert ended[0] is not None and ended[0].applied
    assert [c.status for c in backend.state().history(running)][-1] is S.SUCCESS
    assert [c.status for c in backend.state().history(running)].count(S.SUCCESS) == 1
    assert [t.invocation_id for t in takes] == [call.invocation_id]
    assert takes[0].started is not None and takes[0].started.record.owner_id == "runner-a"


def test_a_thread_runner_is_handed_calls_while_idle_and_withdraws_when_it_stops(url: str) -> None:
    from pynenc_nb import PynencBuilder
    from pynenc_nb.runners.thread import ThreadRunner

    app = PynencBuilder().app_id(f"hand-{new_id()[:8]}").redis(url).logging_level("warning").build()

    @app.task
    def double(x: int) -> int:
        return 2 * x

    backend = app.backends.combined
    assert isinstance(backend, RedisBackend)
    try:
        # Given an idle 1-slot ThreadRunner
        runner = ThreadRunner(app, max_threads=1)
        runner.start_in_thread()
        _wait_until(lambda: len(_idle(backend)) == 1)
        # When calls come one at a time
        calls = []
        for x in range(3):
            call = double(x)
            assert call.result_or(TIMEOUT_S) == 2 * x
            calls.append(call)
        # Then each was handed to the runner: claimed and started by its registration
        for call in calls:
            history = app.state_backend.history(call.invocation_id)
            assert [c.status for c in history] == [S.REGISTERED, S.PENDING, S.RUNNING, S.SUCCESS]
            assert history[0].at == history[1].at == history[2].at
        # When the runner stops, it leaves the idle set: a later call waits in the queue
        runner.stop()
        assert _idle(backend) == []
        waiting = double(5)
        assert _queued(backend, waiting.invocation_id)
        # And a worker that leaves holding a handed call gives it back to the queue (REROUTED)
        app.broker.purge()
        _running(backend, "runner-x")
        offered: list[str] = []

        def worker() -> None:
            source = app.orchestrator.work_source(["default"], "runner-x")
            assert source.next(0.05) is None  # offers, then stops blocking
            offered.append("yes")
            _wait_until(lambda: len(offered) == 2)
            source.close()

        thread = threading.Thread(target=worker)
        thread.start()
        _wait_until(lambda: len(offered) == 1)
        handed = double(7)
        assert app.state_backend.get(handed.invocation_id).status is S.RUNNING  # type: ignore[union-attr]
        offered.append("handed")
        thread.join(10)
        back = app.state_backend.get(handed.invocation_id)
        assert back is not None and back.status is S.REROUTED
        assert _queued(backend, handed.invocation_id)
    finally:
        app.purge()
        app.close()


# --- batches of short tasks ------------------------------------------------------------------------


def test_a_take_starts_a_batch_of_short_calls_while_they_lead_the_queue(backend: RedisBackend) -> None:
    state, broker = backend.state(), backend.broker()
    # Given queued calls: three of a short task, one with a running key, then two of another task
    short = [record("tests.short") for _ in range(3)]
    keyed = record("tests.short", running_key="k")
    other = [record("tests.other") for _ in range(2)]
    backend.register_and_send([*short, keyed, *other], None, NON_FINAL)
    # When a take may start up to ten more calls of tests.short after the first, and is resent
    args = _take_args(backend, "runner-a", new_id(), batch=10, batch_tasks=("tests.short",))
    _, taken = backend.conn.eval("take_start", [], args)
    _, again = backend.conn.eval("take_start", [], args)
    # Then it started the three short calls, in queue order, and stopped at the one with a running
    # key, which keeps its place; a resend returns the same three without taking more
    assert [t[0] for t in taken] == [r.invocation_id for r in short] == [t[0] for t in again]
    assert all((t[1], t[2]) == ("start", "applied") for t in taken)
    for call in short:
        started = state.get(call.invocation_id)
        assert started is not None and started.status is S.RUNNING and started.owner_id == "runner-a"
    assert broker.depth("default") == 3
    # And the next take with no batch gets the keyed call first: nothing was reordered
    _, first = _take(backend, _take_args(backend, "runner-a", new_id()))
    assert first is not None and first[0] == keyed.invocation_id
    # And a batch is only of the named tasks: tests.other is not taken along with a short call
    more = record("tests.short")
    backend.register_and_send([more], None, NON_FINAL)
    backend.conn.command("ZADD", backend.conn.keys.queue("default"), "-1", more.invocation_id)  # first in line
    _, taken = backend.conn.eval(
        "take_start", [], _take_args(backend, "runner-a", new_id(), batch=10, batch_tasks=("tests.short",))
    )
    assert [t[0] for t in taken] == [more.invocation_id] and broker.depth("default") == 2


def _batch_app(url: str, **config: Any) -> Any:
    from pynenc_nb import PynencBuilder

    builder = PynencBuilder().app_id(f"batch-{new_id()[:8]}").redis(url).logging_level("warning")
    app = builder.custom_config(**config).build()

    @app.task
    def short(x: int) -> int:
        return x + 1

    @app.task
    def hold(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @app.task
    def maybe_wait(x: int, wait: bool) -> int:
        return short(x).result_or(TIMEOUT_S) if wait else x

    return app, short, hold, maybe_wait


@pytest.fixture
def lenient_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count tasks under 50 ms as short: a test machine under load can stretch a no-op run past 1 ms."""
    from pynenc_nb.backends.redis import work

    monkeypatch.setattr(work, "SHORT_TASK_S", 0.05)
    monkeypatch.setattr(work, "BATCH_BUDGET_S", 1.0)


@pytest.mark.parametrize("max_batch", [16, 0])
@pytest.mark.usefixtures("lenient_short")
def test_a_thread_runner_runs_short_calls_in_batches(url: str, max_batch: int) -> None:
    from pynenc_nb.runners.thread import ThreadRunner

    app, short, hold, _ = _batch_app(url, max_batch=max_batch)
    runner = ThreadRunner(app, max_threads=1)
    runner.start_in_thread()
    try:
        # Given a runner that has seen the short task run, busy while fifty calls of it queue up
        assert short(0).result_or(TIMEOUT_S) == 1
        busy = hold(0.3)
        calls = short.parallelize([(i,) for i in range(50)])
        # When it gets to them
        assert [c.result_or(TIMEOUT_S) for c in calls] == [i + 1 for i in range(50)]
        assert busy.result_or(TIMEOUT_S) == 0.3
        # Then several were started by one take (the same start time), all correctly; with
        # max_batch=0 each had a take of its own
        histories = app.state_backend.histories([c.invocation_id for c in calls])
        starts = {next(h.at for h in histories[c.invocation_id] if h.status is S.RUNNING) for c in calls}
        if max_batch:
            assert len(starts) <= 50 - 50 // max_batch
        else:
            assert len(starts) == 50
        assert_histories_valid(app)
    finally:
        runner.stop()
        app.purge()
        app.close()


@pytest.mark.usefixtures("lenient_short")
def test_the_rest_of_a_batch_goes_back_when_its_task_waits(url: str) -> None:
    from pynenc_nb.runners.thread import ThreadRunner

    app, short, hold, maybe_wait = _batch_app(url)
    runner = ThreadRunner(app, max_threads=1)
    runner.start_in_thread()
    try:
        # Given a task known short, queued behind a long call: first one call that will wait on
        # another invocation, then five that will not
        assert maybe_wait(9, False).result_or(TIMEOUT_S) == 9
        busy = hold(0.3)
        waiting = maybe_wait(0, True)
        rest = maybe_wait.parallelize([(i, False) for i in range(1, 6)])
        # When the runner takes them in one batch and the first waits
        assert waiting.result_or(TIMEOUT_S) == 1
        assert [c.result_or(TIMEOUT_S) for c in rest] == [1, 2, 3, 4, 5]
        assert busy.result_or(TIMEOUT_S) == 0.3
        # Then the others were given back to the queue rather than left waiting behind it
        histories = app.state_backend.histories([c.invocation_id for c in rest])
        rerouted = [h for c in rest for h in histories[c.invocation_id] if h.status is S.REROUTED]
        assert rerouted and all("waits on other invocations" in (h.reason or "") for h in rerouted)
        assert_histories_valid(app)
    finally:
        runner.stop()
        app.purge()
        app.close()


def test_lease_expiry_is_on_the_servers_clock_so_skewed_holders_never_overlap(backend: RedisBackend) -> None:
    # Given a holder whose clock is 90 s behind takes the lease for 10 s
    state = backend.state()
    assert state.acquire_lease("skewed", "slow-clock", ttl_s=10, now=time.time() - 90)
    # Then a holder with the right time cannot take it: on the holder's clock it had expired long ago
    assert not state.acquire_lease("skewed", "right-clock", ttl_s=10, now=time.time())
    # And a holder 90 s ahead cannot either
    assert not state.acquire_lease("skewed", "fast-clock", ttl_s=10, now=time.time() + 90)


# --- a wait in two scripts (WaitSteps) -------------------------------------------------------------


def _running_on(backend: RedisBackend, runner_id: str, **fields: Any) -> InvocationRecord:
    """A new invocation RUNNING on ``runner_id`` (its history as a runner's take writes it)."""
    state = backend.state()
    new = record(**fields)
    state.register([new], None, NON_FINAL)
    state.transition(cas(new.invocation_id, S.PENDING, runner_id))
    started = state.transition(cas(new.invocation_id, S.RUNNING, runner_id)).record
    assert started.status is S.RUNNING
    return started


def _first(target_id: str, runner_id: str) -> tuple[TransitionRequest, TransitionRequest]:
    return cas(target_id, S.PENDING, runner_id), cas(target_id, S.RUNNING, runner_id)


def test_a_wait_pauses_then_claims_and_starts_its_first_target_and_drops_its_message(backend: RedisBackend) -> None:
    # Given a waiter RUNNING on runner-a and its child queued on the Redis broker
    state, broker = backend.state(), backend.broker()
    waiter = _running_on(backend, "runner-a")
    child = record(parent=waiter.invocation_id)
    backend.register_and_send([child], waiter.invocation_id, NON_FINAL)
    assert broker.depth("default") == 1
    pause = cas(waiter.invocation_id, S.PAUSED, "runner-a", reason="waiting on 1")
    first = _first(child.invocation_id, "runner-a")
    # When the wait's first step runs, and again as a client resending it after a lost reply
    step = state.pause_waiting(waiter.invocation_id, [child.invocation_id], pause, first)
    again = state.pause_waiting(waiter.invocation_id, [child.invocation_id], pause, first)
    # Then the waiter is PAUSED waiting on the child, which is RUNNING for runner-a, both once
    for answer in (step, again):
        assert answer.cycle is None
        assert answer.paused is not None and answer.paused.applied and answer.paused.record.status is S.PAUSED
        assert answer.claimed is not None and answer.claimed.applied
        assert answer.started is not None and answer.started.applied
        assert answer.started.record.status is S.RUNNING and answer.started.record.owner_id == "runner-a"
    assert [c.status for c in state.history(waiter.invocation_id)][-1:] == [S.PAUSED]
    assert [c.status for c in state.history(child.invocation_id)] == [S.REGISTERED, S.PENDING, S.RUNNING]
    assert state.waiter_counts([child.invocation_id]) == {child.invocation_id: 1}
    # And nobody else can receive the child: its message is gone from the queue
    assert broker.depth("default") == 0
    assert broker.receive(["default"], "runner-b", 0) is None


def test_a_wait_dropping_final_targets_on_a_final_one_does_nothing(backend: RedisBackend) -> None:
    # Given a waiter and a child that ended already
    state = backend.state()
    waiter = _running_on(backend, "runner-a")
    child = _running_on(backend, "runner-b", parent=waiter.invocation_id)
    state.transition(cas(child.invocation_id, S.SUCCESS, "runner-b"))
    pause = cas(waiter.invocation_id, S.PAUSED, "runner-a", reason="waiting on 1")
    # When the wait's first step is asked to leave final targets out (nothing was read before)
    step = state.pause_waiting(
        waiter.invocation_id, [child.invocation_id], pause, _first(child.invocation_id, "runner-a"), drop_final=True
    )
    # Then it says so and did nothing: the waiter still RUNNING, no edge, the child untouched
    assert step.cycle is None and step.paused is None and step.waited == {}
    assert state.get(waiter.invocation_id).status is S.RUNNING  # type: ignore[union-attr]
    assert state.waiter_counts([child.invocation_id]) == {}
    assert [c.status for c in state.history(child.invocation_id)][-1] is S.SUCCESS


def test_a_wait_dropping_final_targets_pauses_on_the_others_and_says_how_it_found_them(
    backend: RedisBackend,
) -> None:
    # Given a waiter, one child ended and one RUNNING on another runner
    state = backend.state()
    waiter = _running_on(backend, "runner-a")
    ended = _running_on(backend, "runner-b", parent=waiter.invocation_id)
    state.transition(cas(ended.invocation_id, S.SUCCESS, "runner-b"))
    busy = _running_on(backend, "runner-b", parent=waiter.invocation_id)
    pause = cas(waiter.invocation_id, S.PAUSED, "runner-a", reason="waiting on 2")
    # When the wait names both, the running one first (so its claim is offered and refused)
    step = state.pause_waiting(
        waiter.invocation_id,
        [busy.invocation_id, ended.invocation_id],
        pause,
        _first(busy.invocation_id, "runner-a"),
        drop_final=True,
    )
    # Then the waiter paused on the running child only, which it found RUNNING on runner-b
    assert step.paused is not None and step.paused.applied
    assert step.waited is not None and set(step.waited) == {busy.invocation_id}
    found = step.waited[busy.invocation_id]
    assert found.status is S.RUNNING and found.owner_id == "runner-b"
    assert step.claimed is not None and not step.claimed.applied and step.started is None
    assert state.waiter_counts([busy.invocation_id, ended.invocation_id]) == {busy.invocation_id: 1}


def test_a_wait_that_would_close_a_cycle_changes_nothing(backend: RedisBackend) -> None:
    # Given a waiting on b
    state = backend.state()
    a, b = _running_on(backend, "runner-a"), _running_on(backend, "runner-a")
    assert state.add_waits(a.invocation_id, [b.invocation_id]) is None
    # When b starts a wait on a
    pause = cas(b.invocation_id, S.PAUSED, "runner-a")
    step = state.pause_waiting(b.invocation_id, [a.invocation_id], pause, _first(a.invocation_id, "runner-a"))
    # Then the cycle is reported, and b is neither paused nor waiting, nor a claimed
    assert step.cycle == [b.invocation_id, a.invocation_id, b.invocation_id] and step.paused is None
    assert state.get(b.invocation_id).status is S.RUNNING  # type: ignore[union-attr]
    assert state.waiter_counts([a.invocation_id]) == {}
    assert [c.status for c in state.history(a.invocation_id)] == [S.REGISTERED, S.PENDING, S.RUNNING]


def test_a_refused_pause_claims_nothing_and_a_missing_waiter_raises(backend: RedisBackend) -> None:
    from pynenc_nb.exceptions import InvocationNotFoundError

    # Given a waiter recovered meanwhile (RUNNING on runner-b, not on the runner that waits)
    state, broker = backend.state(), backend.broker()
    waiter = _running_on(backend, "runner-b")
    child = record(parent=waiter.invocation_id)
    backend.register_and_send([child], waiter.invocation_id, NON_FINAL)
    # When runner-a's worker starts a wait for it
    pause = cas(waiter.invocation_id, S.PAUSED, "runner-a")
    step = state.pause_waiting(
        waiter.invocation_id, [child.invocation_id], pause, _first(child.invocation_id, "runner-a")
    )
    # Then the pause is refused, leaving no edge, and the child stays queued, its message waiting
    assert step.paused is not None and not step.paused.applied and step.paused.conflict == "owner"
    assert step.claimed is None and step.started is None
    assert state.waiter_counts([child.invocation_id]) == {}
    assert state.get(child.invocation_id).status is S.REGISTERED  # type: ignore[union-attr]
    assert broker.depth("default") == 1
    # And a waiter that does not exist raises, leaving no edge behind
    ghost = new_id()
    with pytest.raises(InvocationNotFoundError):
        state.pause_waiting(ghost, [child.invocation_id], cas(ghost, S.PAUSED, "runner-a"), None)
    with pytest.raises(InvocationNotFoundError):
        state.resume_waiting(ghost, [], cas(ghost, S.RUNNING, "runner-a"))
    assert state.waiter_counts([child.invocation_id]) == {}


def test_a_resume_stores_the_endings_drops_the_edges_and_resumes_once_on_resend(backend: RedisBackend) -> None:
    from pynenc_nb.records import Outcome

    # Given a waiter PAUSED on a child it runs itself
    state = backend.state()
    waiter = _running_on(backend, "runner-a")
    child = record(parent=waiter.invocation_id)
    state.register([child], waiter.invocation_id, NON_FINAL)
    pause = cas(waiter.invocation_id, S.PAUSED, "runner-a")
    assert state.pause_waiting(
        waiter.invocation_id, [child.invocation_id], pause, _first(child.invocation_id, "runner-a")
    ).started
    # When the child's ending (and one of a purged invocation) and the resume go in one step, twice
    ending = replace(cas(child.invocation_id, S.SUCCESS, "runner-a"), outcome=Outcome("result", "5", "5"))
    ghost = replace(cas(new_id(), S.SUCCESS, "runner-a"), outcome=Outcome("result", "1", "1"))
    resume = cas(waiter.invocation_id, S.RUNNING, "runner-a", reason="dependencies final")
    for _ in range(2):
        stored, resumed = state.resume_waiting(waiter.invocation_id, [ending, ghost], resume)
        # Then the ending is stored, the purged one reported missing, and the waiter RUNNING again
        assert stored[0] is not None and stored[0].applied and stored[0].record.status is S.SUCCESS
        assert stored[1] is None
        assert resumed.applied and resumed.record.status is S.RUNNING
    assert state.outcome(child.invocation_id) == Outcome("result", "5", "5")
    assert [c.status for c in state.history(child.invocation_id)][-1:] == [S.SUCCESS]
    assert [c.status for c in state.history(waiter.invocation_id)][-2:] == [S.PAUSED, S.RUNNING]
    assert state.waiter_counts([child.invocation_id]) == {}


def test_a_resume_refused_by_the_running_key_leaves_the_waiter_paused_and_unwaited(backend: RedisBackend) -> None:
    # Given a PAUSED waiter of running key k, while another invocation of k has started RUNNING
    state = backend.state()
    waiter = _running_on(backend, "runner-a", running_key="k")
    child = record(parent=waiter.invocation_id)
    state.register([child], waiter.invocation_id, NON_FINAL)
    assert state.pause_waiting(
        waiter.invocation_id, [child.invocation_id], cas(waiter.invocation_id, S.PAUSED, "runner-a"), None
    ).paused
    other = record(running_key="k")
    state.register([other], None, NON_FINAL)
    state.transition(cas(other.invocation_id, S.PENDING, "runner-b"))
    assert state.transition(cas(other.invocation_id, S.RUNNING, "runner-b", exclusive_key="k")).applied  # takes k
    # When the waiter's resume is tried, exclusive on k
    resume = cas(waiter.invocation_id, S.RUNNING, "runner-a", exclusive_key="k")
    stored, resumed = state.resume_waiting(waiter.invocation_id, [], resume)
    # Then it is refused for the key: the waiter stays PAUSED, its edges gone, for a plain retry
    assert stored == [] and not resumed.applied and resumed.conflict == "exclusive"
    assert state.get(waiter.invocation_id).status is S.PAUSED  # type: ignore[union-attr]
    assert state.waiter_counts([child.invocation_id]) == {}


def test_a_thread_runner_on_redis_does_each_wait_in_two_scripts_reads_nothing_first_and_sends_calls_ahead(
    backend: RedisBackend, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.runner_support import running

    # Given an app on Redis whose scripts are counted
    app = Pynenc(
        config_values={
            "app_id": backend.conn.keys.prefix.split("{")[1].split("}")[0],
            "backend_url": url,
            "logging_level": "warning",
        }
    )
    calls: list[str] = []
    original = Connection.eval

    def counted(self: Connection, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        calls.append(name)
        return original(self, name, keys, args)

    monkeypatch.setattr(Connection, "eval", counted)
    sent_ahead: list[str] = []
    original_ahead = Connection.send_ahead

    def counted_ahead(self: Connection, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        sent_ahead.append(name)
        original_ahead(self, name, keys, args)

    monkeypatch.setattr(Connection, "send_ahead", counted_ahead)
    reads: list[int] = []
    get_many = type(app.state_backend).get_many

    def counted_reads(self: Any, ids: Sequence[str]) -> Any:
        reads.append(len(ids))
        return get_many(self, ids)

    monkeypatch.setattr(type(app.state_backend), "get_many", counted_reads)

    @app.task
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1).result + fib(n - 2).result

    try:
        # When nested calls wait on their children on a two-slot thread runner
        with running(app, max_threads=2):
            assert fib(7).result == 13
        # Then each pause was one wait_pause script, each resume one wait_resume, no separate edges;
        # each wait on a child is one wait_pause, which does nothing when the child is final already
        histories = app.state_backend.histories(
            [r.invocation_id for r in app.state_backend.query(InvocationFilter(), limit=1000)[0]]
        )
        pauses = sum(1 for history in histories.values() for change in history if change.status is S.PAUSED)
        parents = (len(histories) - 1) // 2  # a full binary call tree: every parent waits on two children
        assert pauses > 0
        assert calls.count("wait_resume") == pauses
        assert calls.count("wait_pause") == 2 * parents
        assert "add_waits" not in calls and "remove_waits" not in calls
        # And no wait read its child first: the pause checks it is not final itself
        assert reads == []
        # And every child's registration was sent ahead (the task went on without its reply);
        # only the root's, from the test's own thread, was waited for
        assert sent_ahead == ["register"] * (len(histories) - 1)
        assert calls.count("register") == 1
        assert_histories_valid(app)
    finally:
        app.close()


def test_a_resent_pause_whose_waiter_was_taken_meanwhile_still_reports_the_target_it_started(
    backend: RedisBackend,
) -> None:
    # Given a wait whose first run paused the waiter and started its child for runner-a, its reply lost
    state = backend.state()
    waiter = _running_on(backend, "runner-a")
    child = record(parent=waiter.invocation_id)
    backend.register_and_send([child], waiter.invocation_id, NON_FINAL)
    pause = cas(waiter.invocation_id, S.PAUSED, "runner-a", reason="waiting on 1")
    first = _first(child.invocation_id, "runner-a")
    assert state.pause_waiting(waiter.invocation_id, [child.invocation_id], pause, first).started
    # And the waiter killed before the client sends the script again
    assert state.transition(cas(waiter.invocation_id, S.KILLED, None)).applied
    # When the same script is sent again
    again = state.pause_waiting(waiter.invocation_id, [child.invocation_id], pause, first)
    # Then the pause is refused, but the child this worker started is reported (for it to hand back)
    assert again.paused is not None and not again.paused.applied
    assert again.started is not None and again.started.applied and again.started.record.owner_id == "runner-a"
    assert state.waiter_counts([child.invocation_id]) == {}


def test_a_target_started_for_a_waiter_that_could_not_pause_is_handed_back(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynenc_nb.backends.redis.state import RedisState
    from pynenc_nb.blocking import BlockingWaits
    from pynenc_nb.interrupt import Interrupted
    from pynenc_nb.ports.state import PausedWait
    from pynenc_nb.records import RunnerContext

    # Given a runner's wait whose pause comes back refused (the waiter killed) with its child started here
    app = Pynenc(config_values={"app_id": f"test-{new_id()[:8]}", "backend_url": url, "logging_level": "error"})
    try:
        state = app.state_backend
        assert isinstance(state, RedisState)
        waiter = record()
        child = record(parent=waiter.invocation_id)
        state.register([waiter], None, NON_FINAL)
        state.transition(cas(waiter.invocation_id, S.PENDING, "runner-a"))
        waiter = state.transition(cas(waiter.invocation_id, S.RUNNING, "runner-a")).record
        app.backends.register_and_send([child], waiter.invocation_id, NON_FINAL)
        real = state.pause_waiting

        def lost_then_killed(*args: Any, **kwargs: Any) -> PausedWait:
            real(*args, **kwargs)  # the first run, its reply lost
            state.transition(cas(waiter.invocation_id, S.KILLED, None))
            resent: PausedWait = real(*args, **kwargs)
            return resent

        monkeypatch.setattr(state, "pause_waiting", lost_then_killed)

        class Slots:
            def paused(self) -> None: ...
            def resumed(self) -> None: ...
            def may_run_here(self, _: InvocationRecord) -> bool:
                return True

            def run_here(self, *_: Any) -> None:
                raise AssertionError("nothing runs here once the waiter is gone")

        context = RunnerContext("runner-a", "ThreadRunner", "host", 1, started_at=time.time())
        waits = BlockingWaits(app.orchestrator, context, Slots())
        # When the waiter starts waiting on its child
        with pytest.raises(Interrupted):
            waits.wait_for(waiter, [child.invocation_id], None)
        # Then the child is not left RUNNING on a live runner that will never run it: it is queued again
        assert state.get(child.invocation_id).status is S.REROUTED  # type: ignore[union-attr]
        assert app.broker.depth() >= 1
        assert state.waiter_counts([child.invocation_id]) == {}
    finally:
        app.purge()
        app.close()
