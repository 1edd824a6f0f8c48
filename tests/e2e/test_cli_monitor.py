"""``pynenc monitor`` as a user runs it: its own process, a token, loopback only by default."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pynenc_nb import Pynenc
from pynenc_nb.app_registry import public_key
from pynenc_nb.records import new_id
from tests.e2e.support import PYTHON_M, TIMEOUT_S, cli_env
from tests.support.processes import poll

SECRET = "pw-s3cret"


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    token: str
    listening: list[str]
    stderr: Path

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        connection.request(method, path, body=b"" if method == "POST" else None, headers=headers or {})
        return connection.getresponse()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pynenc]:
    """A SQLite app with a few invocations (dev mode), recorded in a private registry."""
    monkeypatch.setenv("PYNENC_NB_APP_REGISTRY", str(tmp_path / "apps.json"))
    url = f"sqlite://{tmp_path / 'monitored.db'}"
    app = Pynenc(
        config_values={
            "app_id": f"cli-{new_id()[:8]}",
            "backend_url": url,
            "dev_mode_force_sync_tasks": True,
            "logging_level": "error",
        }
    )

    @app.task
    def add(a: int, b: int) -> int:
        return a + b

    assert [add(i, 1).result for i in range(3)] == [1, 2, 3]
    yield app
    app.close()


@contextlib.contextmanager
def monitor(tmp_path: Path, *args: str) -> Iterator[Server]:
    out, err = tmp_path / "monitor.out", tmp_path / "monitor.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen(
            [*PYTHON_M, "monitor", "--port", "0", *args],
            env=cli_env({}),
            cwd=str(tmp_path),
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
    try:
        text = poll(lambda: _started(out, process), TIMEOUT_S, message="the address to open")
        match = re.search(r"open http://[^:/]+:(\d+)/\?token=(\S+)", text)
        assert match is not None, text
        listening = re.findall(r"listening on (\S+)", text)
        yield Server(process, int(match[1]), match[2], listening, err)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, err.read_text()  # SIGTERM is a clean stop


def _started(out: Path, process: subprocess.Popen[str]) -> str | None:
    text = out.read_text()
    if "open http" in text:
        return text
    assert process.poll() is None, f"pynenc monitor exited with {process.returncode}: {text}"
    return None


def test_page_and_api_need_the_token(app: Pynenc, tmp_path: Path) -> None:
    with monitor(tmp_path) as server:
        # Without the token: nothing, not even the scripts
        for path in ("/", "/static/monitor.js", "/static/plotly.min.js", "/pynenc/api/apps"):
            refused = server.request("GET", path)
            assert refused.status == 403, path
            assert app.app_id not in refused.read().decode()
        wrong = server.request("GET", "/pynenc/api/apps", {"Authorization": "token not-the-token"})
        assert wrong.status == 403

        # With the token as a header: the API answers, without the backend URL
        listed = server.request("GET", "/pynenc/api/apps", {"Authorization": f"token {server.token}"})
        assert listed.status == 200
        text = listed.read().decode()
        (entry,) = json.loads(text)["apps"]
        key = public_key(app.app_id, app.conf.backend_url)
        assert (entry["key"], entry["app_id"], entry["backend"]) == (key, app.app_id, "sqlite: monitored.db")
        assert app.conf.backend_url not in text and str(tmp_path) not in text

        # The first visit with ?token= sets a cookie and drops the token from the address
        first = server.request("GET", f"/?token={server.token}")
        assert first.status == 302 and first.getheader("Location") == "/"
        cookie = "; ".join(c.split(";", 1)[0] for c in first.headers.get_all("Set-Cookie") or [])
        page = server.request("GET", "/", {"Cookie": cookie})
        html = page.read().decode()
        assert page.status == 200 and "pynenc monitor" in html
        assert "default-src 'none'" in (page.getheader("Content-Security-Policy") or "")
        xsrf_cookie = "; ".join(c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie") or [])
        xsrf = re.search(r'name="xsrf-token" content="([^"]+)"', html)
        assert xsrf is not None and xsrf_cookie
        script = server.request("GET", "/static/plotly.min.js", {"Cookie": cookie, "Accept-Encoding": "gzip"})
        assert script.status == 200 and script.getheader("Content-Encoding") == "gzip"
        summary = server.request("GET", f"/pynenc/api/apps/{key}/summary", {"Cookie": cookie})
        assert summary.status == 200 and json.loads(summary.read())["counts"]["SUCCESS"] == 3

        # A POST needs the XSRF token on top of the cookie
        stop = f"/pynenc/api/apps/{key}/runners/nobody/stop"
        refused = server.request("POST", stop, {"Cookie": cookie})
        assert refused.status == 403 and "_xsrf" in refused.read().decode()
        allowed = server.request("POST", stop, {"Cookie": f"{cookie}; {xsrf_cookie}", "X-XSRFToken": xsrf[1]})
        assert allowed.status == 404 and "no runner named 'nobody'" in json.loads(allowed.read())["message"]


def _addresses_of_this_machine() -> set[str]:
    found: set[str] = set()
    with contextlib.suppress(OSError):
        found.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # picks the outgoing interface; sends nothing
        found.add(probe.getsockname()[0])
    return {a for a in found if not ipaddress.ip_address(a).is_loopback and not ipaddress.ip_address(a).is_unspecified}


def test_it_listens_on_loopback_only_by_default(app: Pynenc, tmp_path: Path) -> None:
    with monitor(tmp_path) as server:
        assert server.listening == [f"127.0.0.1:{server.port}"]
        for address in _addresses_of_this_machine():
            with pytest.raises(OSError), socket.create_connection((address, server.port), timeout=2):
                pass
        assert "WARNING" not in server.stderr.read_text()


def test_a_non_loopback_host_is_warned_about(app: Pynenc, tmp_path: Path) -> None:
    with monitor(tmp_path, "--host", "0.0.0.0") as server:
        assert server.listening == [f"0.0.0.0:{server.port}"]
        assert "WARNING: listening on 0.0.0.0" in server.stderr.read_text()


def test_app_ids_not_in_the_registry_are_built_from_settings(app: Pynenc, tmp_path: Path) -> None:
    with monitor(tmp_path, "--app", "elsewhere") as server:
        listed = server.request("GET", "/pynenc/api/apps", {"Authorization": f"token {server.token}"})
        (entry,) = json.loads(listed.read())["apps"]
        # the SQLite default of that app id in the monitor's folder, which does not exist
        assert (entry["app_id"], entry["backend"], entry["available"]) == ("elsewhere", "sqlite: elsewhere.db", False)
        gone = server.request(
            "GET", f"/pynenc/api/apps/{entry['key']}/summary", {"Authorization": f"token {server.token}"}
        )
        assert gone.status == 404 and "no longer exists" in json.loads(gone.read())["message"]
        assert not (tmp_path / ".pynenc" / "elsewhere.db").exists()  # looking never creates a database


def test_the_page_has_an_events_section_over_the_events_routes(app: Pynenc, tmp_path: Path) -> None:
    # Given an app that emitted an event
    event_id = app.trigger.emit_event("feed_updated", {"feed": "rss"})
    key = public_key(app.app_id, app.conf.backend_url)
    with monitor(tmp_path) as server:
        auth = {"Authorization": f"token {server.token}"}
        # When the page and the events routes are read with the token
        page = server.request("GET", f"/?token={server.token}")
        cookie = "; ".join(c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie") or [])
        html = server.request("GET", "/", {"Cookie": cookie}).read().decode()
        events = server.request("GET", f"/pynenc/api/apps/{key}/events?since=1h", auth)
        triggers = server.request("GET", f"/pynenc/api/apps/{key}/triggers", auth)
        # Then the page has the events section and the API lists the event with its payload
        assert 'id="events"' in html and 'id="events-code"' in html and 'id="events-matched"' in html
        assert events.status == 200 and triggers.status == 200
        (row,) = json.loads(events.read())["items"]
        assert (row["event_id"], row["code"], json.loads(row["payload"])) == (event_id, "feed_updated", {"feed": "rss"})
        assert json.loads(triggers.read()) == {"items": []}
        assert server.request("GET", f"/pynenc/api/apps/{key}/events").status == 403  # no token, no cookie
