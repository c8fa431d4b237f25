"""A one-line progress bar for the command line: count, rate and ETA."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Redraws `[####......] 120/400 orders  85.3/s  ETA 0:03` on one line.

    Call it with (done, total) as work advances; it redraws at most every
    `interval` seconds, and always when done reaches total. `finish()` ends the
    line. It has the shape of the `progress` callbacks of the read side."""

    def __init__(
        self,
        unit: str,
        *,
        stream: TextIO | None = None,
        width: int = 30,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self._drawn_at: float | None = None
        self._last: tuple[int, int] | None = None
        self._stale = False

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        self._last = (done, total)
        due = self._drawn_at is None or now - self._drawn_at >= self.interval
        self._stale = not due and done < total
        if not self._stale:
            self._draw(done, total, now)

    def _draw(self, done: int, total: int, now: float) -> None:
        self._drawn_at = now
        self.stream.write("\r" + self.line(done, total, now - self.started))
        self.stream.flush()

    def line(self, done: int, total: int, elapsed: float) -> str:
        """The text of the bar after `elapsed` seconds."""
        filled = min(self.width, int(self.width * done / total)) if total else self.width
        bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {self.unit}"
        if done <= 0 or elapsed <= 0:
            return f"{bar}  -/s  ETA -:--"
        rate = done / elapsed
        eta = _duration(max(0, total - done) / rate)
        return f"{bar}  {rate:,.1f}/s  ETA {eta}"

    def finish(self) -> None:
        """Draw the last count if it was skipped, and end the line (if there is one)."""
        if self._last is not None and self._stale:
            self._draw(*self._last, self.clock())
        if self._drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()
