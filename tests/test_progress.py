"""The progress bar of `replay` and `demo-data`: redrawn in place on a
terminal; in a log (a file, a pipe, a job's output) whole lines, now and then,
and the last state at the end."""

from __future__ import annotations

import io
from typing import Any

import pytest

from orders_gql import progress
from orders_gql.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: Any) -> Clock:
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    return clock


def run(bar: ProgressBar, clock: Clock, total: int, seconds: float) -> None:
    """`total` steps evenly over `seconds`, then finish."""
    for done in range(1, total + 1):
        clock.now += seconds / total
        bar(done, total)
    bar.finish()


def test_on_a_terminal_the_bar_is_redrawn_in_place(clock: Clock) -> None:
    out = Terminal()
    run(ProgressBar("replay", stream=out), clock, 1000, 5.0)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert 40 <= text.count("\r") <= 52  # ten redraws a second, and the last
    assert text.rsplit("\r", 1)[1].startswith("replay [" + "#" * 30 + "] 1,000/1,000 events")


def test_in_a_log_it_writes_whole_lines_now_and_then(clock: Clock) -> None:
    out = io.StringIO()  # not a terminal
    run(ProgressBar("replay", stream=out), clock, 1000, 45.0)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert 4 <= len(lines) <= 6  # one every 10 s, and the last state
    assert all(line.startswith("replay [") for line in lines)
    assert lines[-1].startswith("replay [" + "#" * 30 + "] 1,000/1,000 events")
    assert "ETA" in lines[0] and lines[0] != lines[-1]
