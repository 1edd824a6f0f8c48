"""Live updates: one background thread per widget, throttled, and silent when nothing changed.

A widget is made of parts (a figure, an HTML block). Each tick the thread recomputes every part
from the monitor views; a part whose payload hash did not change sends nothing. Ticks are at least
``interval_s`` apart, and at least three times the time a tick's queries took (a large view never
keeps the kernel busy more than a third of the time); changed parts are sent together, at most
once per ``interval_s``. The thread ends when every part is final and nothing changed for
``grace_s``, after ``max_live_s``, when a part's widget was closed, or when asked to stop.

The thread also refreshes the output's static snapshot when asked (``request_snapshot``: the
notebook is about to be saved). It does it itself because its display messages carry the parent of
the cell that showed the widget, so the frontend applies them to that cell's output.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pynenc_nb.widgets.static import fingerprint

P = TypeVar("P")
EndReason = Literal["final", "stopped", "closed", "max_live", "error"]
logger = logging.getLogger("pynenc.widgets")


@dataclass(frozen=True, slots=True)
class Frame(Generic[P]):
    """One computed state of a part: what to show, whether it can still change, its hash."""

    payload: P
    final: bool
    fingerprint: str
    generation: int


class Part(ABC, Generic[P]):
    """A live piece of a widget: how to compute it, and how to bring its widget up to date.

    The ipywidget is created on first use, so a widget shown statically never imports ipywidgets
    or Plotly's widget code. ``generation`` moves on when the input changes out of band (a click
    selected another invocation): frames computed for an older input are then dropped.
    """

    def __init__(self, build: Callable[[], tuple[P, bool]]) -> None:
        self._build = build
        self.lock = threading.RLock()
        self.generation = 0
        self.updates_sent = 0  # changes sent to the widget (one comm update batch each)
        self._widget: Any = None
        self.shown: Frame[P] = self.compute()

    def compute(self) -> Frame[P]:
        generation = self.generation
        payload, final = self._build()
        return Frame(payload, final, fingerprint(payload), generation)

    def differs(self, frame: Frame[P]) -> bool:
        return frame.generation >= self.generation and frame.fingerprint != self.shown.fingerprint

    def show(self, frame: Frame[P]) -> bool:
        """Make ``frame`` the shown state, sending the change if the widget exists."""
        with self.lock:
            if not self.differs(frame):
                return False
            if self._widget is not None:
                self._push(self._widget, self.shown.payload, frame.payload)
                self.updates_sent += 1
            self.shown = frame
            return True

    def refresh(self) -> bool:
        """Recompute now and show the result (used after a click, outside the live thread)."""
        with self.lock:
            self.generation += 1
            return self.show(self.compute())

    def settle(self) -> None:
        """Recompute the shown state without sending it (the widget is about to go static)."""
        with self.lock:
            frame = self.compute()
            self.shown = frame

    @property
    def widget(self) -> Any:
        with self.lock:
            if self._widget is None:
                self._widget = self._create(self.shown.payload)
            return self._widget

    @property
    def closed(self) -> bool:
        """Its widget was created and has been closed since (no comm any more)."""
        return self._widget is not None and getattr(self._widget, "comm", None) is None

    def close(self) -> None:
        with self.lock:
            if self._widget is not None:
                self._widget.close()

    @abstractmethod
    def _create(self, payload: P) -> Any: ...

    @abstractmethod
    def _push(self, widget: Any, before: P, after: P) -> None: ...


class LiveLoop:
    """The background thread of one widget (see the module docstring for its rules)."""

    def __init__(
        self,
        parts: Sequence[Part[Any]],
        *,
        interval_s: float,
        grace_s: float,
        max_live_s: float | None,
        on_end: Callable[[], None],
        name: str,
        on_snapshot: Callable[[], None] | None = None,
    ) -> None:
        self.parts = list(parts)
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.max_live_s = max_live_s
        self._on_end = on_end
        self._on_snapshot = on_snapshot
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by stop() and request_snapshot(): the sleeps end early
        self._snapshot_lock = threading.Lock()
        self._snapshot_waiters: list[threading.Event] = []
        self._ended = False  # under _snapshot_lock: no request is served any more
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.ticks = 0  # times the views were computed
        self.batches = 0  # ticks that sent at least one change
        self.ended_because: EndReason | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_snapshot(self) -> threading.Event:
        """Ask the thread to refresh the static snapshot now; the event is set once it did (or
        once the thread ended: its final static output is then the snapshot)."""
        done = threading.Event()
        with self._snapshot_lock:
            if self._ended or self.thread.ident is None or self._on_snapshot is None:
                done.set()
                return done
            self._snapshot_waiters.append(done)
        self._wake.set()
        return done

    def _serve_snapshots(self) -> None:
        with self._snapshot_lock:
            waiters, self._snapshot_waiters = self._snapshot_waiters, []
        if not waiters:
            return
        try:
            if self._on_snapshot is not None:
                self._on_snapshot()
        except Exception as exc:  # the saved file keeps the previous snapshot
            logger.warning("live widget snapshot failed: %s: %s", type(exc).__name__, exc)
        finally:
            for done in waiters:
                done.set()

    def _sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, serving snapshot requests meanwhile; True when asked to stop."""
        deadline = time.monotonic() + seconds
        if self._wake.is_set():  # asked while the views were computed: even with no time to sleep
            self._wake.clear()
            self._serve_snapshots()
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._wake.wait(left):
                self._wake.clear()
                self._serve_snapshots()
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (its static output published); False on timeout."""
        if self.thread.ident is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def _run(self) -> None:
        began = last_change = time.monotonic()
        last_push = -float("inf")
        reason: EndReason = "stopped"
        try:
            while not self._stop.is_set():
                if any(part.closed for part in self.parts):
                    reason = "closed"
                    break
                tick_start = time.monotonic()
                frames = [part.compute() for part in self.parts]
                compute_s = time.monotonic() - tick_start
                self.ticks += 1
                pending = [(part, frame) for part, frame in zip(self.parts, frames, strict=True) if part.differs(frame)]
                if pending:
                    wait_s = last_push + self.interval_s - time.monotonic()
                    if wait_s > 0 and self._sleep(wait_s):
                        break
                    if sum(part.show(frame) for part, frame in pending):
                        last_push = time.monotonic()
                        self.batches += 1
                    last_change = time.monotonic()
                now = time.monotonic()
                if all(frame.final for frame in frames) and now - last_change >= self.grace_s:
                    reason = "final"
                    break
                if self.max_live_s is not None and now - began >= self.max_live_s:
                    reason = "max_live"
                    break
                next_tick = tick_start + max(self.interval_s, 3 * compute_s)
                self._sleep(next_tick - time.monotonic())
        except Exception as exc:  # a closed backend, a bug: the widget goes static, the kernel lives on
            reason = "error"
            self.error = exc
            logger.warning("live widget update failed; showing the last state: %s: %s", type(exc).__name__, exc)
        finally:
            self.ended_because = reason
            try:
                self._on_end()
            finally:
                with self._snapshot_lock:  # the end replaced the output by its static figure
                    self._ended = True
                    waiters, self._snapshot_waiters = self._snapshot_waiters, []
                for done in waiters:
                    done.set()
