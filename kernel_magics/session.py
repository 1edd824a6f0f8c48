"""What the magics act on: the chosen app of a notebook, with results rendered for display."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kernel_magics import launchers
from pynenc_nb.app import Pynenc, app_of
from pynenc_nb.exceptions import ConfigError, InvocationNotFoundError, RunnerError, TriggerError
from pynenc_nb.invocation.handle import Invocation
from pynenc_nb.invocation.status import InvocationStatus
from pynenc_nb.launched_runners import LaunchedRunners
from pynenc_nb.summary import app_summary, format_summary

if TYPE_CHECKING:
    from pynenc_nb.widgets import EventsBrowser, FamilyTree, MonitorPanel, Timeline, WorkflowPanel, WorkflowsBrowser


class Rendered:
    """Plain text for terminals, an escaped HTML table for notebooks (key/value rows or a grid)."""

    def __init__(
        self,
        text: str,
        rows: list[tuple[str, str]],
        header: list[str] | None = None,
        grid: list[list[str]] | None = None,
    ) -> None:
        self.text = text
        self.rows = rows
        self.header = header
        self.grid = grid

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        cell = "style='text-align:left'"
        if self.header is not None and self.grid is not None:
            head = "".join(f"<th {cell}>{html.escape(h)}</th>" for h in self.header)
            body = "".join(
                "<tr>" + "".join(f"<td {cell}>{html.escape(v)}</td>" for v in row) + "</tr>" for row in self.grid
            )
            return f"<table><tr>{head}</tr>{body}</table>"
        body = "".join(
            f"<tr><th {cell}>{html.escape(k)}</th><td {cell}>{html.escape(v)}</td></tr>" for k, v in self.rows
        )
        return f"<table>{body}</table>"


class EmittedEvent(str):
    """The id of an event ``%pynenc emit`` stored and printed: a string for code that keeps it
    (``event_id = %pynenc emit ...``), shown no second time as a cell's last value."""

    def _ipython_display_(self) -> None:
        pass


class AlreadyShown(Rendered):
    """A rendering the magic displayed itself (so that each of several magic lines in one cell
    shows); returned for code that reads it, and shown no second time as a cell's last value."""

    def _ipython_display_(self) -> None:
        pass


def grid(header: list[str], rows: list[list[str]]) -> Rendered:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return Rendered("\n".join(lines) if rows else "(none)", [], header, rows)


