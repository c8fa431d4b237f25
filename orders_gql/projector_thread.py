"""`serve`'s projector on a thread and event loop of its own.

On the API's event loop, each of a batch's dozen round trips (the log read,
MongoDB's reads and writes, the commit, the acknowledgement) waits behind
the requests in flight, and the next batch is as large as the backlog that
gathered meanwhile: under load the read models fell seconds behind. On a loop
of its own the projector's waits are its own (its Python work still shares
the interpreter with the requests). It has clients of its own: redis-py's and
pymongo's asyncio clients belong to the loop that made them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .eventstore.connect import REDIS_OR_OS_ERRORS

if TYPE_CHECKING:
    from .app import Components

log = logging.getLogger("orders_gql.projector")


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the `fast` extra is not installed
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def project(components: Callable[[], Components], stop: asyncio.Event) -> None:
    """Run a projector with components of its own until `stop` is set. A
    server that cannot be reached at the start is waited for, as later."""
    try:
        parts = components()
    except Exception:
        log.exception("the projector could not start")
        return
    try:
        with contextlib.suppress(*REDIS_OR_OS_ERRORS):  # else learnt on first use
            await parts.open()
        await parts.projector().run(stop)
    finally:
        await parts.aclose()


class ProjectorThread:
    def __init__(self, components: Callable[[], Components]) -> None:
        self._components = components
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._main, name="projector", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._running.wait(10)

    def _main(self) -> None:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(self._run())

    async def _run(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._running.set()
        await project(self._components, self._stop)

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask the projector to stop after its current batch; wait up to `timeout`."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        await asyncio.to_thread(self._thread.join, timeout)
