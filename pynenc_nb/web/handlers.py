"""The API's Tornado handlers, written once and mounted on a server-specific base class.

Each route class below subclasses :class:`MonitorHandler` (a ``RequestHandler``) and decorates
every method with ``tornado.web.authenticated`` and Jupyter's ``authorized`` (resource
:data:`AUTH_RESOURCE`). :func:`api_handlers` combines each with the server's base handler —
Jupyter's ``APIHandler`` in the server extension, a token-checking handler in ``pynenc monitor``
— which supplies ``current_user``, the authorizer and the XSRF check. Nothing else differs.

Responses are JSON. Our errors map to statuses with a message and no traceback: unknown app,
invocation or runner 404; bad parameter 400; a runner that cannot be stopped or an app that
cannot be opened 409; a backend that does not answer 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

import tornado.web
from jupyter_server.auth.decorator import authorized
from tornado.web import HTTPError, RequestHandler

from pynenc_nb.conf.urls import redact_text
from pynenc_nb.exceptions import (
    AppNotFoundError,
    BackendError,
    ConfigError,
    InvalidMonitorQueryError,
    InvocationError,
    InvocationNotFoundError,
    PynencError,
    RunnerError,
)
from pynenc_nb.web import launched, queries
from pynenc_nb.web.catalog import AppCatalog, OpenApp

API_PREFIX = "pynenc/api"
AUTH_RESOURCE = "pynenc"  # what a custom Jupyter Authorizer sees as the resource of every route
CATALOG_SETTING = "pynenc_catalog"  # the AppCatalog in the Tornado application's settings
_log = logging.getLogger("pynenc.web")

# Most specific first.
_STATUS: tuple[tuple[type[PynencError], int], ...] = (
    (AppNotFoundError, 404),
    (InvocationNotFoundError, 404),
    (launched.UnknownRunnerError, 404),
    (InvalidMonitorQueryError, 400),
    (InvocationError, 409),
    (RunnerError, 409),
    (ConfigError, 409),
    (BackendError, 503),
)


def api_error(exc: PynencError) -> HTTPError:
    """Our exception as an HTTP error whose message is safe to show (URL passwords redacted)."""
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
    return HTTPError(status, "%s", redact_text(str(exc)))


class MonitorHandler(RequestHandler):
    """Shared behaviour of every route: the catalog, work in its pool, JSON answers and errors."""

    auth_resource = AUTH_RESOURCE

    @property
    def catalog(self) -> AppCatalog:
        return cast(AppCatalog, self.settings[CATALOG_SETTING])

    async def _run(self, work: Callable[[], Any]) -> str:
        """Run blocking ``work`` in the catalog's pool and encode its answer there too."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.catalog.executor, lambda: json.dumps(work()))
        except PynencError as exc:
            raise api_error(exc) from None
        except RuntimeError as exc:
            if "shutdown" in str(exc):  # the pool is closed: the server is stopping
                raise HTTPError(503, "the monitor server is stopping") from None
            raise

    async def answer(self, work: Callable[[], Any]) -> None:
        self._send(await self._run(work))

    async def answer_for(self, key: str, query: Callable[[OpenApp], Any]) -> None:
        """Answer with ``query`` over app ``key`` (opened on first use, in the pool)."""
        catalog = self.catalog
        self._send(await self._run(lambda: query(catalog.open(key))))

    def _send(self, text: str) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)

    def query_list(self, name: str) -> list[str]:
        return self.get_query_arguments(name)

    def query_text(self, name: str) -> str | None:
        return self.get_query_argument(name, None)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON ``{"message", "reason", "status"}``; never a traceback, never a URL password."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        reason = self._reason or HTTPStatus(status_code).phrase
        message = reason
        if isinstance(exc, HTTPError):
            if exc.log_message:
                try:
                    message = exc.log_message % exc.args if exc.args else exc.log_message
                except (TypeError, ValueError):
                    message = exc.log_message
        elif exc is not None:
            message = "internal error; the server log has the details"
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"message": redact_text(message), "reason": reason, "status": status_code}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Like Tornado's, with URL passwords redacted from messages and tracebacks."""
        if isinstance(value, HTTPError):  # the access log has the status; only server-side trouble here
            if value.status_code >= 500:
                _log.warning("%s %s: %s", value.status_code, self._request_summary(), redact_text(str(value)))
            return
        text = redact_text("".join(traceback.format_exception(typ, value, tb)))
        _log.error("uncaught exception in %s\n%s", self._request_summary(), text)


def _known(open_app: OpenApp) -> dict[str, Any]:
    return open_app.known.public()


class AppsHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        catalog = self.catalog
        await self.answer(lambda: queries.apps(catalog))


class StatusesHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(queries.statuses)


class SummaryHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        def work(app: OpenApp) -> dict[str, Any]:
            kinds = launched.launched_kinds_or_none(app.known.entry)
            return {"app": _known(app), **queries.summary(app.monitor, kinds)}

        await self.answer_for(key, work)


class RunnersHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        include_stopped = queries.parse_bool("include_stopped", self.query_text("include_stopped"))

        def work(app: OpenApp) -> queries.RunnersJson:
            kinds = launched.launched_kinds_or_none(app.known.entry)
            return queries.runners(app.monitor, kinds, include_stopped=include_stopped)

        await self.answer_for(key, work)


class StopRunnerHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, key: str, name: str) -> None:
        await self.answer_for(key, lambda app: launched.stop(app.app, app.known.entry, name))


class InvocationsHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        statuses, task = self.query_list("status"), self.query_text("task")
        limit, cursor = self.query_text("limit"), self.query_text("cursor")
        await self.answer_for(key, lambda app: queries.invocations(app.monitor, statuses, task, limit, cursor))


class InvocationHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str, invocation_id: str) -> None:
        await self.answer_for(key, lambda app: queries.detail(app.monitor, invocation_id))


class RerunHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, key: str, invocation_id: str) -> None:
        await self.answer_for(key, lambda app: queries.rerun(app.app, invocation_id))


class KillHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, key: str, invocation_id: str) -> None:
        await self.answer_for(key, lambda app: queries.kill(app.app, invocation_id))


class TreeHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str, invocation_id: str) -> None:
        depth, figure = self.query_text("depth"), self.query_text("figure")
        await self.answer_for(key, lambda app: queries.tree(app.monitor, invocation_id, depth, figure))


class TimelineHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        since, until, task = self.query_text("since"), self.query_text("until"), self.query_text("task")
        statuses, limit, cursor = self.query_list("status"), self.query_text("limit"), self.query_text("cursor")
        figure = self.query_text("figure")

        def work(app: OpenApp) -> queries.TimelineAnswerJson:
            return queries.timeline(app.monitor, since, until, task, statuses, limit, cursor, figure)

        await self.answer_for(key, work)


class TasksHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        await self.answer_for(key, lambda app: queries.tasks(app.monitor))


class EventsHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        code, matched = self.query_text("code"), self.query_text("matched")
        since, until = self.query_text("since"), self.query_text("until")
        limit, cursor = self.query_text("limit"), self.query_text("cursor")

        def work(app: OpenApp) -> queries.EventsJson:
            return queries.events(app.monitor, code, since, until, matched, limit, cursor)

        await self.answer_for(key, work)


class TriggerRunsHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        trigger, limit = self.query_text("trigger"), self.query_text("limit")
        await self.answer_for(key, lambda app: queries.trigger_runs(app.monitor, trigger, limit))


class TriggersHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        await self.answer_for(key, lambda app: queries.triggers(app.monitor))


class WorkflowsHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        workflow_type, statuses = self.query_text("type"), self.query_list("status")
        limit, cursor = self.query_text("limit"), self.query_text("cursor")

        def work(app: OpenApp) -> queries.WorkflowsJson:
            return queries.workflows(app.monitor, workflow_type, statuses, limit, cursor)

        await self.answer_for(key, work)


class WorkflowHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, key: str, workflow_id: str) -> None:
        limit, cursor = self.query_text("limit"), self.query_text("cursor")
        await self.answer_for(key, lambda app: queries.workflow(app.monitor, workflow_id, limit, cursor))


class LogsHandler(MonitorHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, key: str) -> None:
        body = self.request.body
        await self.answer_for(key, lambda app: queries.logs(app.monitor, queries.logs_text(body)))


_PART = r"([^/]+)"
ROUTES: tuple[tuple[str, type[MonitorHandler]], ...] = (
    (r"statuses", StatusesHandler),
    (r"apps/?", AppsHandler),
    (rf"apps/{_PART}/summary", SummaryHandler),
    (rf"apps/{_PART}/runners", RunnersHandler),
    (rf"apps/{_PART}/runners/{_PART}/stop", StopRunnerHandler),
    (rf"apps/{_PART}/invocations", InvocationsHandler),
    (rf"apps/{_PART}/invocations/{_PART}", InvocationHandler),
    (rf"apps/{_PART}/invocations/{_PART}/tree", TreeHandler),
    (rf"apps/{_PART}/invocations/{_PART}/rerun", RerunHandler),
    (rf"apps/{_PART}/invocations/{_PART}/kill", KillHandler),
    (rf"apps/{_PART}/timeline", TimelineHandler),
    (rf"apps/{_PART}/tasks", TasksHandler),
    (rf"apps/{_PART}/events", EventsHandler),
    (rf"apps/{_PART}/triggers", TriggersHandler),
    (rf"apps/{_PART}/trigger_runs", TriggerRunsHandler),
    (rf"apps/{_PART}/workflows", WorkflowsHandler),
    (rf"apps/{_PART}/workflows/{_PART}", WorkflowHandler),
    (rf"apps/{_PART}/logs", LogsHandler),
)


_MOUNTED: dict[tuple[type[MonitorHandler], type[RequestHandler]], type[RequestHandler]] = {}


def _mounted(route: type[MonitorHandler], base: type[RequestHandler]) -> type[RequestHandler]:
    """``route`` on ``base``: the route's methods first, then the server's authentication."""
    mounted = _MOUNTED.get((route, base))
    if mounted is None:
        made = type(route.__name__, (route, base), {"__module__": route.__module__})
        mounted = _MOUNTED[(route, base)] = cast("type[RequestHandler]", made)
    return mounted


def api_handlers(base: type[RequestHandler], prefix: str) -> list[tuple[str, type[RequestHandler]]]:
    """URL patterns under ``prefix`` (e.g. ``/base/pynenc/api/``) with every route mounted on ``base``."""
    prefix = prefix.rstrip("/") + "/"
    return [(prefix + pattern + "$", _mounted(route, base)) for pattern, route in ROUTES]


__all__ = ["API_PREFIX", "AUTH_RESOURCE", "CATALOG_SETTING", "ROUTES", "MonitorHandler", "api_error", "api_handlers"]
