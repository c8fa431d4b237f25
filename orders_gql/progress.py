"""A progress bar for long commands: done/total, rate and ETA, on stderr.

On a terminal it is redrawn in place; in a log (a file, a pipe, a job's
output, where each redraw would pile onto one line) it is a whole line every
LOG_EVERY_S seconds, and the last state at the end."""

from __future__ import annotations

import sys
import time
from typing import TextIO

#: Seconds between the lines of a bar that is not on a terminal.
LOG_EVERY_S = 10.0


class ProgressBar:
    """Call it with (done, total); it redraws at most ten times a second."""

    def __init__(self, label: str, unit: str = "events", stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        isatty = getattr(self.stream, "isatty", None)
        self.interactive = bool(isatty and isatty())
        #: When the bar was last written: on a terminal at once, in a log
        #: after LOG_EVERY_S.
        self._drawn = 0.0 if self.interactive else self.started
        self._last = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        self._last = (done, total)
        now = time.monotonic()
        if self.interactive:
            if now - self._drawn < 0.1 and done < total:
                return
            self.stream.write("\r" + self.line(done, total, now - self.started))
        else:  # the last state is finish()'s
            if now - self._drawn < LOG_EVERY_S or done >= total:
                return
            self.stream.write(self.line(done, total, now - self.started) + "\n")
        self._drawn = now
        self.stream.flush()

    def line(self, done: int, total: int, elapsed: float) -> str:
        width = 30
        filled = int(width * done / total) if total else width
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if rate > 0 and total > done else 0.0
        return (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} "
            f"{self.unit}  {rate:,.0f}/s  ETA {_clock(left)}"
        )

    def finish(self) -> None:
        done, total = self._last
        line = self.line(done, total, time.monotonic() - self.started) + "\n"
        self.stream.write("\r" + line if self.interactive else line)
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
