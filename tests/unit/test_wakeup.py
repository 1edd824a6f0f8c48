"""Cross-process wake-ups of the file backends: a waiter that names what it waits for sleeps
through datagrams about anything else, and wakes for its own, for a wake-up for all, and when it
fell further behind than the hub keeps track of."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_nb.backends import wakeup
from pynenc_nb.backends.wakeup import WakeupHub

LONG_S = 5.0


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[tuple[WakeupHub, WakeupHub]]:
    """A waiting hub and a notifying one (two processes' hubs of one folder)."""
    folder = tmp_path / "wake"
    waiting, notifying = WakeupHub(folder, poll_cap_s=LONG_S), WakeupHub(folder, poll_cap_s=LONG_S)
    yield waiting, notifying
    waiting.close()
    notifying.close()


def _wait_in_thread(hub: WakeupHub, keys: frozenset[str] | None) -> tuple[threading.Thread, list[float]]:
    since = hub.generation  # bound before the notification, as a waiter reads it before its check
    took: list[float] = []

    def wait() -> None:
        start = time.monotonic()
        hub.wait(since, LONG_S, keys)
        took.append(time.monotonic() - start)

    thread = threading.Thread(target=wait)
    thread.start()
    return thread, took


def test_a_keyed_waiter_sleeps_through_other_keys_and_wakes_for_its_own(hubs: tuple[WakeupHub, WakeupHub]) -> None:
    waiting, notifying = hubs
    thread, took = _wait_in_thread(waiting, frozenset({"mine"}))
    notifying.notify(["other-1", "other-2"])
    thread.join(0.5)
    assert thread.is_alive(), "woken by endings it does not wait for"
    notifying.notify(["other-3", "mine"])
    thread.join(LONG_S)
    assert not thread.is_alive() and took[0] < LONG_S / 2


@pytest.mark.parametrize("keys", [None, frozenset({"mine"})])
def test_a_wake_up_for_all_wakes_every_waiter(hubs: tuple[WakeupHub, WakeupHub], keys: frozenset[str] | None) -> None:
    waiting, notifying = hubs
    thread, took = _wait_in_thread(waiting, keys)
    time.sleep(0.1)
    notifying.notify()
    thread.join(LONG_S)
    assert not thread.is_alive() and took[0] < LONG_S / 2


def test_an_unkeyed_waiter_wakes_for_any_datagram(hubs: tuple[WakeupHub, WakeupHub]) -> None:
    waiting, notifying = hubs
    thread, took = _wait_in_thread(waiting, None)
    time.sleep(0.1)
    notifying.notify(["anything"])
    thread.join(LONG_S)
    assert not thread.is_alive() and took[0] < LONG_S / 2


def test_too_many_keys_for_one_datagram_wake_everyone(hubs: tuple[WakeupHub, WakeupHub]) -> None:
    waiting, notifying = hubs
    thread, took = _wait_in_thread(waiting, frozenset({"mine"}))
    time.sleep(0.1)
    notifying.notify([f"other-{i:06d}" for i in range(2_000)])  # past the datagram's limit: sent as "all"
    thread.join(LONG_S)
    assert not thread.is_alive() and took[0] < LONG_S / 2


def test_a_full_socket_queue_wakes_everyone(hubs: tuple[WakeupHub, WakeupHub]) -> None:
    """The kernel drops datagrams past the queue's limit: the one dropped may have been ours."""
    waiting, notifying = hubs
    since = waiting.generation
    for index in range(wakeup._QUEUE_LIMIT + 5):  # nobody reads meanwhile: the queue fills
        notifying.notify([f"other-{index}"])
    notifying.notify(["mine"])  # dropped
    start = time.monotonic()
    waiting.wait(since, LONG_S, frozenset({"mine"}))
    assert time.monotonic() - start < LONG_S / 2


def test_a_waiter_behind_what_the_hub_keeps_wakes(hubs: tuple[WakeupHub, WakeupHub]) -> None:
    waiting, notifying = hubs
    since = waiting.generation
    for batch in range(wakeup._RECENT // 4 + 1):  # read as they come, four at a time: no queue fills
        before = waiting.generation
        for index in range(4):
            notifying.notify([f"other-{batch}-{index}"])
        waiting.wait(before, LONG_S)
    assert waiting.generation - since > wakeup._RECENT
    start = time.monotonic()
    waiting.wait(since, LONG_S, frozenset({"mine"}))  # its start is no longer kept
    assert time.monotonic() - start < LONG_S / 2
