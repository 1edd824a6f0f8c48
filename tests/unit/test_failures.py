"""A loop that keeps failing waits longer each time, up to a cap, and logs O(log n) lines."""

from __future__ import annotations

import logging

import pytest

from pynenc_nb.failures import Failures


def test_failures_back_off_to_a_cap_and_log_a_logarithmic_number_of_lines(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.failures")
    failures = Failures(logger, "loop could not take work", first_delay_s=0.5, max_delay_s=10.0)
    delays = []
    with caplog.at_level(logging.WARNING, logger="tests.failures"):
        for attempt in range(100):
            try:
                raise OSError(f"disk full #{attempt}")
            except OSError:
                delays.append(failures.failed())
        failures.succeeded()
    assert delays[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0] and set(delays[5:]) == {10.0}
    lines = [r.getMessage() for r in caplog.records]
    # the first with its traceback, then at 2, 4, 8, 16, 32, 64 failures, then once recovered
    assert len(lines) == 1 + 6 + 1
    assert caplog.records[0].exc_info is not None and lines[0] == "loop could not take work"
    assert lines[1].startswith(
        "loop could not take work: 2 failures in a row, next try in 1.0 s (OSError: disk full #1)"
    )
    assert lines[-1] == "loop could not take work: works again after 100 failures in a row"
    # and a loop with its own interval reports that interval
    fixed = Failures(logger, "heartbeat", fixed_delay_s=0.5)
    assert [fixed.failed() for _ in range(3)] == [0.5, 0.5, 0.5]