class NotebookSession:
    def __init__(self, namespace: Callable[[], Mapping[str, Any]]) -> None:
        self._namespace = namespace
        self._app: Pynenc | None = None

    @property
    def app(self) -> Pynenc:
        """The chosen app, or the only Pynenc app in the notebook's namespace."""
        if self._app is not None:
            return self._app
        apps = {name: value for name, value in self._namespace().items() if isinstance(value, Pynenc)}
        if len(apps) == 1:
            return next(iter(apps.values()))
        if not apps:
            raise ConfigError("no Pynenc app in this notebook yet: create one (app = Pynenc(...)) first")
        raise ConfigError(f"several apps ({', '.join(sorted(apps))}): choose one with %pynenc app NAME")

    def choose(self, expression: str) -> Pynenc:
        try:
            value = eval(expression, {}, dict(self._namespace()))  # the user's own expression, in their kernel
        except Exception as exc:
            raise ConfigError(f"%pynenc app {expression}: {type(exc).__name__}: {exc}") from None
        if not isinstance(value, Pynenc):
            raise ConfigError(f"{expression!r} is a {type(value).__name__}, not a Pynenc app")
        self._app = value
        return value

    def status(self) -> Rendered:
        summary = app_summary(self.app)
        rows = [("app", summary["app_id"]), ("backend", summary["backend"]), ("queued", str(summary["queued"]))]
        rows += [(status, str(n)) for status, n in summary["counts"].items()]
        rows += [
            (
                f"runner {r['label']}",
                f"{r['state']}, heartbeat {r['heartbeat_age_s']:.1f}s ago, busy {r['busy']}/{r['slots']}",
            )
            for r in summary["runners"]
        ]
        return Rendered(format_summary(summary), rows)

    # --- runners ---------------------------------------------------------------------------------

    def start_runner(self, **options: Any) -> Rendered:
        entry = launchers.start_runner(self.app, **options)
        return self.list_runners(only=entry.name)

    def list_runners(self, only: str | None = None) -> Rendered:
        rows = [r for r in launchers.list_runners(self.app) if only is None or r["name"] == only]
        header = ["name", "kind", "pid / kernel", "runner id", "heartbeat", "state"]
        return grid(
            header,
            [
                [
                    r["name"],
                    r["kind"] + (" (detached)" if r["detach"] else ""),
                    r["kernel_id"][:8] if r["kernel_id"] else str(r["pid"]),
                    r["runner_id"][:12],
                    "-" if r["heartbeat_age_s"] is None else f"{r['heartbeat_age_s']:.1f}s ago",
                    r["state"],
                ]
                for r in rows
            ],
        )

    def stop_runners(self, name: str | None) -> Rendered:
        stopped = launchers.stop_all(self.app) if name is None else {name: launchers.stop_runner(self.app, name)}
        return grid(["name", "state"], [[n, state] for n, state in stopped.items()])

    def logs(self, name: str, lines: int) -> Rendered:
        entry = LaunchedRunners().get(name)
        if entry is None:
            raise RunnerError(f"no launched runner named {name!r}")
        text = launchers.tail(entry, lines)
        return Rendered(text, [(name, text)])

    # --- widgets -------------------------------------------------------------------------------------

    def timeline(self, since: str, task: str | None, live: bool) -> Timeline:
        from pynenc_nb.widgets import Timeline

        return Timeline(self.app, since, task=task, live=live)

    def tree(self, reference: str, depth: int = 3) -> FamilyTree:
        from pynenc_nb.widgets import FamilyTree

        app, invocation_id = self.invocation_ref(reference)
        try:
            return FamilyTree(invocation_id, app, depth=depth)
        except InvocationNotFoundError:
            raise _not_found(app, invocation_id) from None

    def monitor(self) -> MonitorPanel:
        from pynenc_nb.widgets import MonitorPanel

        return MonitorPanel(self.app)

    def invocation_ref(self, reference: str) -> tuple[Pynenc, str]:
        """A notebook variable holding an Invocation (or an id string), else the text as an id."""
        namespace = self._namespace()
        if reference.isidentifier() and reference in namespace:
            value = namespace[reference]
            if isinstance(value, Invocation):
                return app_of(value), value.invocation_id
            if isinstance(value, str):
                return self.app, value
            raise ConfigError(
                f"{reference} is a {type(value).__name__}, not an Invocation: "
                "pass an invocation id or a variable holding an Invocation"
            )
        return self.app, reference

    def emit(self, event_code: str, payload: str | None) -> str:
        """Store an event whose payload is typed as JSON text; returns its id."""
        expected = f'event {event_code}: the event payload must be a JSON object, e.g. \'{{"source": "feed"}}\''
        try:
            data = json.loads(payload) if payload else {}
        except json.JSONDecodeError as exc:
            raise TriggerError(f"{expected}; {payload!r} is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise TriggerError(f"{expected}; got {payload!r}")
        return self.app.trigger.emit_event(event_code, data)

    def kill(self, references: list[str], *, reason: str) -> dict[str, InvocationStatus]:
        """Kill each invocation (an id or a variable holding one); returns each one's status after."""
        statuses: dict[str, InvocationStatus] = {}
        for reference in references:
            app, invocation_id = self.invocation_ref(reference)
            try:
                statuses[invocation_id] = app.orchestrator.kill(invocation_id, reason=reason).status
            except InvocationNotFoundError:
                raise _not_found(app, invocation_id) from None
        return statuses

    def events(
        self, *, since: str, code: str | None = None, matched: bool | None = None, limit: int = 50, live: bool = True
    ) -> EventsBrowser:
        from pynenc_nb.widgets import EventsBrowser

        return EventsBrowser(self.app, since, code=code, matched=matched, limit=limit, live=live)

    def workflows(self, *, workflow_type: str | None = None, limit: int = 50, live: bool = True) -> WorkflowsBrowser:
        from pynenc_nb.widgets import WorkflowsBrowser

        return WorkflowsBrowser(self.app, workflow_type=workflow_type, limit=limit, live=live)

    def workflow(self, reference: str, *, live: bool = True) -> WorkflowPanel:
        from pynenc_nb.widgets import WorkflowPanel

        app, workflow_id = self.invocation_ref(reference)
        return WorkflowPanel(app, workflow_id, live=live)

    def config(self) -> Rendered:
        data = self.app.conf.public_dict()
        return Rendered("\n".join(f"{k:<30} {v}" for k, v in data.items()), [(k, str(v)) for k, v in data.items()])


def _not_found(app: Pynenc, invocation_id: str) -> InvocationNotFoundError:
    """What a magic naming an invocation the app does not have says."""
    return InvocationNotFoundError(
        f"no invocation {invocation_id!r} in app {app.app_id!r}: pass an invocation id, "
        "or the name of a variable holding an Invocation",
        invocation_id=invocation_id,
    )
