"""The trigger engine's clock, which tests can move.

Cron ticks are decided against this clock. Normally it is ``time.time()``. Tests that must not
wait a minute per tick set ``PYNENC_NB_TEST_CLOCK_FILE`` to a file holding an epoch time (they
rewrite it to move time), and ``PYNENC_NB_TEST_CLOCK_OFFSET_S`` to skew one runner's clock.
Only cron evaluation reads it: leases, heartbeats and timeouts keep the real clock.
"""

from __future__ import annotations

import os
import time

CLOCK_FILE_VARIABLE = "PYNENC_NB_TEST_CLOCK_FILE"
CLOCK_OFFSET_VARIABLE = "PYNENC_NB_TEST_CLOCK_OFFSET_S"


def now() -> float:
    base = time.time()
    path = os.environ.get(CLOCK_FILE_VARIABLE)
    if path:
        try:
            with open(path) as file:
                base = float(file.read().strip())
        except (OSError, ValueError):
            pass  # a test rewriting the file: read the real clock this once
    return base + float(os.environ.get(CLOCK_OFFSET_VARIABLE) or 0)
