"""`serve`'s projector in a process of its own (the default).

In the API's process the projector shares the interpreter with the requests:
on a thread of its own it waits for the interpreter lock after each of a
batch's round trips while the API runs, and on the API's event loop behind
the requests in flight. In a process of its own it shares only the cores.
`python -m bench deployed`, two runs each, alternating: 1,427-1,563 creates/s
in a process vs 1,339-1,363 on a thread; read models 6.7-8.0 s behind after
a 15 s burst vs 10.0-10.8 s; at half the full rate p50 39-44 ms vs 153-886 ms.

The API process looks after it: a projector process that exits is started
again (after 1 s, doubling up to 30 s while it keeps exiting within a
minute); it is stopped with the API (SIGTERM: it completes its batch first;
it leaves SIGINT, which Ctrl-C sends the whole process group, to the API)
and stops by itself when the API process is gone. A SIGTERM to the whole
group (`systemctl stop`, `timeout`) stops it with the API: once the API is
stopping (`stopping`), an exit is not one to start another after. The
events it projects are counted in the API's `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.process import BaseProcess
from typing import Any

from .logs import configure as configure_logging
from .metrics import PROJECTED_EVENTS, counted
from .metrics import shared as shared_metrics
from .projector_thread import new_loop, project
from .settings import Settings

log = logging.getLogger("orders_gql.projector")

#: How often the projector process checks that the API process is still there
#: and publishes its count of projected events.
TICK_S = 0.25
FIRST_RESTART_S = 1.0
LONGEST_RESTART_S = 30.0
#: A process that ran this long before it exited is started again at once.
STEADY_S = 60.0


class ProjectorProcess:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        #: Events projected by the processes so far; written by them alone.
        self._projected: Any = self._context.Value(ctypes.c_uint64, 0, lock=False)
        self._reported = 0
        self._process: BaseProcess | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the process, and a task of the running loop that restarts it."""
        self._process = self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="projector-supervisor")

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=_main,
            args=(self._settings, os.getpid(), self._projected),
            name="orders-gql-projector",
            daemon=True,
        )
        # Ctrl-C in a terminal reaches the whole process group: the API process
        # stops this one (SIGTERM) once its own shutdown gets there. Ignored
        # from the child's first instruction (an interpreter started with
        # SIGINT ignored keeps it so), not only once its imports are done:
        # a Ctrl-C during them printed a KeyboardInterrupt traceback.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        return process

    def stopping(self) -> None:
        """The API process is stopping (it got a signal to): the projector
        process, which may have got the same signal, is not started again.
        Safe to call from a signal handler."""
        self._stopping = True

    async def _supervise(self) -> None:
        delay = FIRST_RESTART_S
        while True:
            started = time.monotonic()
            process = self._process
            assert process is not None
            while process.is_alive():
                await asyncio.sleep(TICK_S)
            if self._stopping:
                return
            if time.monotonic() - started >= STEADY_S:
                delay = FIRST_RESTART_S
            log.warning(
                "the projector process %s exited with %s; starting another in %.0f s",
                process.pid, process.exitcode, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
            if self._stopping:
                return
            delay = min(delay * 2, LONGEST_RESTART_S)
            self._process = self._spawn()

    def report(self) -> None:
        """Add what the projector processes projected since the last report to
        this process's `orders_projected_events_total` (with shared metrics they
        count it in files of their own instead)."""
        if shared_metrics():
            return
        total = int(self._projected.value)
        if total > self._reported:
            PROJECTED_EVENTS.inc(total - self._reported)
            self._reported = total

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask the process to stop after its current batch; kill it after `timeout`."""
        self.stopping()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            await asyncio.to_thread(process.join, timeout)
            if process.is_alive():
                log.warning("the projector process %s did not stop; killed", process.pid)
                process.kill()
                await asyncio.to_thread(process.join, timeout)
        self.report()


def _main(settings: Settings, api_pid: int, projected: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # see ProjectorProcess._spawn
    from .serving import tune_gc

    configure_logging(settings.log_level, settings.log_format)
    tune_gc()
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(_run(settings, api_pid, projected))


async def _run(settings: Settings, api_pid: int, projected: Any) -> None:
    from .app import build_components

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    before = int(projected.value)  # what earlier processes projected

    def publish() -> None:
        projected.value = before + int(counted(PROJECTED_EVENTS))

    async def tick() -> None:
        while not stop.is_set():
            publish()
            if os.getppid() != api_pid:  # the API process is gone
                log.warning("the API process %s is gone; the projector stops", api_pid)
                stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)

    ticking = asyncio.create_task(tick())
    try:
        await project(lambda: build_components(settings), stop)
    finally:
        stop.set()
        await ticking
        publish()
