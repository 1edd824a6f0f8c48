"""Repeated failures of a runner's loops and of its services (the backend unreachable, its disk
full): wait longer after each, and log a number of lines that grows with the logarithm of the time
things stay broken.

The first failure is logged with its traceback; then one line at the 2nd, 4th, 8th, ... failure in
a row; and one line when the loop works again. A worker that cannot take work waits 0.5 s, 1 s,
2 s, ... up to ``MAX_DELAY_S`` between attempts instead of spinning on the error.
"""

from __future__ import annotations

import logging
import sys

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0


class Failures:
    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        first_delay_s: float = FIRST_DELAY_S,
        max_delay_s: float = MAX_DELAY_S,
        fixed_delay_s: float | None = None,
    ) -> None:
        """``fixed_delay_s``: a loop that keeps its own interval (heartbeats, services) says so."""
        self.logger = logger
        self.what = what
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.fixed_delay_s = fixed_delay_s
        self.count = 0  # failures in a row

    def failed(self) -> float:
        """Call in the ``except`` block: logs as above; returns how long to wait before trying again."""
        self.count += 1
        count = self.count
        if self.fixed_delay_s is not None:
            delay = self.fixed_delay_s
        else:
            delay = min(self.first_delay_s * float(2 ** min(count - 1, 30)), self.max_delay_s)
        if count == 1:
            self.logger.error("%s", self.what, exc_info=True)
        elif count & (count - 1) == 0:
            error = sys.exc_info()[1]
            detail = f"{type(error).__name__}: {error}" if error is not None else "failed"
            self.logger.warning("%s: %d failures in a row, next try in %.1f s (%s)", self.what, count, delay, detail)
        return delay

    def succeeded(self) -> None:
        if self.count:
            plural = "s" if self.count > 1 else ""
            self.logger.warning("%s: works again after %d failure%s in a row", self.what, self.count, plural)
            self.count = 0
