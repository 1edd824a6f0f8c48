"""``pynenc monitor``: the page's Logs section posts to the logs route as the page does (its
session cookie and XSRF token); without them the route refuses."""

from __future__ import annotations

import html as html_module
import http.client
import json
import re
from pathlib import Path

from pynenc_nb import Pynenc
from pynenc_nb.app_registry import public_key
from pynenc_nb.records import InvocationFilter
from tests.e2e.support import TIMEOUT_S
from tests.e2e.test_cli_monitor import app, monitor  # noqa: F401  # the app fixture


def test_the_page_has_a_logs_section_over_the_logs_route(app: Pynenc, tmp_path: Path) -> None:  # noqa: F811
    (record,), _ = app.state_backend.query(InvocationFilter(), limit=1)
    key = public_key(app.app_id, app.conf.backend_url)
    pasted = f"2026-03-05 07:56:08.002+01:00 INFO     pynenc.app [{record.invocation_id}:{record.task_id}] done\nnoise"
    with monitor(tmp_path) as server:
        page = server.request("GET", f"/?token={server.token}")
        cookie = "; ".join(c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie") or [])
        shown = server.request("GET", "/", {"Cookie": cookie})
        cookie = "; ".join([cookie, *(c.split(";", 1)[0] for c in shown.headers.get_all("Set-Cookie") or [])])
        html = shown.read().decode()
        xsrf = re.search(r'name="xsrf-token" content="([^"]+)"', html)
        assert xsrf is not None
        assert 'id="logs"' in html and 'id="logs-text"' in html and 'id="logs-parse"' in html
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT_S)
        connection.request(
            "POST",
            f"/pynenc/api/apps/{key}/logs",
            body=json.dumps({"text": pasted}).encode(),
            headers={
                "Cookie": cookie,
                "X-XSRFToken": html_module.unescape(xsrf[1]),
                "Content-Type": "application/json",
            },
        )
        answer = connection.getresponse()
        assert answer.status == 200
        data = json.loads(answer.read())
        assert (data["parsed"], data["unparsed"]) == (1, 1)
        (found,) = data["invocations"]
        assert found["found"] and found["invocation"]["status"] == "SUCCESS" and data["figure"]["data"]
        assert server.request("POST", f"/pynenc/api/apps/{key}/logs").status == 403  # no token, no cookie
