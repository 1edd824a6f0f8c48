"""What the magics act on: the chosen app of a notebook, with results rendered for display."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from pynenc_nb.app import Pynenc
from pynenc_nb.exceptions import ConfigError
from pynenc_nb.summary import app_summary, format_summary


class Rendered:
    """Plain text for terminals, an escaped HTML table for notebooks."""

    def __init__(self, text: str, rows: list[tuple[str, str]]) -> None:
        self.text = text
        self.rows = rows

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.rows
        )
        return f"<table>{body}</table>"


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
        value = eval(expression, {}, dict(self._namespace()))  # the user's own expression, in their kernel
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

    def config(self) -> Rendered:
        data = self.app.conf.public_dict()
        return Rendered("\n".join(f"{k:<30} {v}" for k, v in data.items()), [(k, str(v)) for k, v in data.items()])
