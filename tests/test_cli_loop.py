"""Long-lived commands (`project`, `replay`) run as serve's projector process
does: on uvloop (the `fast` extra, installed for the tests) with the collector
tuned, not on asyncio's own loop, which cost a standalone projector a sixth
more CPU per event."""

from __future__ import annotations

import subprocess
import sys

from orders_gql.serving import GC_YOUNG_THRESHOLD

PROBE = """
import asyncio, gc
from orders_gql.cli import _run_as_served

async def main():
    return type(asyncio.get_running_loop()).__module__, gc.get_threshold()[0]

print(*_run_as_served(main()))
"""


def test_long_lived_commands_run_as_served() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loop, threshold = done.stdout.split()
    assert loop.startswith("uvloop")
    assert int(threshold) == GC_YOUNG_THRESHOLD
