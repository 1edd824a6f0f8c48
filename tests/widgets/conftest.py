"""Widget tests run on memory and SQLite, without a kernel: ipywidgets falls back to a dummy comm,
whose ``send`` we wrap to see every message a widget would send to a browser."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import comm
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.terminal.interactiveshell import TerminalInteractiveShell
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import CapturedIO, capture_output

from kernel_magics import load_ipython_extension
from pynenc_nb.widgets import environment, live_widgets


@pytest.fixture(params=["memory", "sqlite"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class CommRecorder:
    """Every comm message sent by the wrapped widgets, with the time it was sent."""

    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def watch(self, widget: Any) -> Any:
        comm = widget.comm
        send = comm.send

        def recording(data: Any = None, metadata: Any = None, buffers: Any = None) -> Any:
            self.messages.append((time.monotonic(), data or {}))
            return send(data=data, metadata=metadata, buffers=buffers)

        comm.send = recording
        return widget

    def updates(self) -> list[float]:
        """Times of the messages that carry a figure or HTML change."""
        times = []
        for at, data in self.messages:
            state = data.get("state", {}) if isinstance(data, dict) else {}
            content = data.get("content") if isinstance(data, dict) and data.get("method") == "custom" else None
            figure_change = isinstance(content, dict) and content.get("type") in ("patch", "full")
            if figure_change or "value" in state:
                times.append(at)
        return times


@pytest.fixture(autouse=True)
def dummy_comms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widgets get the ``comm`` package's dummy comm, whose ``send`` runs (and that we wrap), even
    when an earlier test imported ipykernel, whose comms send nothing without a kernel."""
    monkeypatch.setattr(comm, "create_comm", lambda *args, **kwargs: comm.DummyComm(*args, **kwargs))


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as inside a kernel: widgets are shown live (the comms themselves stay dummies)."""
    monkeypatch.setattr(environment, "comms_available", lambda: True)


@pytest.fixture
def shell() -> InteractiveShell:
    """The process's one IPython shell (the same kind the notebook-layer tests start)."""
    shell: InteractiveShell = start_ipython() or TerminalInteractiveShell.instance()
    return shell


@pytest.fixture
def displayed(shell: InteractiveShell) -> Iterator[CapturedIO]:
    """Everything published through IPython's display machinery during the test (updates too),
    in a shell that ran ``%load_ext pynenc_nb`` as the notebooks do."""
    load_ipython_extension(shell)
    with capture_output(stdout=False, stderr=False, display=True) as captured:
        yield captured


@pytest.fixture(autouse=True)
def no_live_widget_left() -> Iterator[None]:
    """A test that leaves a live thread behind would update displays of later tests."""
    yield
    left = live_widgets()
    for widget in left:
        widget.stop(timeout=15)
    assert not left, f"live widgets still running after the test: {left}"
