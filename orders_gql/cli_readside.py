"""The read side's command-line actions: project, replay, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator

from .app import Components, build_components
from .progress import ProgressBar
from .readside.rebuild import rebuild
from .settings import Settings


@contextlib.asynccontextmanager
async def _components(settings: Settings) -> AsyncIterator[Components]:
    parts = build_components(settings)
    try:
        await parts.open()
        yield parts
    finally:
        await parts.aclose()


async def run_projector(settings: Settings) -> None:
    """Project until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with _components(settings) as parts:
        projector = parts.projector()
        print(f"projector {projector.consumer} started", file=sys.stderr, flush=True)
        await projector.run(stop)


async def replay(settings: Settings, switch: bool = True) -> None:
    async with _components(settings) as parts:
        assert parts.read_side is not None
        rs = parts.read_side
        bar = ProgressBar("replay")
        result = await rebuild(
            rs.store, parts.store, rs.keys, batch_size=settings.projector_batch,
            switch=switch, progress=bar,
        )  # fmt: skip
        bar.finish()
        rate = result.events / max(time.monotonic() - bar.started, 1e-9)
        where = f"switched from {result.replaced}" if result.replaced else "not switched"
        print(
            f"replayed {result.events} events ({result.applied} applied, "
            f"{len(result.skipped)} skipped) into generation {result.generation} "
            f"at {rate:,.0f} events/s; {where}"
        )
        if switch and await rs.dead_letters.list(limit=1):
            # The new read models hold the events of the letters the replay could
            # apply; their orders would stay blocked behind them until a retry.
            report = await rs.dead_letters.retry()
            print(
                f"dead letters: {report.applied} now applied (their orders unblocked), "
                f"{report.still_dead} still dead"
            )


async def dead_letters(settings: Settings, action: str, order_id: str | None) -> int:
    """List or retry; a retry that leaves letters dead exits 1."""
    async with _components(settings) as parts:
        assert parts.read_side is not None
        letters = parts.read_side.dead_letters
        if action == "retry":
            report = await letters.retry(order_id)
            print(f"applied {report.applied}, still dead {report.still_dead}")
            return 1 if report.still_dead else 0
        found = await letters.list(order_id, limit=1000)
        for x in found:
            error = " ".join(x.error.split())  # one line per letter, fields tab-separated
            print(f"{x.position}\t{x.order_id}\tv{x.version}\t{x.event_type}\t{x.reason}\t"
                  f"attempts={x.attempts}\t{error}")  # fmt: skip
        print(f"{len(found)} dead letters")
        return 0
